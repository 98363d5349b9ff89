// The PostgreSQL batch at the store level: its writes are queued and sent together, several
// writes of one row as one statement of the row's final state, so these check what reaches
// the database when a batch writes a row more than once, and that a query which must see
// the writes sees them. Runs on the suite's shared cluster (AVSYNC_TEST_PG_URL_FILE).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "store/postgres/pg.hpp"
#include "store/postgres/pg_store.hpp"

namespace avsync::store {
namespace {

constexpr std::string_view kT1 = "2026-01-01T00:00:01.000Z";
constexpr std::string_view kT2 = "2026-01-01T00:00:02.000Z";
constexpr std::string_view kT3 = "2026-01-01T00:00:03.000Z";

const EntitySpec& customers() { return *find_entity("customers"); }
const EntitySpec& sales() { return *find_entity("sales"); }

std::vector<std::optional<std::string>> customer(std::string_view name,
                                                 std::optional<std::string> phone = {}) {
  std::vector<std::optional<std::string>> values(customers().fields.size());
  values[customers().field_index("name")] = std::string(name);
  values[customers().field_index("phone")] = std::move(phone);
  return values;
}

std::optional<std::string> field(const RowChange& row, std::string_view name) {
  return row.values[row.entity->field_index(name)];
}

class PgBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url_file = std::getenv("AVSYNC_TEST_PG_URL_FILE");
    ASSERT_TRUE(url_file && *url_file) << "AVSYNC_TEST_PG_URL_FILE names the shared cluster's URL";
    std::string base;
    std::getline(std::ifstream(url_file), base);
    const std::string name = "avsync_batch_" + std::to_string(::getpid());
    pg::Connection admin(base);
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);
    store_ = open_postgres_store(base.substr(0, base.rfind('/') + 1) + name, {});
    store_->migrate();
    store_->create_business("b1", "Tienda", kT1);
  }

  // The tenant's feed, every row with its tombstones, by id.
  std::map<std::string, RowChange> feed() {
    std::map<std::string, RowChange> rows;
    for (RowChange& row :
         store_->read_changes("b1", ChangeQuery{0, std::nullopt, true, 1000}).changes)
      rows.emplace(row.entity_id, std::move(row));
    return rows;
  }

  std::unique_ptr<Store> store_;
};

const std::string kA = "00000000-0000-4000-8000-00000000000a";
const std::string kB = "00000000-0000-4000-8000-00000000000b";
const std::string kC = "00000000-0000-4000-8000-00000000000c";
const std::string kD = "00000000-0000-4000-8000-00000000000d";
const std::string kS = "00000000-0000-4000-8000-000000000005";

TEST_F(PgBatchTest, SeveralWritesOfOneRowInABatchLeaveItsFinalState) {
  {
    auto tx = store_->begin_batch("b1");
    tx->insert_row(customers(), kC, customer("Carla"), {10, kT1, tx->next_version()});
    tx->insert_row(customers(), kD, customer("Dora"), {10, kT1, tx->next_version()});
    tx->commit();
  }
  auto tx = store_->begin_batch("b1");
  // A: inserted, then updated twice: created at the insert, the rest from the last update.
  tx->insert_row(customers(), kA, customer("Ana"), {11, kT2, tx->next_version()});
  tx->update_row(customers(), kA, customer("Ana", "1"), {12, kT2, tx->next_version()});
  tx->update_row(customers(), kA, customer("Ana María", "2"), {13, kT3, tx->next_version()});
  const std::uint64_t a_version = tx->version();
  // B: inserted, then deleted: a tombstone that keeps the inserted fields.
  tx->insert_row(customers(), kB, customer("Beto", "3"), {11, kT2, tx->next_version()});
  tx->delete_row(customers(), kB, {14, kT3, tx->next_version()});
  const std::uint64_t b_version = tx->version();
  // C (committed before): updated, then deleted.
  tx->update_row(customers(), kC, customer("Carla", "4"), {11, kT2, tx->next_version()});
  tx->delete_row(customers(), kC, {15, kT3, tx->next_version()});
  const std::uint64_t c_version = tx->version();
  // D (committed before): deleted only.
  tx->delete_row(customers(), kD, {16, kT3, tx->next_version()});
  const std::uint64_t d_version = tx->version();
  tx->commit();

  auto rows = feed();
  ASSERT_EQ(rows.size(), 4u);
  const RowChange& a = rows.at(kA);
  EXPECT_FALSE(a.deleted);
  EXPECT_EQ(a.created_at, kT2);
  EXPECT_EQ(a.updated_at, kT3);
  EXPECT_EQ(a.version, a_version);
  EXPECT_EQ(field(a, "name"), "Ana María");
  EXPECT_EQ(field(a, "phone"), "2");
  EXPECT_EQ(store_->read_row("b1", customers(), kA)->last_write, 13);

  const RowChange& b = rows.at(kB);
  EXPECT_TRUE(b.deleted);
  EXPECT_EQ(b.created_at, kT2);
  EXPECT_EQ(b.updated_at, kT3);
  EXPECT_EQ(b.version, b_version);
  EXPECT_EQ(field(b, "phone"), "3");
  EXPECT_EQ(store_->read_row("b1", customers(), kB)->last_write, 14);

  const RowChange& c = rows.at(kC);
  EXPECT_TRUE(c.deleted);
  EXPECT_EQ(c.created_at, kT1);
  EXPECT_EQ(c.updated_at, kT3);
  EXPECT_EQ(c.version, c_version);
  EXPECT_EQ(field(c, "phone"), "4");
  EXPECT_EQ(store_->read_row("b1", customers(), kC)->last_write, 15);

  const RowChange& d = rows.at(kD);
  EXPECT_TRUE(d.deleted);
  EXPECT_EQ(d.updated_at, kT3);
  EXPECT_EQ(d.version, d_version);
  EXPECT_EQ(field(d, "name"), "Dora");
  EXPECT_EQ(store_->read_row("b1", customers(), kD)->last_write, 16);
}

TEST_F(PgBatchTest, AReferenceCountSeesTheBatchsQueuedWrites) {
  auto tx = store_->begin_batch("b1");
  tx->insert_row(customers(), kA, customer("Ana"), {11, kT1, tx->next_version()});
  std::vector<std::optional<std::string>> sale(sales().fields.size());
  sale[sales().field_index("customer_id")] = kA;
  sale[sales().field_index("total")] = "10.00";
  tx->insert_row(sales(), kS, sale, {11, kT1, tx->next_version()});
  std::optional<Reference> by_customer;
  for (const Reference& ref : references_to(customers()))
    if (ref.from == &sales()) by_customer = ref;
  ASSERT_TRUE(by_customer);
  EXPECT_EQ(tx->count_live_references(*by_customer, kA), 1);
  tx->delete_row(sales(), kS, {12, kT2, tx->next_version()});
  EXPECT_EQ(tx->count_live_references(*by_customer, kA), 0);
  EXPECT_FALSE(tx->is_live(sales(), kS));
  tx->commit();
  EXPECT_TRUE(store_->read_row("b1", sales(), kS)->deleted);
}

}  // namespace
}  // namespace avsync::store

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "sqlite/database.hpp"
#include "store/migrations.hpp"
#include "testing/test_dir.hpp"

namespace avsync::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("store.db");
    store_ = open_sqlite_store(path_, {});
    store_->migrate();
    store_->create_business("b1", "Tienda", "2026-01-01T00:00:00.000Z");
  }
  std::vector<std::optional<std::string>> customer(std::string name) {
    const EntitySpec& c = *find_entity("customers");
    std::vector<std::optional<std::string>> v(c.fields.size());
    v[c.field_index("name")] = std::move(name);
    return v;
  }

  avsync::testing::TestDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, MigrationsAreRecordedAndRunOnce) {
  store_->migrate();
  store_->migrate();
  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  auto q = db.query("SELECT count(*), max(version) FROM schema_migrations");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), static_cast<std::int64_t>(sqlite_migrations().size()));
  EXPECT_EQ(q.int64(1), sqlite_migrations().back().version);
}

TEST_F(SqliteStoreTest, EveryRegistryFieldHasAColumn) {
  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  for (const EntitySpec& e : all_entities())
    for (const FieldSpec& f : e.fields) {
      auto q = db.query("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2");
      q.bind(1, e.name).bind(2, f.name);
      ASSERT_TRUE(q.step());
      EXPECT_EQ(q.int64(0), 1) << e.name << "." << f.name;
    }
}

TEST_F(SqliteStoreTest, RolledBackOperationLeavesNoTrace) {
  const EntitySpec& c = *find_entity("customers");
  {
    auto tx = store_->begin_batch("b1");
    tx->begin_operation();
    tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->end_operation(false);
    tx->begin_operation();
    tx->insert_row(c, "id-2", customer("Luis"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->end_operation(true);
    tx->commit();
  }
  auto tx = store_->begin_batch("b1");
  EXPECT_FALSE(tx->find_row(c, "id-1"));
  auto row = tx->find_row(c, "id-2");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->values[c.field_index("name")], "Luis");
}

TEST_F(SqliteStoreTest, UncommittedBatchIsRolledBack) {
  const EntitySpec& c = *find_entity("customers");
  {
    auto tx = store_->begin_batch("b1");
    tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
  }
  auto page = store_->read_changes("b1", {});
  EXPECT_TRUE(page.changes.empty());
  EXPECT_EQ(page.cursor_version, 0u);
}

TEST_F(SqliteStoreTest, FeedIsOrderedByVersionAndFullSyncLeavesOutTombstones) {
  const EntitySpec& c = *find_entity("customers");
  const EntitySpec& d = *find_entity("distribuciones");
  {
    auto tx = store_->begin_batch("b1");
    tx->insert_row(c, "c1", customer("Ana"), {1, "t", tx->next_version()});  // v1
    std::vector<std::optional<std::string>> dist(d.fields.size());
    tx->insert_row(d, "d1", dist, {1, "t", tx->next_version()});             // v2
    tx->update_row(c, "c1", customer("Ana B"), {2, "t", tx->next_version()});  // v3
    tx->insert_row(c, "c2", customer("Eva"), {1, "t", tx->next_version()});  // v4
    tx->delete_row(d, "d1", {3, "t", tx->next_version()});                   // v5
    tx->commit();
  }
  auto full = store_->read_changes("b1", {.include_deleted = false});
  ASSERT_EQ(full.changes.size(), 2u);
  EXPECT_EQ(full.changes[0].entity_id, "c1");
  EXPECT_EQ(full.changes[1].entity_id, "c2");
  EXPECT_EQ(full.cursor_version, 5u);
  EXPECT_FALSE(full.has_more);

  auto after = store_->read_changes("b1", {.after_version = 1});
  ASSERT_EQ(after.changes.size(), 3u);
  EXPECT_EQ(after.changes[2].entity_id, "d1");
  EXPECT_TRUE(after.changes[2].deleted);

  auto paged = store_->read_changes("b1", {.after_version = 0, .limit = 2});
  ASSERT_EQ(paged.changes.size(), 2u);
  EXPECT_TRUE(paged.has_more);
  EXPECT_EQ(paged.changes[0].entity_id, "c1");  // its update moved it to v3
  EXPECT_EQ(paged.cursor_version, 4u);
}

// Group commit: batches from many threads share transactions. Each batch's commit() must
// return only once its rows are committed (visible to another connection), a batch that
// is abandoned must vanish without taking its group with it, and tenant versions must
// stay unique.
TEST_F(SqliteStoreTest, ConcurrentBatchesCommitDurablyAndIndependently) {
  const EntitySpec& c = *find_entity("customers");
  constexpr int kThreads = 8, kBatches = 40;
  std::atomic<int> invisible_after_commit{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      sqlite::Database observer(path_, sqlite::Database::Access::read_write);
      for (int b = 0; b < kBatches; ++b) {
        std::string id = "t" + std::to_string(t) + "-b" + std::to_string(b);
        auto tx = store_->begin_batch("b1");
        tx->insert_row(c, id, customer("x"), {1, "t", tx->next_version()});
        if (b % 5 == 4) continue;  // abandoned: rolled back when tx goes out of scope
        tx->commit();
        auto q = observer.query("SELECT count(*) FROM customers WHERE business_id = 'b1' AND id = ?1");
        q.bind(1, id);
        q.step();
        if (q.int64(0) != 1) ++invisible_after_commit;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(invisible_after_commit.load(), 0);

  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  auto rows = db.query("SELECT count(*), count(DISTINCT version), max(version) FROM customers WHERE business_id = 'b1'");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.int64(0), kThreads * kBatches * 4 / 5);
  EXPECT_EQ(rows.int64(1), rows.int64(0)) << "versions are unique";
  auto abandoned = db.query("SELECT count(*) FROM customers WHERE id LIKE '%-b4' OR id LIKE '%-b9'");
  ASSERT_TRUE(abandoned.step());
  EXPECT_EQ(abandoned.int64(0), 0);
  auto feed = store_->read_changes("b1", {.limit = 10000});
  EXPECT_EQ(feed.changes.size(), static_cast<std::size_t>(kThreads * kBatches * 4 / 5));
  EXPECT_GE(feed.cursor_version, static_cast<std::uint64_t>(rows.int64(2)));
}

}  // namespace
}  // namespace avsync::store

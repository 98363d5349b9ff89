// The sync service over a real SQLite store with a clock the test controls: last-write-wins
// and clamping decided to the millisecond, without sleeping.

#include "server/sync_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/validation.hpp"
#include "testing/test_dir.hpp"
#include "testing/fake_clock.hpp"

namespace avsync::server {
namespace {

using avsync::testing::FakeClock;

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::open_store("sqlite:" + dir_.file("s.db"));
    store_->migrate();
    store_->create_business("b", "B", "t");
  }
  OperationResult apply(const std::string& id, const std::string& action, const std::string& payload,
                        UnixMillis client_time) {
    std::string body = R"({"entity":"customers","action":")" + action + R"(","entityId":")" + kRow +
                       R"(","clientTimestamp":")" + format_timestamp(client_time) + R"(","payload":)" + payload + "}";
    std::vector<Operation> ops{{id, *parse_json(body)}};
    SyncService service(*store_, clock_);
    return service.apply_batch({"b", "u"}, ops).results.at(0);
  }
  std::string phone() {
    auto page = store_->read_changes("b", {});
    const EntitySpec& c = *find_entity("customers");
    return page.changes.at(0).values[c.field_index("phone")].value_or("null");
  }

  static constexpr const char* kRow = "6f1c2a3b-0000-4000-8000-000000000001";
  static constexpr UnixMillis kNow = 1'800'000'000'000;  // 2027-01-15
  avsync::testing::TestDir dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_{kNow};
};

TEST_F(SyncServiceTest, AFutureClientClockIsClampedToTheServerClock) {
  ASSERT_FALSE(apply("i", "insert", R"({"name":"A"})", kNow - 1000).error);
  // Stamped a year ahead: applies, but competes as "now".
  ASSERT_FALSE(apply("f", "update", R"({"phone":"future"})", kNow + 365LL * 86400000).error);
  // Same millisecond on the server: a tie, and the server keeps its row.
  auto tie = apply("t", "update", R"({"phone":"tie"})", kNow + 5000);
  ASSERT_TRUE(tie.error);
  EXPECT_EQ(tie.error->code, ErrorCode::conflict);
  clock_.advance(1);
  EXPECT_FALSE(apply("n", "update", R"({"phone":"next"})", kNow + 5000).error);
  EXPECT_EQ(phone(), "next");
}

TEST_F(SyncServiceTest, ResultsCarryTheServerClock) {
  auto r = apply("i", "insert", R"({"name":"A"})", kNow - 1000);
  EXPECT_EQ(r.server_time, kNow);
}


// A store whose database refuses one value at commit, as PostgreSQL does with SQLSTATE
// class 22 when the log's jsonb column meets a number numeric cannot hold: a payload with
// "notes":"poison" stands for a value validation let through.
class RefusingBatch final : public store::BatchTransaction {
 public:
  explicit RefusingBatch(std::unique_ptr<store::BatchTransaction> inner) : inner_(std::move(inner)) {}
  void expect_operations(const std::vector<std::string_view>& ids) override { inner_->expect_operations(ids); }
  void expect_rows(const EntitySpec& e, const std::vector<std::string_view>& ids) override { inner_->expect_rows(e, ids); }
  std::optional<store::OperationStatus> find_operation(std::string_view id) override { return inner_->find_operation(id); }
  void record_operation(const store::OperationRecord& r) override {
    if (r.payload.find(R"("notes":"poison")") != std::string::npos) poisoned_ = true;
    inner_->record_operation(r);
  }
  void begin_operation() override { inner_->begin_operation(); }
  void end_operation(bool keep) override { inner_->end_operation(keep); }
  std::optional<store::StoredRow> find_row(const EntitySpec& e, std::string_view id) override { return inner_->find_row(e, id); }
  bool is_live(const EntitySpec& e, std::string_view id) override { return inner_->is_live(e, id); }
  std::int64_t count_live_references(const Reference& r, std::string_view id) override {
    return inner_->count_live_references(r, id);
  }
  std::uint64_t next_version() override { return inner_->next_version(); }
  void insert_row(const EntitySpec& e, std::string_view id, const std::vector<std::optional<std::string>>& v,
                  const store::WriteStamp& s) override { inner_->insert_row(e, id, v, s); }
  void update_row(const EntitySpec& e, std::string_view id, const std::vector<std::optional<std::string>>& v,
                  const store::WriteStamp& s) override { inner_->update_row(e, id, v, s); }
  void delete_row(const EntitySpec& e, std::string_view id, const store::WriteStamp& s) override {
    inner_->delete_row(e, id, s);
  }
  void commit() override {
    if (poisoned_) throw store::DataRejected("PostgreSQL error 22003: value overflows numeric format");
    inner_->commit();
  }
  std::uint64_t version() const override { return inner_->version(); }
  std::optional<store::OperationRecord> read_operation(std::string_view id) override {
    return inner_->read_operation(id);
  }
  bool is_resolved(std::string_view id) override { return inner_->is_resolved(id); }
  void record_resolution(const store::ResolutionRecord& r) override {
    inner_->record_resolution(r);
  }

 private:
  std::unique_ptr<store::BatchTransaction> inner_;
  bool poisoned_ = false;
};

class RefusingStore final : public store::Store {
 public:
  explicit RefusingStore(store::Store& inner) : inner_(inner) {}
  std::unique_ptr<store::BatchTransaction> begin_batch(std::string_view b) override {
    ++batches;
    return std::make_unique<RefusingBatch>(inner_.begin_batch(b));
  }
  void migrate() override { inner_.migrate(); }
  bool ping() override { return inner_.ping(); }
  std::unique_ptr<store::ChangeSnapshot> open_changes(std::string_view b,
                                                      const store::ChangeQuery& q) override {
    return inner_.open_changes(b, q);
  }
  std::unique_ptr<store::ChangeWatch> watch_changes(store::ChangeSink& s) override {
    return inner_.watch_changes(s);
  }
  void create_business(std::string_view i, std::string_view n, std::string_view t) override { inner_.create_business(i, n, t); }
  bool ensure_business(std::string_view i, std::string_view n, std::string_view t) override {
    return inner_.ensure_business(i, n, t);
  }
  bool business_exists(std::string_view i) override { return inner_.business_exists(i); }
  void create_token(const store::TokenRecord& t, std::string_view n) override { inner_.create_token(t, n); }
  bool revoke_token_by_id(std::string_view i, std::string_view n) override { return inner_.revoke_token_by_id(i, n); }
  std::vector<store::TokenInfo> list_tokens(std::string_view b) override { return inner_.list_tokens(b); }
  std::optional<store::TokenRecord> find_token(std::string_view h) override { return inner_.find_token(h); }
  bool revoke_token(std::string_view h, std::string_view n) override { return inner_.revoke_token(h, n); }
  std::size_t prune_operations(std::string_view before) override { return inner_.prune_operations(before); }
  std::vector<store::BusinessSummary> list_businesses(std::string_view a, std::size_t l,
                                                      std::string_view s, UnixMillis n) override {
    return inner_.list_businesses(a, l, s, n);
  }
  std::vector<store::LoggedOperation> search_operations(const store::OperationSearch& s) override {
    return inner_.search_operations(s);
  }
  std::optional<store::StoredRow> read_row(std::string_view b, const EntitySpec& e,
                                           std::string_view i) override {
    return inner_.read_row(b, e, i);
  }
  std::vector<store::ResolutionRecord> list_resolutions(const std::optional<std::string>& b,
                                                        const std::optional<store::ListPosition>& a,
                                                        std::size_t l) override {
    return inner_.list_resolutions(b, a, l);
  }
  std::size_t max_operations_per_transaction() const override { return per_transaction; }
  int batches = 0;
  std::size_t per_transaction = 0;

 private:
  store::Store& inner_;
};

TEST_F(SyncServiceTest, AValueTheDatabaseRefusesFailsOnlyItsOperationAndIsLogged) {
  RefusingStore refusing(*store_);
  SyncService service(refusing, clock_);
  auto op = [&](const std::string& id, const std::string& row, const std::string& payload) {
    std::string body = R"({"entity":"customers","action":"insert","entityId":")" + row +
                       R"(","clientTimestamp":")" + format_timestamp(kNow - 1000) + R"(","payload":)" + payload + "}";
    return Operation{id, *parse_json(body)};
  };
  std::vector<Operation> ops{op("a", "6f1c2a3b-0000-4000-8000-00000000000a", R"({"name":"A"})"),
                             op("p", "6f1c2a3b-0000-4000-8000-00000000000b", R"({"name":"B","notes":"poison"})"),
                             op("c", "6f1c2a3b-0000-4000-8000-00000000000c", R"({"name":"C"})")};
  auto results = service.apply_batch({"b", "u"}, ops).results;
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0].error);
  ASSERT_TRUE(results[1].error);
  EXPECT_EQ(results[1].error->code, ErrorCode::validation_error);
  EXPECT_FALSE(results[2].error);
  EXPECT_EQ(refusing.batches, 1 + 3 + 1);  // together, one at a time, then the failure's log row
  EXPECT_EQ(store_->read_changes("b", {}).changes.size(), 2u);
  auto tx = store_->begin_batch("b");
  EXPECT_EQ(tx->find_operation("a"), store::OperationStatus::processed);
  EXPECT_EQ(tx->find_operation("p"), store::OperationStatus::failed);
  EXPECT_EQ(tx->find_operation("c"), store::OperationStatus::processed);
}

TEST_F(SyncServiceTest, AFailedOperationsMessageIsCutToTheLimit) {
  std::string body = R"({"entity":")" + std::string(100000, 'z') + R"(","action":"insert","entityId":")" + kRow +
                     R"(","clientTimestamp":")" + format_timestamp(kNow) + R"(","payload":{}})";
  std::vector<Operation> ops{{"big", *parse_json(body)}};
  SyncService service(*store_, clock_);
  auto r = service.apply_batch({"b", "u"}, ops).results.at(0);
  ASSERT_TRUE(r.error);
  EXPECT_LE(r.error->message.size(), kFailedFieldMaxBytes);
  EXPECT_TRUE(r.error->message.ends_with("\u2026"));
}

TEST_F(SyncServiceTest, ABatchIsCommittedInTransactionsOfTheStoresSizeAndARepeatAcrossThemAppliesOnce) {
  RefusingStore counting(*store_);
  counting.per_transaction = 2;
  SyncService service(counting, clock_);
  auto op = [&](const std::string& id, const std::string& row) {
    std::string body = R"({"entity":"customers","action":"insert","entityId":")" + row +
                       R"(","clientTimestamp":")" + format_timestamp(kNow - 1000) + R"(","payload":{"name":"N"}})";
    return Operation{id, *parse_json(body)};
  };
  std::vector<Operation> ops{op("1", "6f1c2a3b-0000-4000-8000-000000000011"),
                             op("2", "6f1c2a3b-0000-4000-8000-000000000012"),
                             op("3", "6f1c2a3b-0000-4000-8000-000000000013"),
                             op("1", "6f1c2a3b-0000-4000-8000-000000000011"),  // a repeat, in the next part
                             op("5", "6f1c2a3b-0000-4000-8000-000000000015")};
  auto results = service.apply_batch({"b", "u"}, ops).results;
  ASSERT_EQ(results.size(), 5u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].operation_id, ops[i].operation_id) << "in request order";
    EXPECT_FALSE(results[i].error) << i;
  }
  EXPECT_EQ(counting.batches, 3) << "2 + 2 + 1 operations";
  EXPECT_EQ(store_->read_changes("b", {}).changes.size(), 4u);
  EXPECT_EQ(store_->read_changes("b", {}).latest_version, 4u) << "the repeat wrote nothing";
}

}  // namespace
}  // namespace avsync::server

namespace avsync::server {
namespace {

// Hears what the service announces to long-polls.
struct RecordingSink final : store::ChangeSink {
  std::vector<std::pair<std::string, std::uint64_t>> heard;
  void changed(std::string_view business_id, std::uint64_t version) override {
    heard.emplace_back(business_id, version);
  }
  void maybe_missed() override {}
  std::vector<std::string> watched_tenants() const override { return {}; }
};

TEST_F(SyncServiceTest, ABatchAnnouncesItsCommitAndAnswersTheFeedsVersion) {
  RecordingSink sink;
  SyncService service(*store_, clock_, &sink);
  auto insert = [&](const std::string& op, const std::string& row) {
    std::string body = R"({"entity":"customers","action":"insert","entityId":")" + row +
                       R"(","clientTimestamp":")" + format_timestamp(kNow - 1000) +
                       R"(","payload":{"name":"A"}})";
    return Operation{op, *parse_json(body)};
  };
  std::vector<Operation> ops{insert("o1", "6f1c2a3b-0000-4000-8000-00000000000a"),
                             insert("o2", "6f1c2a3b-0000-4000-8000-00000000000b")};
  auto first = service.apply_batch({"b", "u"}, ops);
  EXPECT_EQ(first.version, 2u);
  EXPECT_EQ(first.version, store_->read_changes("b", {}).latest_version);
  ASSERT_EQ(sink.heard.size(), 1u);
  EXPECT_EQ(sink.heard[0], (std::pair<std::string, std::uint64_t>{"b", 2}));
  // A retry changes nothing: the same checkpoint, and no commit to announce.
  auto retry = service.apply_batch({"b", "u"}, ops);
  EXPECT_EQ(retry.version, 2u);
  EXPECT_EQ(sink.heard.size(), 1u);
}

}  // namespace
}  // namespace avsync::server

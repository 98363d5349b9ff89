#include "client/local_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/json.hpp"
#include "testing/test_dir.hpp"

namespace avsync::client {
namespace {

constexpr const char* kCustomer = "6f1c0000-0000-4000-8000-000000000001";
constexpr const char* kSale = "6f1c0000-0000-4000-8000-000000000002";

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::make_unique<LocalStore>(path()); }
  std::string path() const { return dir_.file("device.db"); }

  // A local write as the Client makes it: the operation JSON, validated, then applied.
  Status write(const std::string& op_id, const std::string& entity, const std::string& action,
               const std::string& id, const std::string& payload, int second = 0) {
    std::string ts = "2026-11-25T08:00:" + std::string(second < 10 ? "0" : "") + std::to_string(second) + ".000Z";
    std::string body = R"({"operationId":")" + op_id + R"(","entity":")" + entity +
                       R"(","action":")" + action + R"(","entityId":")" + id +
                       R"(","payload":)" + payload + R"(,"clientTimestamp":")" + ts + "\"}";
    auto json = parse_json(body);
    EXPECT_TRUE(json);
    auto op = validate_operation(*json);
    if (!op) return op.error();
    auto written = store_->apply_local_write(*op, op_id, body, ts);
    if (!written) return written.error();
    return Ok{};
  }

  std::optional<Row> customer() { return store_->read_row(*find_entity("customers"), kCustomer); }
  std::string name_of(const Row& row) { return row.field("name")->value_or("null"); }

  PulledChange server_customer(const std::string& name, const std::string& updated_at = "2026-11-25T09:00:00.000Z") {
    const EntitySpec* e = find_entity("customers");
    PulledChange c{e, kCustomer, false, std::vector<std::optional<std::string>>(e->fields.size()),
                   "2026-11-25T07:00:00.000Z", updated_at};
    c.values[e->field_index("name")] = name;
    c.values[e->field_index("credit_limit")] = "0.00";
    return c;
  }

  avsync::testing::TestDir dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, AWriteChangesTheRowAndQueuesItsOperationTogether) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana","credit_limit":"5"})"));
  auto row = customer();
  ASSERT_TRUE(row);
  EXPECT_EQ(name_of(*row), "Ana");
  EXPECT_EQ(*row->field("credit_limit"), "5.00");  // canonical, as the server will store it
  EXPECT_EQ(row->sync_state, RowSyncState::pending);
  auto queue = store_->queued_operations(10);
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].operation_id, "op-1");
  EXPECT_EQ(queue[0].action, "insert");
  EXPECT_EQ(queue[0].status, OperationStatus::pending);
}

TEST_F(LocalStoreTest, ARefusedWriteChangesNothing) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  auto again = write("op-2", "customers", "insert", kCustomer, R"({"name":"Other"})");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  auto missing = write("op-3", "customers", "update", "6f1c0000-0000-4000-8000-0000000000ff", R"({"name":"X"})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  auto dangling = write("op-4", "sales", "insert", kSale,
                        R"({"customer_id":"6f1c0000-0000-4000-8000-0000000000ff","total":"1","payment_type":"cash"})");
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, ErrorCode::validation_error);
  EXPECT_NE(dangling.error().message.find("sales.customer_id"), std::string::npos);
  EXPECT_EQ(name_of(*customer()), "Ana");
  EXPECT_EQ(store_->queued_operations(10).size(), 1u);
  EXPECT_FALSE(store_->read_row(*find_entity("sales"), kSale));
}

TEST_F(LocalStoreTest, DeletingARowThatOthersReferenceIsAConflict) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  ASSERT_TRUE(write("op-2", "sales", "insert", kSale,
                    std::string(R"({"customer_id":")") + kCustomer + R"(","total":"1","payment_type":"cash"})"));
  auto removed = write("op-3", "customers", "delete", kCustomer, "{}");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, ErrorCode::conflict);
  ASSERT_TRUE(write("op-4", "sales", "delete", kSale, "{}"));
  ASSERT_TRUE(write("op-5", "customers", "delete", kCustomer, "{}"));
  EXPECT_FALSE(customer());
}

TEST_F(LocalStoreTest, TheQueueSurvivesReopeningTheFileInOrder) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  ASSERT_TRUE(write("op-2", "customers", "update", kCustomer, R"({"name":"Ana B"})", 1));
  ASSERT_TRUE(write("op-3", "distribuciones", "insert", kSale, R"({"product_name":"Pan","quantity":2})", 2));
  store_ = std::make_unique<LocalStore>(path());
  auto due = store_->due_operations(10, 0);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].operation_id, "op-1");
  EXPECT_EQ(due[1].operation_id, "op-2");
  EXPECT_EQ(due[2].operation_id, "op-3");
  EXPECT_EQ(name_of(*customer()), "Ana B");
}

TEST_F(LocalStoreTest, APulledRowNeverOverwritesARowWithPendingOperations) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Local"})"));
  store_->apply_pulled_page({server_customer("Server")}, "v1.1", true);
  EXPECT_EQ(name_of(*customer()), "Local");
  EXPECT_EQ(*store_->setting("cursor"), "v1.1");
}

TEST_F(LocalStoreTest, ARowWithoutPendingOperationsTakesThePulledState) {
  store_->apply_pulled_page({server_customer("First")}, "v1.1", true);
  EXPECT_EQ(name_of(*customer()), "First");
  EXPECT_EQ(customer()->sync_state, RowSyncState::synced);
  PulledChange gone{find_entity("customers"), kCustomer, true, {}, {}, {}};
  store_->apply_pulled_page({gone}, "v1.2", true);
  EXPECT_FALSE(customer());
}

TEST_F(LocalStoreTest, APageIsReportedInPageOrderAndTwoChangesOfOneRowApplyInThatOrder) {
  // Rows are written sorted by id (the index's order), which must not show: the page's
  // last change of a row wins, and what changed is listed as the page lists it.
  const EntitySpec* e = find_entity("customers");
  auto upsert = [e](const std::string& id, const std::string& name) {
    PulledChange c{e,
                   id,
                   false,
                   std::vector<std::optional<std::string>>(e->fields.size()),
                   "2026-11-25T07:00:00.000Z",
                   "2026-11-25T09:00:00.000Z"};
    c.values[e->field_index("name")] = name;
    c.values[e->field_index("credit_limit")] = "0.00";
    return c;
  };
  const std::string z = "6f1c0000-0000-4000-8000-0000000000ff";
  const std::string a = "6f1c0000-0000-4000-8000-000000000001";
  PulledChange gone{e, a, true, {}, {}, {}};
  auto changed = store_->apply_pulled_page(
      {upsert(z, "Zoe"), upsert(a, "Ana"), upsert(z, "Zoe 2"), gone, upsert(a, "Ana 2")}, "v1.5",
      true);
  ASSERT_EQ(changed.size(), 5u);
  EXPECT_EQ(changed[0].id, z);
  EXPECT_EQ(changed[1].id, a);
  EXPECT_EQ(changed[2].id, z);
  EXPECT_EQ(changed[3].id, a);
  EXPECT_EQ(changed[3].action, ChangeAction::remove);
  EXPECT_EQ(changed[4].id, a);
  EXPECT_EQ(changed[4].action, ChangeAction::upsert);
  EXPECT_EQ(name_of(*store_->read_row(*e, z)), "Zoe 2");
  EXPECT_EQ(name_of(*store_->read_row(*e, a)), "Ana 2");
}

TEST_F(LocalStoreTest, TheSyncConnectionOpensAFileTheAppConnectionWrote) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Local"})"));
  store_.reset();
  LocalStore sync(path(), LocalStore::Connection::sync);
  EXPECT_EQ(sync.count_operations(OperationStatus::pending), 1u);
  sync.apply_pulled_page({server_customer("Server")}, "v1.1", true);
  EXPECT_EQ(sync.read_row(*find_entity("customers"), kCustomer)->field("name")->value_or(""),
            "Local");
}

TEST_F(LocalStoreTest, TheSyncCountersCountAcknowledgementsAndPulledRowsAndSurviveReopening) {
  EXPECT_EQ(store_->counter(LocalStore::kOperationsPushed), 0u);
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  ASSERT_TRUE(write("op-2", "customers", "update", kCustomer, R"({"name":"Ana B"})", 1));
  ASSERT_TRUE(write("op-3", "customers", "update", kCustomer, R"({"name":"Ana C"})", 2));
  auto due = store_->due_operations(10, 0);
  ASSERT_EQ(due.size(), 3u);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::acknowledged, std::nullopt},
                           {due[1].sequence, OperationOutcome::Kind::retry_later,
                            Error{ErrorCode::internal, "later"}, 0},
                           {due[2].sequence, OperationOutcome::Kind::rejected,
                            Error{ErrorCode::conflict, "newer on the server"}}});
  store_->apply_pulled_page({server_customer("Server")}, "v1.1", true);
  PulledChange gone{find_entity("customers"), kSale, true, {}, {}, {}};
  store_->apply_pulled_page({gone, server_customer("Server 2")}, "v1.3", true);
  store_->add_to_counter(LocalStore::kRetries, 2);
  store_ = std::make_unique<LocalStore>(path());
  EXPECT_EQ(store_->counter(LocalStore::kOperationsPushed), 1u) << "only the acknowledged one";
  EXPECT_EQ(store_->counter(LocalStore::kRowsPulled), 3u);
  EXPECT_EQ(store_->counter(LocalStore::kRetries), 2u);
}

TEST_F(LocalStoreTest, ARejectedOperationRestoresTheServersRow) {
  store_->apply_pulled_page({server_customer("Server")}, "v1.1", true);
  ASSERT_TRUE(write("op-1", "customers", "update", kCustomer, R"({"name":"Mine"})"));
  EXPECT_EQ(name_of(*customer()), "Mine");
  auto due = store_->due_operations(10, 0);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::rejected,
                            Error{ErrorCode::conflict, "newer on the server"}}});
  auto row = customer();
  EXPECT_EQ(name_of(*row), "Server");
  EXPECT_EQ(row->sync_state, RowSyncState::failed);
  EXPECT_EQ(store_->count_operations(OperationStatus::failed), 1u);
  EXPECT_EQ(store_->count_operations(OperationStatus::pending), 0u);
  auto queue = store_->queued_operations(10);
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].last_error->code, ErrorCode::conflict);
}

TEST_F(LocalStoreTest, RetryAppliesAFailedChangeAgainAndDiscardDropsIt) {
  store_->apply_pulled_page({server_customer("Server")}, "v1.1", true);
  ASSERT_TRUE(write("op-1", "customers", "update", kCustomer, R"({"name":"Mine"})"));
  ASSERT_TRUE(write("op-2", "distribuciones", "insert", kSale, R"({"product_name":"Pan","quantity":2})"));
  auto due = store_->due_operations(10, 0);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::rejected, Error{ErrorCode::conflict, "c"}}});

  ASSERT_TRUE(store_->retry_failed("op-1"));
  EXPECT_EQ(name_of(*customer()), "Mine");
  due = store_->due_operations(10, 0);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[1].operation_id, "op-1") << "a retried operation goes to the end of the queue";
  EXPECT_EQ(due[1].attempts, 0);

  store_->record_outcomes({{due[1].sequence, OperationOutcome::Kind::rejected, Error{ErrorCode::conflict, "c"}}});
  ASSERT_TRUE(store_->discard_failed("op-1"));
  EXPECT_EQ(name_of(*customer()), "Server");
  EXPECT_EQ(customer()->sync_state, RowSyncState::synced);
  EXPECT_EQ(store_->discard_failed("op-1").error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->retry_failed("op-2").error().code, ErrorCode::not_found) << "only failed operations";
}

TEST_F(LocalStoreTest, AcknowledgedRowsTakeTheServersStateOnceThePullCatchesUp) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  auto due = store_->due_operations(10, 0);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::acknowledged, std::nullopt}});
  EXPECT_EQ(customer()->sync_state, RowSyncState::synced);
  // The server already held this row (the insert was a no-op there), so the feed does not
  // send it again; catching up still brings the server's timestamps.
  store_->apply_pulled_page({server_customer("Ana")}, "v1.1", false);
  store_->apply_pulled_page({}, "v1.2", true);
  EXPECT_EQ(customer()->created_at, "2026-11-25T07:00:00.000Z");
  EXPECT_TRUE(store_->queued_operations(10).empty());
}

TEST_F(LocalStoreTest, ThePullMarkMovesWithTheCursorAndWithEachAcknowledgement) {
  const LocalStore::PullMark empty = store_->pull_mark();
  EXPECT_FALSE(empty.cursor);
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  EXPECT_EQ(store_->pull_mark(), empty) << "a local write does not move it";
  auto due = store_->due_operations(10, 0);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::acknowledged, std::nullopt}});
  const LocalStore::PullMark acked = store_->pull_mark();
  EXPECT_NE(acked, empty);
  EXPECT_EQ(acked.acknowledged, 1);
  (void)store_->apply_pulled_page({server_customer("Ana")}, "v1.1", true);
  EXPECT_EQ(store_->pull_mark(), (LocalStore::PullMark{"v1.1", 0}));
}

TEST_F(LocalStoreTest, TheQueueWaitsBehindAnOperationInBackoff) {
  ASSERT_TRUE(write("op-1", "customers", "insert", kCustomer, R"({"name":"Ana"})"));
  ASSERT_TRUE(write("op-2", "customers", "update", kCustomer, R"({"name":"B"})", 1));
  auto due = store_->due_operations(10, 0);
  store_->record_outcomes({{due[0].sequence, OperationOutcome::Kind::retry_later,
                            Error{ErrorCode::internal, "try later"}, 5000}});
  EXPECT_TRUE(store_->due_operations(10, 4999).empty());
  EXPECT_EQ(store_->earliest_retry(), 5000);
  due = store_->due_operations(10, 5000);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].attempts, 1);
}

}  // namespace
}  // namespace avsync::client

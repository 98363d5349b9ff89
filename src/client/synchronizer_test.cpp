#include "client/synchronizer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <functional>

#include "core/json.hpp"
#include "testing/test_dir.hpp"

namespace avsync::client {
namespace {

class FakeClock final : public Clock {
 public:
  UnixMillis now() const override { return now_; }
  UnixMillis now_ = 1'790'000'000'000;
};

// Answers each request with the next scripted reply and remembers what was sent.
class FakeTransport final : public Transport {
 public:
  struct Request {
    std::string path;
    std::string body;
  };
  using Script = std::function<Result<HttpReply>(const Request&)>;

  Result<HttpReply> post_json(std::string_view path, std::string_view body) override {
    return answer({std::string(path), std::string(body)});
  }
  Result<HttpReply> get(std::string_view path) override { return answer({std::string(path), ""}); }

  std::deque<Script> script;
  std::vector<Request> requests;

 private:
  Result<HttpReply> answer(Request r) {
    requests.push_back(r);
    if (script.empty()) return Error{ErrorCode::network, "no script left"};
    Script next = std::move(script.front());
    script.pop_front();
    return next(r);
  }
};

// Operation ids of a POST /sync/batch body.
std::vector<std::string> ids_in(const std::string& body) {
  std::vector<std::string> ids;
  auto json = parse_json(body);
  for (const JsonValue& op : json->find("operations")->items) ids.push_back(op.find("operationId")->text);
  return ids;
}

// A 200 answer: every operation succeeds except those in `errors` (id -> wire code).
FakeTransport::Script batch_reply(std::map<std::string, std::string> errors = {}) {
  return [errors](const FakeTransport::Request& r) -> Result<HttpReply> {
    std::string body = R"({"results":[)";
    bool first = true;
    for (const std::string& id : ids_in(r.body)) {
      if (!first) body += ",";
      first = false;
      auto e = errors.find(id);
      body += R"({"operationId":")" + id + "\",";
      body += e == errors.end() ? R"("success":true})"
                                : R"("success":false,"error":")" + e->second + R"(","message":"m"})";
    }
    return HttpReply{200, body + "]}", std::nullopt};
  };
}

FakeTransport::Script empty_page(const std::string& cursor = "v1.9") {
  return [cursor](const FakeTransport::Request&) -> Result<HttpReply> {
    return HttpReply{200, R"({"changes":[],"cursor":")" + cursor + R"(","hasMore":false})", std::nullopt};
  };
}

FakeTransport::Script status_reply(int status, std::string body = "") {
  return [status, body](const FakeTransport::Request&) -> Result<HttpReply> {
    return HttpReply{status, body, std::nullopt};
  };
}

class SynchronizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<LocalStore>(dir_.file("device.db"));
    options_.batch_size = 3;
    options_.retry.max_retries = 2;
  }
  // Queues `n` distribuciones inserts with ids op-0, op-1, ...
  void queue(int n) {
    for (int i = 0; i < n; ++i) {
      std::string id = "op-" + std::to_string(queued_++);
      char entity_id[37];
      std::snprintf(entity_id, sizeof entity_id, "6f1c0000-0000-4000-8000-%012d", queued_);
      std::string body = R"({"operationId":")" + id + R"(","entity":"distribuciones","action":"insert","entityId":")" +
                         entity_id + R"(","payload":{"product_name":"Pan","quantity":1},"clientTimestamp":"2026-11-25T08:00:00.000Z"})";
      auto op = validate_operation(*parse_json(body));
      ASSERT_TRUE(op);
      ASSERT_TRUE(store_->apply_local_write(*op, id, body, "2026-11-25T08:00:00.000Z").has_value());
    }
  }

  Result<SyncReport> cycle() {
    Synchronizer s(*store_, transport_, options_, clock_, backoff_);
    return s.run_cycle();
  }

  avsync::testing::TestDir dir_;
  std::unique_ptr<LocalStore> store_;
  FakeTransport transport_;
  FakeClock clock_;
  ClientOptions options_;
  Backoff backoff_{RetryPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 2}, 1};
  int queued_ = 0;
};

TEST_F(SynchronizerTest, PushesInBatchesThenPullsAndKeepsTheCursor) {
  queue(7);
  transport_.script = {batch_reply(), batch_reply(), batch_reply(), empty_page("v1.7")};
  auto report = cycle();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->pushed, 7u);
  EXPECT_EQ(report->pending, 0u);
  ASSERT_EQ(transport_.requests.size(), 4u);
  EXPECT_EQ(ids_in(transport_.requests[0].body), (std::vector<std::string>{"op-0", "op-1", "op-2"}));
  EXPECT_EQ(ids_in(transport_.requests[2].body), (std::vector<std::string>{"op-6"}));
  EXPECT_EQ(transport_.requests[3].path, "/sync/changes?limit=5000");
  EXPECT_EQ(*store_->setting("cursor"), "v1.7");
  EXPECT_TRUE(store_->setting("last_sync_at"));

  transport_.script = {empty_page("v1.8")};
  ASSERT_TRUE(cycle());
  EXPECT_EQ(transport_.requests.back().path, "/sync/changes?limit=5000&since=v1.7");
}

TEST_F(SynchronizerTest, ANetworkFailureKeepsEveryOperationAndSkipsThePull) {
  queue(2);
  transport_.script = {[](const FakeTransport::Request&) -> Result<HttpReply> {
    return Error{ErrorCode::network, "connection refused"};
  }};
  auto report = cycle();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::network);
  EXPECT_EQ(transport_.requests.size(), 1u) << "no pull after a push that got no answer";
  EXPECT_EQ(store_->count_operations(OperationStatus::pending), 2u);
  EXPECT_EQ(store_->due_operations(10, clock_.now()).size(), 2u) << "nothing waits: the engine backs off";
}

TEST_F(SynchronizerTest, RejectedOperationsMoveAsideAndTheRestSync) {
  queue(3);
  transport_.script = {batch_reply({{"op-1", "VALIDATION_ERROR"}}), empty_page()};
  auto report = cycle();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pushed, 2u);
  EXPECT_EQ(report->rejected, 1u);
  EXPECT_EQ(store_->count_operations(OperationStatus::failed), 1u);
  EXPECT_EQ(store_->count_operations(OperationStatus::pending), 0u);
}

TEST_F(SynchronizerTest, AnInternalErrorRetriesWithBackoffThenFailsAfterMaxRetries) {
  queue(3);
  // op-1 fails transiently; op-2's NOT_FOUND after it may be its consequence: retried too.
  transport_.script = {batch_reply({{"op-1", "INTERNAL"}, {"op-2", "NOT_FOUND"}}), empty_page()};
  auto report = cycle();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pushed, 1u);
  EXPECT_EQ(report->rejected, 0u);
  EXPECT_EQ(report->pending, 2u);
  auto waiting = store_->earliest_retry();
  ASSERT_TRUE(waiting);
  EXPECT_GT(*waiting, clock_.now());
  EXPECT_LE(*waiting, clock_.now() + 100) << "first retry within base";

  // Not due yet: nothing is sent, only the pull runs.
  transport_.script = {empty_page()};
  ASSERT_TRUE(cycle());
  EXPECT_EQ(transport_.requests.back().path.rfind("/sync/changes", 0), 0u);

  for (int attempt = 2; attempt <= 3; ++attempt) {
    clock_.now_ += 10'000;
    transport_.script = {batch_reply({{"op-1", "INTERNAL"}, {"op-2", "INTERNAL"}}), empty_page()};
    report = cycle();
    ASSERT_TRUE(report);
  }
  EXPECT_EQ(report->rejected, 2u) << "max_retries = 2: the third INTERNAL fails them";
  EXPECT_EQ(store_->count_operations(OperationStatus::failed), 2u);
}

TEST_F(SynchronizerTest, ABatchTooLargeIsSplit) {
  options_.batch_size = 4;
  queue(4);
  transport_.script = {status_reply(413, R"({"error":{"code":"BATCH_TOO_LARGE","message":"max 2"}})"),
                       batch_reply(), batch_reply(), empty_page()};
  auto report = cycle();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->pushed, 4u);
  EXPECT_EQ(report->rejected, 0u);
  EXPECT_EQ(ids_in(transport_.requests[0].body).size(), 4u);
  EXPECT_EQ(ids_in(transport_.requests[1].body), (std::vector<std::string>{"op-0", "op-1"}));
  EXPECT_EQ(ids_in(transport_.requests[2].body), (std::vector<std::string>{"op-2", "op-3"}));
}

TEST_F(SynchronizerTest, AnOperationTooLargeAloneIsRejected) {
  queue(2);
  options_.batch_size = 1;
  transport_.script = {status_reply(413, R"({"error":{"code":"PAYLOAD_TOO_LARGE","message":"4 MiB"}})"),
                       batch_reply(), empty_page()};
  auto report = cycle();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->rejected, 1u);
  EXPECT_EQ(report->pushed, 1u);
  EXPECT_EQ(store_->queued_operations(10).back().last_error->code, ErrorCode::payload_too_large);
}

TEST_F(SynchronizerTest, WholeRequestErrorsStopTheCycleWithTheirCode) {
  queue(1);
  transport_.script = {status_reply(401, R"({"error":{"code":"UNAUTHENTICATED","message":"revoked"}})")};
  EXPECT_EQ(cycle().error().code, ErrorCode::unauthenticated);
  transport_.script = {[](const FakeTransport::Request&) -> Result<HttpReply> {
    return HttpReply{429, "", std::chrono::seconds(7)};
  }};
  Synchronizer s(*store_, transport_, options_, clock_, backoff_);
  auto r = s.run_cycle();
  EXPECT_EQ(r.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(s.retry_after(), std::chrono::seconds(7));
  transport_.script = {status_reply(200, "<html>captive portal</html>")};
  EXPECT_EQ(cycle().error().code, ErrorCode::bad_response);
  EXPECT_EQ(store_->count_operations(OperationStatus::pending), 1u);
}

TEST(NextStep, EachErrorCallsForOneAction) {
  EXPECT_EQ(next_step_for(ErrorCode::validation_error), NextStep::reject_operation);
  EXPECT_EQ(next_step_for(ErrorCode::conflict), NextStep::reject_operation);
  EXPECT_EQ(next_step_for(ErrorCode::not_found), NextStep::reject_operation);
  EXPECT_EQ(next_step_for(ErrorCode::internal), NextStep::back_off);
  EXPECT_EQ(next_step_for(ErrorCode::network), NextStep::back_off);
  EXPECT_EQ(next_step_for(ErrorCode::rate_limited), NextStep::back_off);
  EXPECT_EQ(next_step_for(ErrorCode::batch_too_large), NextStep::split_batch);
  EXPECT_EQ(next_step_for(ErrorCode::bad_request), NextStep::stop_and_report);
  EXPECT_EQ(next_step_for(ErrorCode::unauthenticated), NextStep::wait_for_token);
}

}  // namespace
}  // namespace avsync::client

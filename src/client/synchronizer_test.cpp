#include "client/synchronizer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <functional>

#include "client/response_decoder.hpp"
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

FakeTransport::Script page_of(const std::string& changes, const std::string& cursor,
                              bool has_more = false) {
  return [=](const FakeTransport::Request&) -> Result<HttpReply> {
    return HttpReply{200,
                     R"({"changes":[)" + changes + R"(],"cursor":")" + cursor + R"(","hasMore":)" +
                         (has_more ? "true" : "false") + "}",
                     std::nullopt};
  };
}

std::string customer_upsert(const std::string& id, const std::string& name) {
  return R"({"entity":"customers","entityId":")" + id + R"(","action":"upsert","data":{"id":")" +
         id + R"(","name":")" + name +
         R"(","credit_limit":"0.00","created_at":"2026-11-25T08:00:00.000Z","updated_at":"2026-11-25T08:00:00.000Z"}})";
}

std::string customer_delete(const std::string& id) {
  return R"({"entity":"customers","entityId":")" + id + R"(","action":"delete","data":null})";
}

TEST_F(SynchronizerTest, EachAppliedPageTellsTheSinkWhichRowsItChanged) {
  const std::string a = "6f1c0000-0000-4000-8000-00000000000a";
  const std::string b = "6f1c0000-0000-4000-8000-00000000000b";
  std::vector<std::vector<ChangedRow>> heard;
  Synchronizer s(*store_, transport_, options_, clock_, backoff_,
                 [&](const std::vector<ChangedRow>& changes) { heard.push_back(changes); });
  transport_.script = {
      page_of(customer_upsert(a, "Ana") + "," + customer_upsert(b, "Bea"), "v1.2", true),
      page_of(customer_delete(b) + "," + customer_delete("6f1c0000-0000-4000-8000-0000000000ff"),
              "v1.3"),
      page_of("", "v1.3")};
  ASSERT_TRUE(s.run_cycle());
  ASSERT_EQ(heard.size(), 2u) << "one call per page";
  ASSERT_EQ(heard[0].size(), 2u);
  EXPECT_EQ(heard[0][0].entity, "customers");
  EXPECT_EQ(heard[0][0].id, a);
  EXPECT_EQ(heard[0][0].action, ChangeAction::upsert);
  EXPECT_EQ(heard[0][1].id, b);
  ASSERT_EQ(heard[1].size(), 1u) << "the delete of a row this device never held changes nothing";
  EXPECT_EQ(heard[1][0].id, b);
  EXPECT_EQ(heard[1][0].action, ChangeAction::remove);

  ASSERT_TRUE(s.run_cycle());
  EXPECT_EQ(heard.size(), 2u) << "an empty page is not reported";
}

TEST_F(SynchronizerTest, TheProgressSinkHearsTheCountsSoFarAfterEachBatchAndEachPage) {
  queue(4);
  const std::string a = "6f1c0000-0000-4000-8000-00000000000a";
  const std::string b = "6f1c0000-0000-4000-8000-00000000000b";
  std::vector<std::pair<std::size_t, std::size_t>> heard;  // pushed, pulled
  Synchronizer s(*store_, transport_, options_, clock_, backoff_);
  s.set_progress_sink(
      [&](const SyncReport& so_far) { heard.emplace_back(so_far.pushed, so_far.pulled); });
  transport_.script = {
      batch_reply(), batch_reply(),
      page_of(customer_upsert(a, "Ana") + "," + customer_upsert(b, "Bea"), "v1.2", true),
      page_of(customer_delete(b), "v1.3")};
  auto report = s.run_cycle();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(heard,
            (std::vector<std::pair<std::size_t, std::size_t>>{{3, 0}, {4, 0}, {4, 2}, {4, 3}}));
  EXPECT_EQ(report->pulled, 3u);
}

TEST_F(SynchronizerTest, ThisDevicesOwnWritesAreNotReportedAsPulledChanges) {
  const std::string id = "6f1c0000-0000-4000-8000-00000000000c";
  std::string body =
      R"({"operationId":"mine","entity":"customers","action":"insert","entityId":")" + id +
      R"(","payload":{"name":"Ana"},"clientTimestamp":"2026-11-25T08:00:00.000Z"})";
  auto op = validate_operation(*parse_json(body));
  ASSERT_TRUE(op);
  ASSERT_TRUE(store_->apply_local_write(*op, "mine", body, "2026-11-25T08:00:00.000Z"));
  std::vector<ChangedRow> heard;
  Synchronizer s(*store_, transport_, options_, clock_, backoff_,
                 [&](const std::vector<ChangedRow>& changes) {
                   heard.insert(heard.end(), changes.begin(), changes.end());
                 });
  // The write comes back in the feed with the fields it already shows.
  transport_.script = {batch_reply(), page_of(customer_upsert(id, "Ana"), "v1.1")};
  ASSERT_TRUE(s.run_cycle());
  EXPECT_TRUE(heard.empty());
  // Another device's later change to it is reported.
  transport_.script = {page_of(customer_upsert(id, "Ana Ruiz"), "v1.2")};
  ASSERT_TRUE(s.run_cycle());
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].id, id);
}

TEST_F(SynchronizerTest, ARowWithPendingOperationsIsNotReportedItKeepsItsLocalState) {
  queue(1);  // distribuciones op-0, pending: the push below gets no answer
  const std::string id = "6f1c0000-0000-4000-8000-000000000001";
  std::vector<ChangedRow> heard;
  Synchronizer s(*store_, transport_, options_, clock_, backoff_,
                 [&](const std::vector<ChangedRow>& changes) {
                   heard.insert(heard.end(), changes.begin(), changes.end());
                 });
  auto page =
      decode_changes_page(R"({"changes":[{"entity":"distribuciones","entityId":")" + id +
                          R"(","action":"delete","data":null}],"cursor":"v1.5","hasMore":false})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(s.apply_page(*page), 1u);
  EXPECT_TRUE(heard.empty());
}

TEST_F(SynchronizerTest, ALongPollAsksForTheWaitFromTheCursorAndAppliesLikeAPull) {
  transport_.script = {
      page_of(customer_upsert("6f1c0000-0000-4000-8000-00000000000d", "Dan"), "v1.8")};
  Synchronizer s(*store_, transport_, options_, clock_, backoff_);
  auto page = s.poll_changes(std::string("v1.7"), std::chrono::seconds(25));
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(transport_.requests.back().path, "/sync/changes?limit=5000&since=v1.7&wait=25");
  EXPECT_FALSE(store_->setting("cursor")) << "polling touches no store";
  EXPECT_EQ(s.apply_page(*page), 1u);
  EXPECT_EQ(*store_->setting("cursor"), "v1.8");

  transport_.script = {[](const FakeTransport::Request&) -> Result<HttpReply> {
    return HttpReply{503, "", std::chrono::seconds(9)};
  }};
  auto failed = s.poll_changes(std::string("v1.8"), std::chrono::seconds(25));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::unavailable);
  EXPECT_EQ(s.retry_after(), std::chrono::seconds(9));
}

TEST_F(SynchronizerTest, TheBatchCursorIsKeptWhenTheServerSendsIt) {
  queue(1);
  transport_.script = {[](const FakeTransport::Request& r) -> Result<HttpReply> {
                         return HttpReply{200,
                                          R"({"results":[{"operationId":")" + ids_in(r.body)[0] +
                                              R"(","success":true}],"cursor":"v1.31"})",
                                          std::nullopt};
                       },
                       empty_page("v1.31")};
  Synchronizer s(*store_, transport_, options_, clock_, backoff_);
  ASSERT_TRUE(s.run_cycle());
  EXPECT_EQ(s.batch_cursor(), "v1.31");
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

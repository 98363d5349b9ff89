// The registry's counting and its text format (Prometheus exposition format 0.0.4), read
// back the way a scraper reads it.

#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace avsync::server {
namespace {

using namespace std::chrono_literals;

// The samples of a scrape, by series ("name{labels}"), after checking that every line is a
// comment or a valid sample.
std::map<std::string, double> parse(const std::string& text) {
  static const std::regex kSample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? [-+0-9.eEInfa]+$)");
  std::map<std::string, double> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, kSample)) << line;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

Metrics make_metrics() {
  return Metrics({"POST /sync/batch", "GET /sync/changes", std::string(kLongPollRoute)},
                 1700000000.5);
}

TEST(Metrics, ARequestIsCountedByRouteAndStatus) {
  Metrics m = make_metrics();
  m.count_request(m.route_index("POST /sync/batch"), 200, 3ms);
  m.count_request(m.route_index("POST /sync/batch"), 200, 3ms);
  m.count_request(m.route_index("POST /sync/batch"), 413, 1ms);
  m.count_request(m.route_index("no such route"), 404, 1ms);
  m.count_request(m.route_index("POST /sync/batch"), 418, 1ms);  // not a status we answer
  auto s = parse(m.render({}));
  EXPECT_EQ(s[R"(avsync_http_requests_total{route="POST /sync/batch",status="200"})"], 2);
  EXPECT_EQ(s[R"(avsync_http_requests_total{route="POST /sync/batch",status="413"})"], 1);
  EXPECT_EQ(s[R"(avsync_http_requests_total{route="unknown",status="404"})"], 1);
  EXPECT_EQ(s[R"(avsync_http_requests_total{route="POST /sync/batch",status="other"})"], 1);
  EXPECT_FALSE(s.contains(R"(avsync_http_requests_total{route="GET /sync/changes",status="200"})"))
      << "a series never counted is not shown";
}

TEST(Metrics, LatencyBucketsAreCumulativeAndEndAtInfEqualToTheCount) {
  Metrics m = make_metrics();
  const auto batch = m.route_index("POST /sync/batch");
  m.count_request(batch, 200, 300us);  // <= 0.0005
  m.count_request(batch, 200, 1ms);    // exactly on the 0.001 bound: le is inclusive
  m.count_request(batch, 200, 7ms);    // <= 0.01
  m.count_request(batch, 200, 2min);   // past every bound: +Inf only
  const std::string text = m.render({});
  auto s = parse(text);
  const std::string b =
      R"(avsync_http_request_duration_seconds_bucket{route="POST /sync/batch",le=")";
  EXPECT_EQ(s[b + R"(0.0005"})"], 1);
  EXPECT_EQ(s[b + R"(0.001"})"], 2);
  EXPECT_EQ(s[b + R"(0.005"})"], 2);
  EXPECT_EQ(s[b + R"(0.01"})"], 3);
  EXPECT_EQ(s[b + R"(60"})"], 3);
  EXPECT_EQ(s[b + R"(+Inf"})"], 4);
  EXPECT_EQ(s[R"(avsync_http_request_duration_seconds_count{route="POST /sync/batch"})"], 4);
  EXPECT_NEAR(s[R"(avsync_http_request_duration_seconds_sum{route="POST /sync/batch"})"], 120.0083,
              1e-9);
  EXPECT_NE(text.find("# TYPE avsync_http_request_duration_seconds histogram\n"),
            std::string::npos);
  // Buckets appear in ascending order, +Inf last, before _sum and _count.
  EXPECT_LT(text.find(b + "0.0005\"}"), text.find(b + "0.001\"}"));
  EXPECT_LT(text.find(b + "60\"}"), text.find(b + "+Inf\"}"));
}

TEST(Metrics, OperationsAreCountedByEntityActionAndOutcome) {
  Metrics m = make_metrics();
  const EntitySpec* customers = find_entity("customers");
  ASSERT_NE(customers, nullptr);
  m.count_operation(customers, Action::insert, std::nullopt);
  m.count_operation(customers, Action::insert, std::nullopt);
  m.count_operation(customers, Action::remove, ErrorCode::conflict);
  m.count_operation(nullptr, std::nullopt, ErrorCode::validation_error);
  m.count_batch();
  auto s = parse(m.render({}));
  EXPECT_EQ(s[R"(avsync_operations_total{entity="customers",action="insert",outcome="applied"})"],
            2);
  EXPECT_EQ(s[R"(avsync_operations_total{entity="customers",action="delete",outcome="CONFLICT"})"],
            1);
  EXPECT_EQ(
      s[R"(avsync_operations_total{entity="unknown",action="unknown",outcome="VALIDATION_ERROR"})"],
      1);
  EXPECT_EQ(s["avsync_batches_total"], 1);
  EXPECT_EQ(m.totals().operations, 4u);
}

TEST(Metrics, ReasonsPullsStoreAndProcessFiguresAreRendered) {
  Metrics m = make_metrics();
  m.count_auth_failure(AuthFailure::expired);
  m.count_auth_failure(AuthFailure::admin_credential);
  m.count_rate_limited(RateLimited::tenant_queue);
  m.count_store_error(StoreError::unavailable);
  m.count_pull(7);
  m.count_pull(0);
  m.pool_waited(2ms);
  m.group_committed(3);
  auto s = parse(m.render({.live_waiters = 5}));
  EXPECT_EQ(s[R"(avsync_auth_failures_total{reason="expired"})"], 1);
  EXPECT_EQ(s[R"(avsync_auth_failures_total{reason="admin_credential"})"], 1);
  EXPECT_EQ(s[R"(avsync_auth_failures_total{reason="revoked"})"], 0);
  EXPECT_EQ(s[R"(avsync_rate_limited_total{reason="tenant_queue"})"], 1);
  EXPECT_EQ(s[R"(avsync_store_errors_total{kind="unavailable"})"], 1);
  EXPECT_EQ(s["avsync_pull_pages_total"], 2);
  EXPECT_EQ(s["avsync_pulled_rows_total"], 7);
  EXPECT_EQ(s["avsync_store_pool_waits_total"], 1);
  EXPECT_EQ(s[R"(avsync_store_pool_wait_seconds_bucket{le="0.005"})"], 1);
  EXPECT_EQ(s[R"(avsync_store_pool_wait_seconds_bucket{le="0.001"})"], 0);
  EXPECT_EQ(s[R"(avsync_store_group_commit_batches_bucket{le="2"})"], 0);
  EXPECT_EQ(s[R"(avsync_store_group_commit_batches_bucket{le="4"})"], 1);
  EXPECT_EQ(s["avsync_live_waiters"], 5);
  EXPECT_EQ(s["process_start_time_seconds"], 1700000000.5);
  EXPECT_GT(s["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(s["process_open_fds"], 3);
}

TEST(Metrics, EveryMetricHasHelpAndTypeOnce) {
  Metrics m = make_metrics();
  const std::string text = m.render({});
  for (std::string name :
       {"avsync_http_requests_total", "avsync_http_request_duration_seconds",
        "avsync_batches_total", "avsync_operations_total", "avsync_rate_limited_total",
        "avsync_auth_failures_total", "avsync_store_errors_total", "avsync_store_pool_wait_seconds",
        "avsync_live_waiters", "process_open_fds"}) {
    const std::string help = "# HELP " + name + " ";
    const std::string type = "# TYPE " + name + " ";
    ASSERT_NE(text.find(help), std::string::npos) << name;
    EXPECT_EQ(text.find(help, text.find(help) + 1), std::string::npos) << name;
    EXPECT_NE(text.find(type), std::string::npos) << name;
  }
}

TEST(Metrics, ErrorsLeaveOut401AndLatencyTotalsLeaveOutLongPolls) {
  Metrics m = make_metrics();
  m.count_request(m.route_index("POST /sync/batch"), 200, 1ms);
  m.count_request(m.route_index("POST /sync/batch"), 401, 1ms);
  m.count_request(m.route_index("POST /sync/batch"), 400, 1ms);
  m.count_request(m.route_index("POST /sync/batch"), 503, 1ms);
  m.count_request(m.route_index(kLongPollRoute), 200, 25s);
  const MetricTotals t = m.totals();
  EXPECT_EQ(t.requests, 5u);
  EXPECT_EQ(t.errors, 2u);
  std::uint64_t counted = 0;
  for (auto n : t.latency_buckets) counted += n;
  EXPECT_EQ(counted, 4u);
}

TEST(Metrics, CountingFromManyThreadsLosesNothing) {
  Metrics m = make_metrics();
  const auto batch = m.route_index("POST /sync/batch");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) m.count_request(batch, 200, 1ms);
    });
  for (auto& t : threads) t.join();
  auto s = parse(m.render({}));
  EXPECT_EQ(s[R"(avsync_http_requests_total{route="POST /sync/batch",status="200"})"], 40000);
  EXPECT_EQ(s[R"(avsync_http_request_duration_seconds_count{route="POST /sync/batch"})"], 40000);
  EXPECT_NEAR(s[R"(avsync_http_request_duration_seconds_sum{route="POST /sync/batch"})"], 40.0,
              1e-6);
}

TEST(BucketQuantile, InterpolatesInsideTheBucketLikePrometheus) {
  const double bounds[] = {0.1, 0.2, 0.4};
  // 100 observations: 50 under 0.1, 40 in (0.1, 0.2], 10 in (0.2, 0.4].
  const std::uint64_t buckets[] = {50, 40, 10, 0};
  EXPECT_NEAR(*bucket_quantile(bounds, buckets, 0.5), 0.1, 1e-12);
  EXPECT_NEAR(*bucket_quantile(bounds, buckets, 0.7), 0.15, 1e-12);
  EXPECT_NEAR(*bucket_quantile(bounds, buckets, 0.99), 0.2 + 0.2 * 0.9, 1e-12);
  EXPECT_NEAR(*bucket_quantile(bounds, buckets, 0.25), 0.05, 1e-12);
}

TEST(BucketQuantile, NothingCountedHasNoQuantileAndInfGivesTheHighestBound) {
  const double bounds[] = {0.1, 0.2};
  const std::uint64_t none[] = {0, 0, 0};
  EXPECT_FALSE(bucket_quantile(bounds, none, 0.99));
  const std::uint64_t slow[] = {1, 0, 99};
  EXPECT_EQ(*bucket_quantile(bounds, slow, 0.99), 0.2);
}

}  // namespace
}  // namespace avsync::server

// The overview series' arithmetic, with times the test chooses (no sleeping).

#include "server/overview.hpp"

#include <gtest/gtest.h>

namespace avsync::server {
namespace {

using namespace std::chrono_literals;

constexpr UnixMillis kStart = 1'700'000'000'000;

struct OverviewTest : ::testing::Test {
  Metrics metrics{{"POST /sync/batch", "GET /sync/changes", std::string(kLongPollRoute)}, 0};
  std::size_t batch = metrics.route_index("POST /sync/batch");
};

TEST_F(OverviewTest, ASampleHoldsTheRatesOfItsIntervalOnly) {
  metrics.count_request(batch, 200, 1ms);  // before the overview started: not in any sample
  Overview overview(metrics, kStart);
  for (int i = 0; i < 18; ++i) metrics.count_request(batch, 200, 3ms);
  metrics.count_request(batch, 401, 1ms);  // not an error
  metrics.count_request(batch, 500, 1ms);  // an error
  for (int i = 0; i < 50; ++i)
    metrics.count_operation(find_entity("customers"), Action::insert, std::nullopt);
  overview.sample(kStart + 10'000);
  metrics.count_request(batch, 429, 1ms);
  overview.sample(kStart + 20'000);

  auto samples = overview.samples();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].at, kStart + 10'000);
  EXPECT_DOUBLE_EQ(samples[0].requests_per_second, 2.0);
  EXPECT_DOUBLE_EQ(samples[0].operations_per_second, 5.0);
  EXPECT_DOUBLE_EQ(samples[0].error_rate, 1.0 / 20);
  ASSERT_TRUE(samples[0].p99_ms);
  // 20 requests: 2 in (0.0005, 0.001], 18 in (0.0025, 0.005]; rank 19.8 falls in the latter.
  EXPECT_NEAR(*samples[0].p99_ms, 2.5 + 2.5 * (19.8 - 2) / 18, 1e-9);
  EXPECT_DOUBLE_EQ(samples[1].requests_per_second, 0.1);
  EXPECT_DOUBLE_EQ(samples[1].operations_per_second, 0);
  EXPECT_DOUBLE_EQ(samples[1].error_rate, 1.0);
}

TEST_F(OverviewTest, AnIntervalWithoutRequestsHasNoP99AndNoErrors) {
  Overview overview(metrics, kStart);
  metrics.count_request(metrics.route_index(kLongPollRoute), 200, 25s);  // a long-poll: no latency
  overview.sample(kStart + 10'000);
  auto samples = overview.samples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_FALSE(samples[0].p99_ms);
  EXPECT_DOUBLE_EQ(samples[0].error_rate, 0);
  EXPECT_EQ(
      overview.to_json(),
      R"({"intervalSeconds":10,"samples":[{"at":"2023-11-14T22:13:30.000Z","requestsPerSecond":0.1,)"
      R"("operationsPerSecond":0,"errorRate":0,"p99Ms":null}]})");
}

TEST_F(OverviewTest, RatesUseTheTimeThatReallyPassed) {
  Overview overview(metrics, kStart);
  for (int i = 0; i < 30; ++i) metrics.count_request(batch, 200, 1ms);
  overview.sample(kStart + 15'000);  // the sampler ran late
  EXPECT_DOUBLE_EQ(overview.samples().at(0).requests_per_second, 2.0);
  overview.sample(kStart + 15'000);  // no time passed: nothing added
  EXPECT_EQ(overview.samples().size(), 1u);
}

TEST_F(OverviewTest, KeepsTheLastCapacitySamplesOldestFirst) {
  Overview overview(metrics, kStart, 10s, 360);
  for (int i = 1; i <= 400; ++i) overview.sample(kStart + i * 10'000);
  auto samples = overview.samples();
  ASSERT_EQ(samples.size(), 360u);
  EXPECT_EQ(samples.front().at, kStart + 41 * 10'000);
  EXPECT_EQ(samples.back().at, kStart + 400 * 10'000);
}

}  // namespace
}  // namespace avsync::server

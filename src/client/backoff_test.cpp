#include "client/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace avsync::client {
namespace {

using std::chrono::milliseconds;

RetryPolicy policy(int base, int cap) {
  RetryPolicy p;
  p.base = milliseconds(base);
  p.cap = milliseconds(cap);
  return p;
}

TEST(Backoff, TheWindowDoublesPerFailureUntilTheCap) {
  Backoff b(policy(100, 1000), 1);
  EXPECT_EQ(b.window(1), milliseconds(100));
  EXPECT_EQ(b.window(2), milliseconds(200));
  EXPECT_EQ(b.window(3), milliseconds(400));
  EXPECT_EQ(b.window(4), milliseconds(800));
  EXPECT_EQ(b.window(5), milliseconds(1000));
  EXPECT_EQ(b.window(500), milliseconds(1000));  // no overflow after many failures
}

TEST(Backoff, EveryDelayIsWithinItsWindowAndTheyVary) {
  Backoff b(policy(100, 1000), 42);
  for (int failures = 1; failures <= 12; ++failures) {
    std::set<long> seen;
    for (int i = 0; i < 200; ++i) {
      auto d = b.next_delay(failures);
      ASSERT_GE(d.count(), 1);
      ASSERT_LE(d, b.window(failures));
      seen.insert(d.count());
    }
    EXPECT_GT(seen.size(), 20u) << "full jitter spreads delays over the window";
  }
}

TEST(Backoff, TheSameSeedGivesTheSameDelays) {
  Backoff a(policy(10, 10000), 7), b(policy(10, 10000), 7), c(policy(10, 10000), 8);
  std::vector<long> da, db, dc;
  for (int i = 1; i <= 10; ++i) {
    da.push_back(a.next_delay(i).count());
    db.push_back(b.next_delay(i).count());
    dc.push_back(c.next_delay(i).count());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(Backoff, LaterFailuresWaitLongerOnAverage) {
  Backoff b(policy(10, 100000), 3);
  auto mean = [&](int failures) {
    double sum = 0;
    for (int i = 0; i < 500; ++i) sum += static_cast<double>(b.next_delay(failures).count());
    return sum / 500;
  };
  double m1 = mean(1), m4 = mean(4), m8 = mean(8);
  EXPECT_LT(m1, m4);
  EXPECT_LT(m4, m8);
  EXPECT_NEAR(m8, 1280 / 2.0, 1280 * 0.1);  // uniform over [1, 1280]
}

}  // namespace
}  // namespace avsync::client

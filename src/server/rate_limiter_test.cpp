#include "server/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace avsync::server {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, ABurstIsAdmittedThenRequestsWaitForTheRefill) {
  RateLimiter limiter({.per_second = 2, .burst = 3});
  RateLimiter::TimePoint t0{};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("token-a", t0)) << i;
  auto wait = limiter.admit("token-a", t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 500ms) << "one request refills in 1/2 s";
  EXPECT_TRUE(limiter.admit("token-a", t0 + 499ms));
  EXPECT_FALSE(limiter.admit("token-a", t0 + 1000ms));
}

TEST(RateLimiter, TokensHaveTheirOwnBuckets) {
  RateLimiter limiter({.per_second = 1, .burst = 1});
  RateLimiter::TimePoint t0{};
  EXPECT_FALSE(limiter.admit("a", t0));
  EXPECT_TRUE(limiter.admit("a", t0));
  EXPECT_FALSE(limiter.admit("b", t0));
}

TEST(RateLimiter, TheBucketNeverHoldsMoreThanTheBurst) {
  RateLimiter limiter({.per_second = 10, .burst = 2});
  RateLimiter::TimePoint t0{};
  EXPECT_FALSE(limiter.admit("a", t0));
  auto later = t0 + 1h;
  EXPECT_FALSE(limiter.admit("a", later));
  EXPECT_FALSE(limiter.admit("a", later));
  EXPECT_TRUE(limiter.admit("a", later));
}

TEST(RateLimiter, ZeroTurnsItOff) {
  RateLimiter limiter({.per_second = 0, .burst = 0});
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(limiter.admit("a", RateLimiter::TimePoint{}));
}

}  // namespace
}  // namespace avsync::server

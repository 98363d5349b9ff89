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

TEST(RateLimiter, ACostTakesThatManyAndALargerOneThanTheBurstEmptiesAFullBucket) {
  RateLimiter limiter({.per_second = 10, .burst = 20});
  RateLimiter::TimePoint t0{};
  EXPECT_FALSE(limiter.admit("a", t0, 15));
  auto wait = limiter.admit("a", t0, 15);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1000ms) << "10 more at 10/s";
  EXPECT_FALSE(limiter.admit("a", t0 + 1000ms, 15));
  EXPECT_FALSE(limiter.admit("b", t0, 500)) << "one batch larger than the burst is not refused forever";
  EXPECT_TRUE(limiter.admit("b", t0, 1));
}

ThrottleOptions throttle_options() {
  ThrottleOptions o;
  o.requests = {.per_second = 1, .burst = 3};
  o.operations = {.per_second = 10, .burst = 20};
  o.failed_auth = {.per_second = 1, .burst = 2};
  o.unknown_token_ttl = 30s;
  return o;
}

TEST(Throttle, RequestsOverTheTokensRateAreRefusedBeforeTheLookup) {
  Throttle throttle(throttle_options());
  Throttle::TimePoint t0{};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(throttle.before_lookup("hash", "1.2.3.4", t0).verdict, Throttle::Verdict::go_on);
  auto d = throttle.before_lookup("hash", "5.6.7.8", t0);
  EXPECT_EQ(d.verdict, Throttle::Verdict::too_many_requests) << "the bucket is the token's, whatever the address";
  EXPECT_EQ(d.retry_after, 1000ms);
}

TEST(Throttle, AnUnknownTokenIsRememberedAndAnsweredWithoutALookup) {
  Throttle throttle(throttle_options());
  Throttle::TimePoint t0{};
  ASSERT_EQ(throttle.before_lookup("guess", "a", t0).verdict, Throttle::Verdict::go_on);
  throttle.after_lookup("guess", "a", Throttle::Outcome::unknown, t0);
  EXPECT_EQ(throttle.before_lookup("guess", "a", t0 + 1s).verdict, Throttle::Verdict::unknown_token);
  EXPECT_EQ(throttle.before_lookup("guess", "b", t0 + 31s).verdict, Throttle::Verdict::go_on)
      << "forgotten after the ttl";
}

TEST(Throttle, AnAddressThatKeepsFailingIsRefusedButKnownGoodTokensFromItGetThrough) {
  Throttle throttle(throttle_options());
  Throttle::TimePoint t0{};
  ASSERT_EQ(throttle.before_lookup("good", "nat", t0).verdict, Throttle::Verdict::go_on);
  throttle.after_lookup("good", "nat", Throttle::Outcome::known, t0);
  for (std::string guess : {"g1", "g2"}) {
    ASSERT_EQ(throttle.before_lookup(guess, "nat", t0).verdict, Throttle::Verdict::go_on);
    throttle.after_lookup(guess, "nat", Throttle::Outcome::unknown, t0);
  }
  auto refused = throttle.before_lookup("g3", "nat", t0);
  EXPECT_EQ(refused.verdict, Throttle::Verdict::too_many_failures);
  EXPECT_GE(refused.retry_after, 1ms);
  EXPECT_EQ(throttle.before_lookup("good", "nat", t0).verdict, Throttle::Verdict::go_on);
  EXPECT_EQ(throttle.before_lookup("g4", "elsewhere", t0).verdict, Throttle::Verdict::go_on);
  EXPECT_EQ(throttle.before_lookup("g5", "nat", t0 + 2s).verdict, Throttle::Verdict::go_on) << "refilled";
}

TEST(Throttle, RevokedTokensAndMalformedHeadersCountAsFailures) {
  Throttle throttle(throttle_options());
  Throttle::TimePoint t0{};
  throttle.after_lookup("revoked", "x", Throttle::Outcome::refused, t0);
  EXPECT_FALSE(throttle.malformed("x", t0));
  EXPECT_TRUE(throttle.malformed("x", t0));
  EXPECT_EQ(throttle.before_lookup("other", "x", t0).verdict, Throttle::Verdict::too_many_failures);
}

TEST(Throttle, OperationsAreCountedPerToken) {
  Throttle throttle(throttle_options());
  Throttle::TimePoint t0{};
  EXPECT_FALSE(throttle.take_operations("a", 15, t0));
  EXPECT_TRUE(throttle.take_operations("a", 15, t0));
  EXPECT_FALSE(throttle.take_operations("b", 15, t0));
  EXPECT_FALSE(throttle.take_operations("a", 5, t0));
}

}  // namespace
}  // namespace avsync::server

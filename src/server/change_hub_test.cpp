// The hub's rules, without HTTP: who a commit wakes, and that no commit falls between a
// long-poll's read and its wait.

#include "server/change_hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace avsync::server {
namespace {

struct Counter {
  std::atomic<int> wakes{0};
  ChangeHub::Wake wake() {
    return [this] { ++wakes; };
  }
};

TEST(ChangeHub, ACommitPastWhatTheWaiterSawWakesItOnce) {
  ChangeHub hub;
  Counter a;
  auto sub = hub.subscribe("t1", a.wake());
  ASSERT_TRUE(sub.arm(5));
  hub.changed("t1", 5);  // the same version again (this server's own, then the watch's)
  EXPECT_EQ(a.wakes, 0);
  hub.changed("t1", 6);
  hub.changed("t1", 7);
  EXPECT_EQ(a.wakes, 1);
  EXPECT_FALSE(sub.arm(7)) << "fired: the caller reads again rather than waiting";
}

TEST(ChangeHub, AnotherTenantsCommitWakesNobody) {
  ChangeHub hub;
  Counter a;
  auto sub = hub.subscribe("t1", a.wake());
  ASSERT_TRUE(sub.arm(1));
  hub.changed("t2", 100);
  hub.changed("t10", 100);
  hub.changed("t", 100);
  EXPECT_EQ(a.wakes, 0);
  EXPECT_EQ(hub.watched_tenants(), std::vector<std::string>{"t1"});
}

TEST(ChangeHub, ACommitBetweenTheReadAndTheWaitIsNotLost) {
  ChangeHub hub;
  Counter a;
  auto sub = hub.subscribe("t1", a.wake());  // before the read
  hub.changed("t1", 3);                      // lands while the read runs
  EXPECT_FALSE(sub.arm(2)) << "the page saw 2; the commit of 3 must not be slept through";
  EXPECT_EQ(a.wakes, 1);
}

TEST(ChangeHub, MaybeMissedAndCloseWakeEveryone) {
  ChangeHub hub;
  Counter a, b;
  auto s1 = hub.subscribe("t1", a.wake());
  auto s2 = hub.subscribe("t2", b.wake());
  ASSERT_TRUE(s1.arm(9));
  ASSERT_TRUE(s2.arm(9));
  hub.maybe_missed();
  EXPECT_EQ(a.wakes, 1);
  EXPECT_EQ(b.wakes, 1);
  auto s3 = hub.subscribe("t1", a.wake());
  ASSERT_TRUE(s3.arm(9));
  hub.close();
  EXPECT_EQ(a.wakes, 2);
  EXPECT_TRUE(hub.closed());
  Counter late;
  auto s4 = hub.subscribe("t1", late.wake());
  EXPECT_FALSE(s4.arm(9)) << "after close, a subscription is born fired";
  EXPECT_EQ(late.wakes, 0);
}

TEST(ChangeHub, CountsWaitersUntilTheirSubscriptionsEnd) {
  ChangeHub hub;
  Counter a;
  {
    auto s1 = hub.subscribe("t1", a.wake());
    auto s2 = hub.subscribe("t1", a.wake());
    auto s3 = hub.subscribe("t2", a.wake());
    EXPECT_EQ(hub.waiters(), 3u);
    auto moved = std::move(s2);
    EXPECT_EQ(hub.waiters(), 3u);
  }
  EXPECT_EQ(hub.waiters(), 0u);
  EXPECT_TRUE(hub.watched_tenants().empty());
}

// Commits racing subscriptions, arms and unsubscriptions (TSan watches it): every waiter
// armed below the final version is woken exactly once.
TEST(ChangeHub, CommitsRacingWaitersWakeEachArmedWaiterOnce) {
  ChangeHub hub;
  constexpr int kWaiters = 200;
  std::vector<Counter> counters(kWaiters);
  std::vector<ChangeHub::Subscription> subs;
  std::atomic<bool> done{false};
  std::thread committer([&] {
    for (std::uint64_t v = 1; !done; ++v) hub.changed("t", v);
  });
  int armed_ok = 0;
  for (int i = 0; i < kWaiters; ++i) {
    subs.push_back(hub.subscribe("t", counters[i].wake()));
    if (subs.back().arm(0)) ++armed_ok;
  }
  hub.changed("t", ~std::uint64_t{0});
  done = true;
  committer.join();
  for (int i = 0; i < kWaiters; ++i) EXPECT_EQ(counters[i].wakes, 1) << i;
  (void)armed_ok;
}

}  // namespace
}  // namespace avsync::server

#include "server/http/connection_table.hpp"

#include <gtest/gtest.h>

namespace avsync::server {
namespace {

using State = ConnectionTable::State;

TEST(ConnectionTable, AdmitsUpToTheCapsWithoutEvicting) {
  ConnectionTable table({.max_connections = 3, .max_connections_per_address = 2});
  auto a = table.admit(1, "10.0.0.1");
  auto b = table.admit(2, "10.0.0.2");
  EXPECT_TRUE(a.admitted && b.admitted);
  EXPECT_FALSE(a.evict_for_address || a.evict_for_total || b.evict_for_address || b.evict_for_total);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.count_for("10.0.0.1"), 1u);
}

TEST(ConnectionTable, AFullAddressMakesRoomByClosingItsOldestConnectionThatSentNothing) {
  ConnectionTable table({.max_connections = 100, .max_connections_per_address = 3});
  table.admit(1, "nat");
  table.admit(2, "nat");
  table.admit(3, "nat");
  table.admit(4, "other");
  table.set_state(1, State::busy);  // 1 sent a request; 2 is the oldest that sent nothing
  auto d = table.admit(5, "nat");
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.evict_for_address, 2u);
  EXPECT_FALSE(d.evict_for_total);
  EXPECT_EQ(table.count_for("nat"), 3u);
  EXPECT_EQ(table.count_for("other"), 1u);
}

TEST(ConnectionTable, ConnectionsThatSentNothingGoBeforeIdleKeepAliveOnes) {
  ConnectionTable table({.max_connections = 2, .max_connections_per_address = 10});
  table.admit(1, "a");
  table.set_state(1, State::idle);  // served a request, waits for the next
  table.admit(2, "b");              // fresh, but newer
  auto d = table.admit(3, "c");
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.evict_for_total, 2u);
  auto e = table.admit(4, "d");  // now only idle (1) and fresh (3) remain: 3 goes first
  ASSERT_TRUE(e.admitted);
  EXPECT_EQ(e.evict_for_total, 3u);
  table.set_state(4, State::busy);
  auto f = table.admit(5, "e");  // no fresh one left: the idle one goes
  ASSERT_TRUE(f.admitted);
  EXPECT_EQ(f.evict_for_total, 1u);
}

TEST(ConnectionTable, BusyConnectionsAreNeverClosedToMakeRoom) {
  ConnectionTable table({.max_connections = 2, .max_connections_per_address = 2});
  table.admit(1, "a");
  table.admit(2, "a");
  table.set_state(1, State::busy);
  table.set_state(2, State::busy);
  auto d = table.admit(3, "b");
  EXPECT_FALSE(d.admitted);
  auto e = table.admit(4, "a");
  EXPECT_FALSE(e.admitted);
  EXPECT_EQ(table.size(), 2u);  // a refusal changes nothing
}

TEST(ConnectionTable, BothCapsFullEvictOneConnectionForEach) {
  ConnectionTable table({.max_connections = 3, .max_connections_per_address = 2});
  table.admit(1, "nat");
  table.admit(2, "nat");
  table.admit(3, "x");
  table.set_state(1, State::busy);
  // "nat" is full (evict 2); that also frees a slot of the total, so nothing else goes.
  auto d = table.admit(4, "nat");
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.evict_for_address, 2u);
  EXPECT_FALSE(d.evict_for_total);
  EXPECT_EQ(table.size(), 3u);
}

TEST(ConnectionTable, AnEvictedOrRemovedConnectionIsForgottenOnce) {
  ConnectionTable table({.max_connections = 1, .max_connections_per_address = 1});
  table.admit(1, "a");
  auto d = table.admit(2, "a");
  ASSERT_EQ(d.evict_for_address, 1u);
  table.set_state(1, State::busy);  // the evicted connection's coroutine still runs a moment
  table.remove(1);                  // and unregisters: both are no-ops now
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.count_for("a"), 1u);
  table.remove(2);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.count_for("a"), 0u);
}

TEST(TenantGate, ATenantRunsUpToItsCapThenQueuesThenIsRefused) {
  TenantGate gate({.max_running = 2, .max_waiting = 1});
  EXPECT_EQ(gate.enter("A", 1), TenantGate::Entry::running);
  EXPECT_EQ(gate.enter("A", 2), TenantGate::Entry::running);
  EXPECT_EQ(gate.enter("A", 3), TenantGate::Entry::waiting);
  EXPECT_EQ(gate.enter("A", 4), TenantGate::Entry::refused);
  // Another tenant is not held back by A.
  EXPECT_EQ(gate.enter("B", 5), TenantGate::Entry::running);
  EXPECT_EQ(gate.running("A"), 2u);
}

TEST(TenantGate, LeavingHandsTheSlotToTheOldestWaiter) {
  TenantGate gate({.max_running = 1, .max_waiting = 5});
  ASSERT_EQ(gate.enter("A", 1), TenantGate::Entry::running);
  ASSERT_EQ(gate.enter("A", 2), TenantGate::Entry::waiting);
  ASSERT_EQ(gate.enter("A", 3), TenantGate::Entry::waiting);
  EXPECT_EQ(gate.leave("A"), 2u);
  EXPECT_EQ(gate.running("A"), 1u);
  EXPECT_EQ(gate.leave("A"), 3u);
  EXPECT_EQ(gate.leave("A"), std::nullopt);
  EXPECT_EQ(gate.running("A"), 0u);
}

TEST(TenantGate, AWithdrawnWaiterIsSkippedAndANewcomerDoesNotJumpTheQueue) {
  TenantGate gate({.max_running = 1, .max_waiting = 5});
  ASSERT_EQ(gate.enter("A", 1), TenantGate::Entry::running);
  ASSERT_EQ(gate.enter("A", 2), TenantGate::Entry::waiting);
  ASSERT_EQ(gate.enter("A", 3), TenantGate::Entry::waiting);
  EXPECT_TRUE(gate.withdraw("A", 2));
  EXPECT_FALSE(gate.withdraw("A", 2));
  EXPECT_EQ(gate.leave("A"), 3u);
  EXPECT_EQ(gate.enter("A", 4), TenantGate::Entry::waiting);  // 3 still runs
  EXPECT_EQ(gate.leave("A"), 4u);
  EXPECT_EQ(gate.leave("A"), std::nullopt);
  EXPECT_EQ(gate.enter("A", 5), TenantGate::Entry::running);
}

TEST(TenantGate, AWokenLongPollQueuesPastTheCapInOrder) {
  TenantGate gate({.max_running = 1, .max_waiting = 1});
  EXPECT_EQ(gate.enter("t", 1), TenantGate::Entry::running);
  EXPECT_EQ(gate.enter("t", 2), TenantGate::Entry::waiting);
  EXPECT_EQ(gate.enter("t", 3), TenantGate::Entry::refused);
  EXPECT_EQ(gate.enter("t", 4, /*past_cap=*/true), TenantGate::Entry::waiting);
  EXPECT_EQ(gate.leave("t"), 2u);
  EXPECT_EQ(gate.leave("t"), 4u);
}

}  // namespace
}  // namespace avsync::server

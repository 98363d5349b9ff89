// The engine driven by scripted cycles: no SQLite, no network. TSan runs these too
// (make test-tsan), which is where the engine's locking is checked.
#include "client/sync_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "testing/status_recorder.hpp"

namespace avsync::client {
namespace {

using namespace std::chrono_literals;

// A cycle that fails with `failure` while `offline` is set, and succeeds otherwise.
struct ScriptedCycles {
  std::atomic<bool> offline{false};
  std::atomic<ErrorCode> failure{ErrorCode::network};
  std::atomic<int> runs{0};
  CycleOutcome operator()() {
    ++runs;
    if (offline) return {Error{failure.load(), "scripted failure"}};
    return {SyncReport{2, 0, 3, 0}};
  }
};

ClientOptions fast_options() {
  ClientOptions o;
  o.sync_interval = 1h;  // only the events under test start cycles
  o.debounce = 5ms;
  o.retry.base = 20ms;
  o.retry.cap = 160ms;
  return o;
}

class SyncEngineTest : public ::testing::Test {
 protected:
  void make_engine(ClientOptions options = fast_options()) {
    engine_ = std::make_unique<SyncEngine>(
        options, [this] { return cycles_(); }, [](SyncStatus& s) { s.pending = 0; }, 99);
    engine_->set_observer([this](const SyncStatus& s) { recorder_(s); });
  }
  ScriptedCycles cycles_;
  avsync::testing::StatusRecorder recorder_;
  std::unique_ptr<SyncEngine> engine_;
};

TEST_F(SyncEngineTest, StartSyncsAtOnceAndReportsSyncingThenIdle) {
  make_engine();
  engine_->start();
  auto idle = recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; });
  ASSERT_TRUE(idle);
  EXPECT_EQ(recorder_.seen().front().state, SyncState::syncing);
  EXPECT_EQ(idle->operations_pushed, 2u);
  EXPECT_EQ(idle->rows_pulled, 3u);
  EXPECT_FALSE(idle->last_error);
}

TEST_F(SyncEngineTest, OfflineRetriesGrowWithJitterWithinTheCapAndRecoverOnNotifyOnline) {
  cycles_.offline = true;
  make_engine();
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.retries >= 8; }));
  std::vector<long> delays;
  for (const SyncStatus& s : recorder_.seen()) {
    if (s.state != SyncState::offline) continue;
    ASSERT_TRUE(s.retry_in);
    ASSERT_TRUE(s.last_error);
    EXPECT_EQ(s.last_error->code, ErrorCode::network);
    delays.push_back(s.retry_in->count());
  }
  ASSERT_GE(delays.size(), 8u);
  for (std::size_t i = 0; i < delays.size(); ++i) {
    long window = std::min<long>(160, 20L << std::min<std::size_t>(i, 10));
    EXPECT_GE(delays[i], 1);
    EXPECT_LE(delays[i], window) << "failure " << i + 1;
  }
  EXPECT_GT(*std::max_element(delays.begin() + 3, delays.end()), 20) << "later windows are wider";
  std::set<long> distinct(delays.begin(), delays.end());
  EXPECT_GT(distinct.size(), 3u) << "jitter";

  cycles_.offline = false;
  std::size_t mark = recorder_.size();
  engine_->notify_online();
  auto idle = recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }, mark);
  ASSERT_TRUE(idle);
  EXPECT_FALSE(idle->retry_in);
  EXPECT_FALSE(idle->last_error);
}

// After a failed connection, a local write waits for the backoff: only the network can end
// it. A TLS failure is reported as an error, not offline, but it is the connection that
// failed too, so local writes do not start a handshake each.
TEST_F(SyncEngineTest, NoBusyLoopWhileOfflineOrAfterATlsFailure) {
  for (auto [failure, state] : {std::pair{ErrorCode::network, SyncState::offline},
                                std::pair{ErrorCode::tls_failure, SyncState::error}}) {
    cycles_.offline = true;
    cycles_.failure = failure;
    cycles_.runs = 0;
    ClientOptions o = fast_options();
    o.retry.base = 10s;
    o.retry.cap = 10s;
    make_engine(o);
    const std::size_t mark = recorder_.size();
    engine_->start();
    auto failed = recorder_.wait_for([state](const SyncStatus& s) { return s.state == state; }, mark);
    ASSERT_TRUE(failed) << to_string(failure);
    EXPECT_EQ(failed->last_error->code, failure);
    EXPECT_TRUE(failed->retry_in);
    engine_->notify_local_write();
    engine_->notify_local_write();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(cycles_.runs.load(), 1) << to_string(failure);
    engine_->stop();  // prompt, although the next try is seconds away
  }
}

TEST_F(SyncEngineTest, ALocalWriteSyncsSoonAfterwards) {
  make_engine();
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  std::size_t mark = recorder_.size();
  engine_->notify_local_write();
  engine_->notify_local_write();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }, mark));
  EXPECT_GE(cycles_.runs.load(), 2);
}

TEST_F(SyncEngineTest, AnUnauthenticatedServerPausesSyncUntilANewToken) {
  cycles_.offline = true;
  cycles_.failure = ErrorCode::unauthenticated;
  make_engine();
  engine_->start();
  auto paused = recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::error; });
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->last_error->code, ErrorCode::unauthenticated);
  EXPECT_FALSE(paused->retry_in);
  engine_->notify_local_write();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(cycles_.runs.load(), 1);

  cycles_.offline = false;
  std::size_t mark = recorder_.size();
  engine_->notify_token_changed();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }, mark));
}

TEST_F(SyncEngineTest, AServerErrorIsAnErrorStateThatBacksOff) {
  cycles_.offline = true;
  cycles_.failure = ErrorCode::server_error;
  make_engine();
  engine_->start();
  auto s = recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::error; });
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->retry_in);
}

TEST_F(SyncEngineTest, StartAndStopAreIdempotentAndRestartable) {
  make_engine();
  engine_->stop();
  engine_->start();
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  engine_->stop();
  engine_->stop();
  EXPECT_FALSE(engine_->cancelled());
  std::size_t mark = recorder_.size();
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }, mark));
}

TEST_F(SyncEngineTest, StoppingDuringACycleLeavesTheStatusAsItWas) {
  std::atomic<bool> block{false};
  std::atomic<bool> blocked{false};
  engine_ = std::make_unique<SyncEngine>(
      fast_options(),
      [&]() -> CycleOutcome {
        if (!block) return {SyncReport{}};
        blocked = true;
        while (!engine_->cancelled()) std::this_thread::yield();  // a request in flight
        return {Error{ErrorCode::cancelled, "stopping"}};
      },
      [](SyncStatus&) {}, 1);
  engine_->set_observer([this](const SyncStatus& s) { recorder_(s); });
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  block = true;
  engine_->notify_online();
  while (!blocked) std::this_thread::yield();
  engine_->stop();
  SyncStatus s = engine_->status();
  EXPECT_EQ(s.state, SyncState::idle);
  EXPECT_FALSE(s.last_error);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(recorder_.seen().back().state, SyncState::idle) << "the observer hears the status come back";
}

TEST_F(SyncEngineTest, ManyThreadsPokingTheEngineIsSafe) {
  make_engine();
  engine_->start();
  std::vector<std::thread> pokers;
  for (int t = 0; t < 4; ++t) {
    pokers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t % 2) {
          engine_->notify_local_write();
        } else {
          engine_->notify_online();
        }
        (void)engine_->status();
        if (i == 100 && t == 0) engine_->record({SyncReport{1, 0, 0, 0}});
      }
    });
  }
  for (auto& p : pokers) p.join();
  // The recorded cycle counts 1 operation, each engine cycle 2: 3 means both happened.
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.operations_pushed >= 3; }));
  engine_->stop();
  EXPECT_GE(cycles_.runs.load(), 1);
}

}  // namespace
}  // namespace avsync::client

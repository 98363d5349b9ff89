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

// ---- Live mode ---------------------------------------------------------------------------

// A scripted long-poll: answers `rows` changes per call while `answers` lasts, then holds
// like a server with nothing new until the engine cancels it; fails with `failure` while
// `offline` is set. Remembers each wait it was given.
struct ScriptedPolls {
  const SyncEngine* engine = nullptr;
  std::atomic<int> answers{0};
  std::atomic<std::size_t> rows{1};
  std::atomic<bool> offline{false};
  std::atomic<bool> answer_empty_at_once{false};
  std::atomic<int> calls{0};
  std::atomic<int> holding{0};  // polls waiting for cancellation right now
  std::mutex mutex;
  std::vector<std::chrono::seconds> waits;

  LiveOutcome operator()(std::chrono::seconds wait) {
    ++calls;
    {
      std::lock_guard lock(mutex);
      waits.push_back(wait);
    }
    if (offline) return {Error{ErrorCode::network, "scripted failure"}};
    if (answer_empty_at_once) return {std::size_t{0}};
    if (answers > 0) {
      --answers;
      return {rows.load()};
    }
    ++holding;
    while (!engine->live_cancelled()) std::this_thread::sleep_for(1ms);  // the transport's watch
    --holding;
    return {Error{ErrorCode::cancelled, "cancelled"}};
  }
};

class SyncEngineLiveTest : public SyncEngineTest {
 protected:
  void make_live_engine(ClientOptions options = fast_options()) {
    engine_ = std::make_unique<SyncEngine>(
        options, [this] { return cycles_(); }, [](SyncStatus& s) { s.pending = 0; }, 99,
        [this](std::chrono::seconds wait) { return polls_(wait); });
    polls_.engine = engine_.get();
    engine_->set_observer([this](const SyncStatus& s) { recorder_(s); });
  }
  // Waits (up to 30 s) until a poll is open and holding.
  bool wait_until_holding() {
    for (int i = 0; i < 30'000 && polls_.holding == 0; ++i) std::this_thread::sleep_for(1ms);
    return polls_.holding > 0;
  }
  ScriptedPolls polls_;
};

TEST_F(SyncEngineLiveTest, AfterACycleAPollIsOpenAndReopensAfterEachAnswer) {
  polls_.answers = 3;
  polls_.rows = 4;
  make_live_engine();
  engine_->start();
  ASSERT_TRUE(wait_until_holding());
  EXPECT_EQ(cycles_.runs.load(), 1) << "answers are applied by the polls, not by cycles";
  EXPECT_EQ(polls_.calls.load(), 4) << "three answers, each followed by a new poll";
  auto s = recorder_.wait_for([](const SyncStatus& s) { return s.rows_pulled == 3 + 3 * 4; });
  ASSERT_TRUE(s) << "the cycle's 3 rows and the polls' 12";
  EXPECT_EQ(s->state, SyncState::idle);
  std::lock_guard lock(polls_.mutex);
  for (auto wait : polls_.waits) EXPECT_EQ(wait, 25s) << "the default wait";
}

TEST_F(SyncEngineLiveTest, APollNeverOutlivesTheNextScheduledCycle) {
  ClientOptions o = fast_options();
  o.sync_interval = 2500ms;
  make_live_engine(o);
  engine_->start();
  ASSERT_TRUE(wait_until_holding());
  engine_->stop();
  std::lock_guard lock(polls_.mutex);
  ASSERT_FALSE(polls_.waits.empty());
  EXPECT_GE(polls_.waits.front(), 1s);
  EXPECT_LE(polls_.waits.front(), 2s) << "whole seconds left before the cycle is due";
}

TEST_F(SyncEngineLiveTest, ALocalWriteCancelsThePollPushesAfterTheDebounceAndReopens) {
  make_live_engine();
  engine_->start();
  ASSERT_TRUE(wait_until_holding());
  const int polls_before = polls_.calls;
  engine_->notify_local_write();
  for (int i = 0;
       i < 30'000 && (cycles_.runs < 2 || polls_.calls == polls_before || polls_.holding == 0);
       ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(cycles_.runs.load(), 2) << "the write was pushed by a cycle";
  EXPECT_EQ(polls_.calls.load(), polls_before + 1) << "then the poll reopened";
  EXPECT_EQ(polls_.holding.load(), 1);
  EXPECT_EQ(engine_->status().state, SyncState::idle) << "a cancelled poll is no failure";
}

TEST_F(SyncEngineLiveTest, AFailedPollBacksOffAndNotifyOnlineReopensIt) {
  ClientOptions o = fast_options();
  o.retry.base = 10s;
  o.retry.cap = 10s;
  polls_.offline = true;
  make_live_engine(o);
  engine_->start();
  auto offline =
      recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::offline; });
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->last_error->code, ErrorCode::network);
  EXPECT_TRUE(offline->retry_in);
  engine_->notify_local_write();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(polls_.calls.load(), 1) << "no busy loop: the next try is a cycle, after the backoff";
  EXPECT_EQ(cycles_.runs.load(), 1);

  polls_.offline = false;
  engine_->notify_online();
  ASSERT_TRUE(wait_until_holding());
  EXPECT_EQ(cycles_.runs.load(), 2) << "a cycle first (the writes made offline), then the poll";
  EXPECT_EQ(engine_->status().state, SyncState::idle);
}

TEST_F(SyncEngineLiveTest, AnUnauthenticatedPollPausesUntilANewToken) {
  polls_.offline = true;
  engine_ = std::make_unique<SyncEngine>(
      fast_options(), [this] { return cycles_(); }, [](SyncStatus&) {}, 99,
      [this](std::chrono::seconds wait) -> LiveOutcome {
        if (polls_.offline) {
          ++polls_.calls;
          return {Error{ErrorCode::unauthenticated, "revoked"}};
        }
        return polls_(wait);
      });
  polls_.engine = engine_.get();
  engine_->set_observer([this](const SyncStatus& s) { recorder_(s); });
  engine_->start();
  auto paused = recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::error; });
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->last_error->code, ErrorCode::unauthenticated);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(polls_.calls.load(), 1);
  polls_.offline = false;
  engine_->notify_token_changed();
  ASSERT_TRUE(wait_until_holding());
}

TEST_F(SyncEngineLiveTest, AServerThatAnswersAtOnceWithNothingIsNotPolledInALoop) {
  ClientOptions o = fast_options();
  o.retry.base = 2s;
  o.retry.cap = 2s;
  polls_.answer_empty_at_once = true;
  make_live_engine(o);
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_LE(polls_.calls.load(), 5) << "each early empty answer waits a backoff delay";
  EXPECT_EQ(engine_->status().state, SyncState::idle) << "and is no failure";
}

TEST_F(SyncEngineLiveTest, StopEndsAnOpenPollPromptly) {
  make_live_engine();
  engine_->start();
  ASSERT_TRUE(wait_until_holding());
  const auto started = std::chrono::steady_clock::now();
  engine_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "not the 25 s the poll may hold";
  EXPECT_EQ(polls_.holding.load(), 0);
  EXPECT_EQ(engine_->status().state, SyncState::idle);
  EXPECT_FALSE(engine_->status().last_error);
}

TEST_F(SyncEngineLiveTest, LiveWaitZeroTurnsLiveModeOff) {
  ClientOptions o = fast_options();
  o.live_wait = 0s;
  make_live_engine(o);
  engine_->start();
  ASSERT_TRUE(recorder_.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  std::this_thread::sleep_for(50ms);
  engine_->stop();
  EXPECT_EQ(polls_.calls.load(), 0);
}

}  // namespace
}  // namespace avsync::client

#pragma once
// The background sync engine: one thread that runs sync cycles on a schedule and reports
// its state. It knows nothing of SQLite or HTTP: a cycle is a function, so tests drive
// the engine with scripted cycles (and TSan watches its locking).
//
// Schedule: at start; every sync_interval after a success; `debounce` after a local
// write; at once on notify_online(). After a failure the next try waits a full-jitter
// backoff (never a busy loop); while offline, local writes do not shorten that wait,
// notify_online() does. After `unauthenticated` it waits for notify_token_changed().
//
// Live mode: between cycles, while the last one succeeded, the same thread runs long-polls
// (a LivePull) one after another, each holding at most until the next cycle is due. A local
// write, notify_online() and stop() cancel the poll in flight (live_cancelled()), so a push
// never waits behind it and the poll's page is never applied beside a cycle's pull. A poll
// that fails counts as a failed cycle (state, backoff, the pause after `unauthenticated`),
// and recovery goes through a cycle; a poll the server answers at once with nothing (a
// server that does not hold requests) pauses live mode for a backoff delay.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "avsync/client.hpp"
#include "client/backoff.hpp"

namespace avsync::client {

struct CycleOutcome {
  Result<SyncReport> result;
  std::optional<std::chrono::seconds> retry_after;  // the server asked to wait this long
  std::optional<std::chrono::milliseconds> next_due;  // an operation waits this long to retry
};

// What one long-poll of live mode did.
struct LiveOutcome {
  Result<std::size_t> pulled;  // changes applied: 0 when the wait ran out
  // The page was dropped: another sync moved the replica on while it was in flight
  // (LocalStore::PullMark). The next poll starts at once from where the replica is.
  bool stale = false;
  std::optional<std::chrono::seconds> retry_after;  // the server asked to wait this long
};

class SyncEngine {
 public:
  using Cycle = std::function<CycleOutcome()>;
  // One long-poll that the server holds up to `wait` (whole seconds, 1..60). It must end
  // with ErrorCode::cancelled soon after live_cancelled() becomes true.
  using LivePull = std::function<LiveOutcome(std::chrono::seconds wait)>;
  // Fills the parts of a status that live in the database (pending, failed, last sync).
  using Counts = std::function<void(SyncStatus&)>;

  // Without `live` (or with options.live_wait 0), live mode is off.
  SyncEngine(const ClientOptions& options, Cycle cycle, Counts counts, std::uint64_t seed,
             LivePull live = nullptr);
  ~SyncEngine();  // stop()
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  void start();
  // Wakes the thread and joins it; a cycle in progress finishes first (the cycle's
  // transport is expected to watch `cancelled()`).
  void stop();
  const std::atomic<bool>& cancelled() const { return stopping_; }
  // What the long-poll's transport watches: true from stop(), a local write or
  // notify_online() until the next poll starts.
  const std::atomic<bool>& live_cancelled() const { return live_cancelled_; }

  void notify_local_write();
  void notify_online();
  void notify_token_changed();

  // Records a cycle the app ran itself (Client::sync_once), so status and observer see it.
  void record(const CycleOutcome& outcome);

  SyncStatus status() const;
  void set_observer(std::function<void(const SyncStatus&)> observer);

 private:
  using SteadyClock = std::chrono::steady_clock;
  void run();
  // Requires: `lock` holds mutex_; released while the cycle or the poll runs.
  void run_cycle(std::unique_lock<std::mutex>& lock);
  void run_live_pull(std::unique_lock<std::mutex>& lock, std::chrono::seconds wait);
  // Requires: mutex_ held. Whether a long-poll may run now, leaving aside the pause after
  // an early empty answer: live mode is on, the last cycle succeeded, no cycle is kicked.
  bool live_allowed() const;
  // Requires: mutex_ held. Updates state and schedule from a finished cycle.
  void absorb(const CycleOutcome& outcome, bool schedule);
  // Requires: mutex_ held. The last cycle could not connect (offline, or a TLS failure): a
  // local write then waits for the backoff, since only the network can end it.
  bool connection_failed() const;
  // Sends the current status to the observer. Requires: mutex_ NOT held.
  void publish();

  ClientOptions options_;
  Cycle cycle_;
  Counts counts_;
  LivePull live_;
  Backoff backoff_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> live_cancelled_{false};
  bool running_ = false;
  SyncStatus status_;  // engine-owned fields; counts are filled on read
  int consecutive_failures_ = 0;
  bool waiting_for_token_ = false;
  SteadyClock::time_point scheduled_at_{};
  SteadyClock::time_point kicked_at_ = SteadyClock::time_point::max();
  int early_answers_ = 0;  // consecutive polls answered at once with nothing
  SteadyClock::time_point live_resumes_at_ = SteadyClock::time_point::min();
  std::function<void(const SyncStatus&)> observer_;
  std::mutex observer_call_;  // one observer call at a time, in order
};

}  // namespace avsync::client

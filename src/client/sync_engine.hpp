#pragma once
// The background sync engine: one thread that runs sync cycles on a schedule and reports
// its state. It knows nothing of SQLite or HTTP: a cycle is a function, so tests drive
// the engine with scripted cycles (and TSan watches its locking).
//
// Schedule: at start; every sync_interval after a success; `debounce` after a local
// write; at once on notify_online(). After a failure the next try waits a full-jitter
// backoff (never a busy loop); while offline, local writes do not shorten that wait,
// notify_online() does. After `unauthenticated` it waits for notify_token_changed().

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

class SyncEngine {
 public:
  using Cycle = std::function<CycleOutcome()>;
  // Fills the parts of a status that live in the database (pending, failed, last sync).
  using Counts = std::function<void(SyncStatus&)>;

  SyncEngine(const ClientOptions& options, Cycle cycle, Counts counts, std::uint64_t seed);
  ~SyncEngine();  // stop()
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  void start();
  // Wakes the thread and joins it; a cycle in progress finishes first (the cycle's
  // transport is expected to watch `cancelled()`).
  void stop();
  const std::atomic<bool>& cancelled() const { return stopping_; }

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
  Backoff backoff_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  SyncStatus status_;  // engine-owned fields; counts are filled on read
  int consecutive_failures_ = 0;
  bool waiting_for_token_ = false;
  SteadyClock::time_point scheduled_at_{};
  SteadyClock::time_point kicked_at_ = SteadyClock::time_point::max();
  std::function<void(const SyncStatus&)> observer_;
  std::mutex observer_call_;  // one observer call at a time, in order
};

}  // namespace avsync::client

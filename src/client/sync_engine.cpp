#include "client/sync_engine.hpp"

#include "client/synchronizer.hpp"

namespace avsync::client {

SyncEngine::SyncEngine(const ClientOptions& options, Cycle cycle, Counts counts, std::uint64_t seed)
    : options_(options), cycle_(std::move(cycle)), counts_(std::move(counts)),
      backoff_(options.retry, seed) {}

SyncEngine::~SyncEngine() { stop(); }

void SyncEngine::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  scheduled_at_ = SteadyClock::now();
  kicked_at_ = SteadyClock::time_point::max();
  thread_ = std::thread([this] { run(); });
}

void SyncEngine::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    running_ = false;
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  thread.join();
  stopping_ = false;  // a later sync_once must not see the old cancellation
}

void SyncEngine::notify_local_write() {
  {
    std::lock_guard lock(mutex_);
    if (!running_ || waiting_for_token_ || connection_failed()) return;
    kicked_at_ = std::min(kicked_at_, SteadyClock::now() + options_.debounce);
  }
  wake_.notify_all();
}

bool SyncEngine::connection_failed() const {
  return status_.state == SyncState::offline ||
         (status_.state == SyncState::error && status_.last_error &&
          status_.last_error->code == ErrorCode::tls_failure);
}

void SyncEngine::notify_online() {
  {
    std::lock_guard lock(mutex_);
    consecutive_failures_ = 0;
    waiting_for_token_ = false;
    kicked_at_ = SteadyClock::now();
  }
  wake_.notify_all();
}

void SyncEngine::notify_token_changed() { notify_online(); }

void SyncEngine::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto deadline = std::min(scheduled_at_, kicked_at_);
    if (deadline == SteadyClock::time_point::max()) {
      wake_.wait(lock);  // paused until a new token or notify_online()
      continue;
    }
    if (SteadyClock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    kicked_at_ = SteadyClock::time_point::max();
    const SyncState state_before = status_.state;
    const auto retry_in_before = status_.retry_in;
    status_.state = SyncState::syncing;
    status_.retry_in.reset();
    lock.unlock();
    publish();
    CycleOutcome outcome = cycle_();
    lock.lock();
    if (stopping_ && !outcome.result && outcome.result.error().code == ErrorCode::cancelled) {
      // stop() interrupted the cycle: not a failure of the network or the server, so the
      // status stays what it was before the cycle.
      status_.state = state_before;
      status_.retry_in = retry_in_before;
      lock.unlock();
      publish();
      return;
    }
    absorb(outcome, true);
    lock.unlock();
    publish();
    lock.lock();
  }
}

void SyncEngine::absorb(const CycleOutcome& outcome, bool schedule) {
  const auto now = SteadyClock::now();
  if (outcome.result) {
    const SyncReport& report = *outcome.result;
    consecutive_failures_ = 0;
    status_.state = SyncState::idle;
    status_.last_error.reset();
    status_.retry_in.reset();
    status_.operations_pushed += report.pushed;
    status_.rows_pulled += report.pulled;
    if (!schedule) return;
    auto next = now + options_.sync_interval;
    if (outcome.next_due) next = std::min(next, now + *outcome.next_due);
    scheduled_at_ = next;
    return;
  }
  const Error& error = outcome.result.error();
  status_.last_error = error;
  if (next_step_for(error.code) == NextStep::wait_for_token) {
    status_.state = SyncState::error;
    status_.retry_in.reset();
    if (schedule) {
      waiting_for_token_ = true;
      scheduled_at_ = SteadyClock::time_point::max();
    }
    return;
  }
  ++consecutive_failures_;
  ++status_.retries;
  auto delay = backoff_.next_delay(consecutive_failures_);
  if (outcome.retry_after) delay = std::max<std::chrono::milliseconds>(delay, *outcome.retry_after);
  const bool unreachable = error.code == ErrorCode::network || error.code == ErrorCode::timeout ||
                           error.code == ErrorCode::cancelled;
  status_.state = unreachable ? SyncState::offline : SyncState::error;
  status_.retry_in = delay;
  if (schedule) scheduled_at_ = now + delay;
}

void SyncEngine::record(const CycleOutcome& outcome) {
  {
    std::lock_guard lock(mutex_);
    absorb(outcome, running_);
  }
  publish();
}

SyncStatus SyncEngine::status() const {
  SyncStatus snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot = status_;
  }
  counts_(snapshot);
  return snapshot;
}

void SyncEngine::set_observer(std::function<void(const SyncStatus&)> observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

void SyncEngine::publish() {
  std::lock_guard in_order(observer_call_);
  std::function<void(const SyncStatus&)> observer;
  {
    std::lock_guard lock(mutex_);
    observer = observer_;
  }
  if (observer) observer(status());
}

}  // namespace avsync::client

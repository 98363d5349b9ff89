#include "client/sync_engine.hpp"

#include <algorithm>

#include "client/synchronizer.hpp"

namespace avsync::client {

namespace {

// The most the protocol lets a long-poll wait (§4).
constexpr std::chrono::seconds kMaxLiveWait{60};

}  // namespace

SyncEngine::SyncEngine(const ClientOptions& options, Cycle cycle, Counts counts, std::uint64_t seed,
                       LivePull live)
    : options_(options),
      cycle_(std::move(cycle)),
      counts_(std::move(counts)),
      live_(std::move(live)),
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
    live_cancelled_ = true;
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
    live_cancelled_ = true;  // the push must not wait behind a long-poll
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
    early_answers_ = 0;
    live_resumes_at_ = SteadyClock::time_point::min();
    live_cancelled_ = true;
  }
  wake_.notify_all();
}

void SyncEngine::notify_token_changed() { notify_online(); }

void SyncEngine::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = SteadyClock::now();
    const auto deadline = std::min(scheduled_at_, kicked_at_);
    if (now >= deadline) {
      run_cycle(lock);
      continue;
    }
    auto wake_at = deadline;
    if (live_allowed()) {
      if (now < live_resumes_at_) {
        wake_at = std::min(wake_at, live_resumes_at_);
      } else {
        // A poll never outlives the next cycle's due time, so the schedule holds.
        const auto wait = std::min({options_.live_wait, kMaxLiveWait,
                                    std::chrono::floor<std::chrono::seconds>(deadline - now)});
        if (wait >= std::chrono::seconds(1)) {
          run_live_pull(lock, wait);
          continue;
        }
      }
    }
    if (wake_at == SteadyClock::time_point::max()) {
      wake_.wait(lock);  // paused until a new token or notify_online()
    } else {
      wake_.wait_until(lock, wake_at);
    }
  }
}

void SyncEngine::run_cycle(std::unique_lock<std::mutex>& lock) {
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
    lock.lock();
    return;
  }
  absorb(outcome, true);
  lock.unlock();
  publish();
  lock.lock();
}

bool SyncEngine::live_allowed() const {
  return live_ && options_.live_wait.count() > 0 && status_.state == SyncState::idle &&
         !waiting_for_token_ && kicked_at_ == SteadyClock::time_point::max();
}

void SyncEngine::run_live_pull(std::unique_lock<std::mutex>& lock, std::chrono::seconds wait) {
  live_cancelled_ = false;  // under mutex_: a notify after this point cancels this poll
  lock.unlock();
  const auto started = SteadyClock::now();
  LiveOutcome outcome = live_(wait);
  const auto elapsed = SteadyClock::now() - started;
  lock.lock();
  if (!outcome.pulled) {
    // Cancelled: stop(), a local write or notify_online() ended it; nothing failed.
    if (outcome.pulled.error().code == ErrorCode::cancelled) return;
    absorb(CycleOutcome{std::move(outcome.pulled).error(), outcome.retry_after, std::nullopt},
           true);
    lock.unlock();
    publish();
    lock.lock();
    return;
  }
  if (outcome.stale) return;
  const std::size_t pulled = *outcome.pulled;
  if (pulled == 0 && elapsed < wait / 2) {
    // Nothing, at once: a server that does not hold requests (older than live mode) or one
    // shutting down. Asking again at once would be a busy loop.
    live_resumes_at_ = SteadyClock::now() + backoff_.next_delay(++early_answers_);
    return;
  }
  early_answers_ = 0;
  if (pulled == 0) return;
  status_.rows_pulled += pulled;
  lock.unlock();
  publish();
  lock.lock();
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

#pragma once
// One sync cycle: push every due operation in batches, then pull the feed until caught up
// (docs/protocol.md §10). The engine and sync_once both run cycles through here.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "avsync/client.hpp"
#include "client/backoff.hpp"
#include "client/local_store.hpp"
#include "client/response_decoder.hpp"
#include "client/transport.hpp"
#include "core/clock.hpp"

namespace avsync::client {

// What an error calls for, decided in one place.
enum class NextStep {
  back_off,          // transient: keep the operations queued, try again later
  reject_operation,  // the server refused this operation for good: failed list
  split_batch,       // 413: send fewer operations per request
  stop_and_report,   // our own bug (400) or an incompatible server: stop, say so
  wait_for_token,    // 401: nothing works until the app supplies a new token
};
NextStep next_step_for(ErrorCode code);

// Told the rows each applied page changed (LocalStore::apply_pulled_page), right after the
// page's transaction committed.
using ChangeSink = std::function<void(const std::vector<ChangedRow>&)>;
// Told the cycle's counts so far after each batch recorded and each page applied
// (Client::sync_once's progress).
using ProgressSink = std::function<void(const SyncReport&)>;

class Synchronizer {
 public:
  // `per_operation_backoff` spaces out retries of operations the server answered INTERNAL.
  // `on_changes`, when set, hears of every page applied that changed a row.
  Synchronizer(LocalStore& store, Transport& transport, const ClientOptions& options,
               const Clock& clock, Backoff& per_operation_backoff, ChangeSink on_changes = nullptr)
      : store_(store),
        transport_(transport),
        options_(options),
        clock_(clock),
        backoff_(per_operation_backoff),
        on_changes_(std::move(on_changes)) {}

  // Push, then pull. The pull runs only when every operation sent got an answer: then no
  // pending operation can already be applied on the server, which is what lets a pulled
  // row replace any row without pending operations. Database failures throw.
  Result<SyncReport> run_cycle();

  // Live mode's two halves, so the caller can hold its locks around the second only.
  // poll_changes asks for the page after `since` (from the beginning when nullopt), which
  // the server holds up to `wait` when nothing is newer (§4: wait=0..60); it touches no
  // store. An HTTP error is decoded as in a cycle (retry_after() keeps its Retry-After).
  Result<ChangesPage> poll_changes(const std::optional<std::string>& since,
                                   std::chrono::seconds wait);
  // Applies one page and its cursor in one transaction, as a cycle's pull does, and tells
  // `on_changes`. Returns the number of changes applied. Database failures throw.
  std::size_t apply_page(const ChangesPage& page);

  // Hears of the cycle's progress from now on (nullptr: no one).
  void set_progress_sink(ProgressSink on_progress) { on_progress_ = std::move(on_progress); }

  // The Retry-After of the last 429 or 503, if it had one.
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }
  // The feed cursor the last acknowledged batch reported (§3), when the server sends one.
  // Nothing depends on it: the pull after a push always starts after its acknowledgements,
  // which is what makes it reflect them, and cursors are opaque, so it is never compared.
  const std::optional<std::string>& batch_cursor() const { return batch_cursor_; }

 private:
  Status push(SyncReport& report);
  Status pull(SyncReport& report);
  std::string changes_path(const std::optional<std::string>& since) const;

  LocalStore& store_;
  Transport& transport_;
  const ClientOptions& options_;
  const Clock& clock_;
  Backoff& backoff_;
  ChangeSink on_changes_;
  ProgressSink on_progress_;
  std::optional<std::chrono::seconds> retry_after_;
  std::optional<std::string> batch_cursor_;
};

}  // namespace avsync::client

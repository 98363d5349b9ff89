#pragma once
// One sync cycle: push every due operation in batches, then pull the feed until caught up
// (docs/protocol.md §10). The engine and sync_once both run cycles through here.

#include <chrono>
#include <optional>

#include "avsync/client.hpp"
#include "client/backoff.hpp"
#include "client/local_store.hpp"
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

class Synchronizer {
 public:
  // `per_operation_backoff` spaces out retries of operations the server answered INTERNAL.
  Synchronizer(LocalStore& store, Transport& transport, const ClientOptions& options,
               const Clock& clock, Backoff& per_operation_backoff)
      : store_(store), transport_(transport), options_(options), clock_(clock),
        backoff_(per_operation_backoff) {}

  // Push, then pull. The pull runs only when every operation sent got an answer: then no
  // pending operation can already be applied on the server, which is what lets a pulled
  // row replace any row without pending operations. Database failures throw.
  Result<SyncReport> run_cycle();

  // The Retry-After of the last 429 or 503, if it had one.
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

 private:
  Status push(SyncReport& report);
  Status pull(SyncReport& report);

  LocalStore& store_;
  Transport& transport_;
  const ClientOptions& options_;
  const Clock& clock_;
  Backoff& backoff_;
  std::optional<std::chrono::seconds> retry_after_;
};

}  // namespace avsync::client

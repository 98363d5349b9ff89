#pragma once
// The protocol's batch semantics (docs/protocol.md §3) and change feed (§4), once, over any
// Store. Synchronous and unaware of HTTP: the HTTP layer decides which thread runs it.

#include <span>
#include <vector>

#include "core/clock.hpp"
#include "core/codec.hpp"
#include "core/wire.hpp"
#include "server/auth.hpp"
#include "store/store.hpp"

namespace avsync::server {

class Metrics;

// What a batch did: one result per operation, and the tenant's feed version once its
// last transaction committed (the batch answer's write checkpoint, §3).
struct BatchOutcome {
  std::vector<OperationResult> results;
  std::uint64_t version = 0;
};

// A GET /sync/changes page, encoded.
struct ChangesPage {
  std::string body;
  std::size_t rows = 0;
  bool has_more = false;
  std::uint64_t latest_version = 0;  // the tenant's newest change version when it was read
};

// An operator's answer to a failed operation (the operations console, docs/protocol.md §7.4).
struct ConflictResolution {
  enum class Choice { apply_client, keep_server };
  std::string business_id;
  std::string operation_id;  // the failed operation
  Choice choice;
  std::string by;       // who resolves, as the operator names themself
  std::string address;  // the operator's client address, for the audit
};

// "apply_client" or "keep_server", as the API and the audit spell it.
std::string_view to_wire(ConflictResolution::Choice choice);

class SyncService {
 public:
  // `commits`, when given, hears of every transaction this service commits (the tenant and
  // its new version), at once, so this server's long-polls wake without the store's watch.
  // `metrics`, when given, counts every operation's outcome.
  SyncService(store::Store& store, const Clock& clock, store::ChangeSink* commits = nullptr,
              Metrics* metrics = nullptr)
      : store_(store), clock_(clock), commits_(commits), metrics_(metrics) {}

  // Applies the operations in order, each atomic on its own behind a savepoint, in one
  // store transaction (one durable commit) per store::max_operations_per_transaction()
  // operations (all of them when the store sets no limit). Returns one result per
  // operation once all are durable, and the version they left the feed at; a failed operation is a
  // result, never an exception. A failed operation's fields and message are cut to
  // kFailedFieldMaxBytes (core/validation.hpp) in the result and in the log. When the database
  // refuses a value of one operation (store::DataRejected), that transaction's operations are
  // applied again one at a time (one commit each), so only that operation fails, with
  // validation_error. Throws store::Unavailable when the store cannot be reached and
  // another std::exception for any other store failure; the transactions committed before
  // it stay applied (each operation is atomic on its own, and a retry of the batch is
  // answered from the log).
  BatchOutcome apply_batch(const RequestContext& context, const std::vector<Operation>& operations);

  // Settles a failed operation once, in one store transaction that also records the
  // resolution (who, when, what, from where) for the audit. keep_server writes no row.
  // apply_client writes the operation's logged fields as a new write of the server's own,
  // time-stamped now, through the rules a batch follows (validation, references, the feed
  // version, live-sync announcement), logged as an applied operation with a fresh UUID:
  // an insert whose row exists updates it with the payload's fields, an update whose row
  // is missing inserts it, a delete deletes. Outcomes, as values: the resolution (its
  // version is the feed version apply_client wrote, or nullopt when nothing was written);
  // not_found when the tenant has no failed operation with this id; conflict when it was
  // resolved already, or when apply_client cannot be applied (the row was deleted, or is
  // still referenced, or has a write newer than now); validation_error when the logged
  // fields do not make a valid write (an update's fields lacking what an insert requires,
  // a payload the log kept cut). Nothing changes unless it succeeds. Throws like
  // apply_batch when the store fails.
  Result<store::ResolutionRecord> resolve_conflict(const ConflictResolution& request);

  // The caller's page of its compacted change feed (§4), streamed from one snapshot into the
  // response body as it is read (merge_changes, ChangesEncoder). The feed's rules, once:
  // a full sync (no since) leaves tombstones out, and a cursor past the tenant's newest
  // change is refused (bad_request): versions only grow, so this tenant's feed never issued
  // it (another tenant's cursor, or a database restored from a backup), and serving it would
  // silently skip changes until the counter caught up. Throws when the store fails.
  Result<ChangesPage> read_changes(const RequestContext& context, const ChangesRequest& request);

 private:
  struct Prepared;
  // One store transaction for all of `prepared`. Throws store::DataRejected (nothing
  // applied) when the database refuses one of their values. Records the committed version
  // in `version`.
  std::vector<OperationResult> apply_together(const RequestContext& context,
                                              std::span<const Prepared> prepared,
                                              std::uint64_t& version);
  // One store transaction per operation; an operation the database refuses fails alone.
  std::vector<OperationResult> apply_one_at_a_time(const RequestContext& context,
                                                   std::span<const Prepared> prepared,
                                                   std::uint64_t& version);
  // Commits `tx`, records the tenant's version in `version`, and tells `commits_` when the
  // transaction moved it past `before` (its version when it began).
  void commit(const RequestContext& context, store::BatchTransaction& tx, std::uint64_t before,
              std::uint64_t& version);

  store::Store& store_;
  const Clock& clock_;
  store::ChangeSink* commits_;
  Metrics* metrics_;
};

}  // namespace avsync::server

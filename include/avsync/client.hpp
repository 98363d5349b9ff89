#pragma once
// The avsync client SDK: an offline-first replica of one seller's data on the device.
//
// Every write lands in a local SQLite file (the replica and the operation queue change in
// one durable transaction), so the app reads its own writes at once and nothing is lost
// when the app is killed. Syncing pushes the queue to the server in batches and pulls
// what changed, either on demand (sync_once) or from a background engine (start).
//
// Threading: a Client is thread-safe. Reads and writes block on the local database only
// (never on the network); sync_once blocks on the network. Observer callbacks run on the
// engine's thread and must not call stop(). Change observers run on the thread that applied
// the pulled page (see set_change_observer).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "avsync/error.hpp"

namespace avsync {

// Field name -> value as text (decimals "150.50", timestamps ISO-8601, ids UUID text);
// nullopt is null. Entities and their fields are docs/protocol.md §5.
using FieldValues = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Whether a row read from the replica still has local changes the server has not taken.
enum class RowSyncState {
  synced,   // the server holds this state (or no local change is waiting)
  pending,  // local changes are queued and not yet acknowledged
  failed,   // the server rejected a local change; see failed operations
};

struct Row {
  std::string entity;  // wire name: customers, sales, sale_items, abonos, distribuciones
  std::string id;
  FieldValues fields;  // every field of the entity, in schema order
  std::string created_at;
  std::string updated_at;
  RowSyncState sync_state = RowSyncState::synced;

  // The field's value (nullopt for null); nullptr when the entity has no such field.
  const std::optional<std::string>* field(std::string_view name) const;
};

struct ListQuery {
  std::vector<std::pair<std::string, std::string>> equals;  // field == value, all must hold
  std::size_t limit = 100;
  std::size_t offset = 0;
};

enum class OperationStatus { pending, failed };

// One local write waiting in the queue, or rejected by the server.
struct QueuedOperation {
  std::int64_t sequence = 0;  // queue order
  std::string operation_id;
  std::string entity;
  std::string action;  // insert | update | delete
  std::string entity_id;
  std::string payload;  // JSON object text
  std::string client_timestamp;
  OperationStatus status = OperationStatus::pending;
  int attempts = 0;                     // times the server answered with a retryable error
  std::optional<std::string> next_attempt_at;  // not sent again before this instant
  std::optional<Error> last_error;
};

// Exponential backoff with full jitter: the n-th consecutive failure waits a uniformly
// random time in [0, min(cap, base * 2^(n-1))].
struct RetryPolicy {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{5 * 60 * 1000};
  // An operation the server answered with a retryable error (INTERNAL) this many times
  // moves to the failed list. Network failures never fail an operation: offline is normal.
  int max_retries = 8;
};

struct ClientOptions {
  std::string data_path = "avsync-client.db";  // the device's SQLite file
  // When false, open() fails with not_configured if the data file does not exist, and
  // creates nothing (the CLI opens this way for every command but `init`).
  bool create_if_missing = true;
  std::size_t batch_size = 100;                // operations per POST /sync/batch
  // Changes per GET /sync/changes page (the server caps it at 10,000). Larger pages make
  // an initial sync faster and cost about 3 KB of memory per change.
  std::size_t pull_page_size = 5000;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  RetryPolicy retry;
  std::chrono::milliseconds sync_interval{30'000};  // engine: periodic sync
  std::chrono::milliseconds debounce{500};          // engine: delay after a local write
  // Engine, live mode: while the last sync reached the server, one GET /sync/changes stays
  // open with `wait=live_wait` (whole seconds; above 60 counts as 60) so another device's change
  // arrives within moments instead of at the next sync_interval. 0 turns live mode off.
  std::chrono::seconds live_wait{25};
  // A PEM bundle to verify the server with instead of the system's. Verification is
  // always on.
  std::string ca_file;
};

enum class SyncState { idle, syncing, error, offline };

struct SyncStatus {
  SyncState state = SyncState::idle;
  std::size_t pending = 0;  // operations waiting to be pushed
  std::size_t failed = 0;   // operations the server rejected
  bool configured = false;  // a server URL and token are stored (configure)
  std::optional<std::string> last_sync_at;  // last complete push + pull (ISO-8601)
  std::optional<Error> last_error;          // why the last attempt failed
  std::optional<std::chrono::milliseconds> retry_in;  // engine: the backoff delay chosen
  // Counters of the data file since it was created, kept in it (so a new process, e.g.
  // `avsync status`, reports them): operations the server acknowledged, rows applied from
  // the feed, and sync attempts that failed and were rescheduled.
  std::uint64_t operations_pushed = 0;
  std::uint64_t rows_pulled = 0;
  std::uint64_t retries = 0;
};

// A row that a pull changed in the replica, as set_change_observer reports it.
enum class ChangeAction {
  upsert,  // the row is new or its fields changed: read it with get()
  remove,  // the row was deleted (the feed's "delete")
};

struct ChangedRow {
  std::string entity;  // wire name: customers, sales, sale_items, abonos, distribuciones
  std::string id;
  ChangeAction action = ChangeAction::upsert;
};

// "upsert" or "delete", as the feed spells them.
inline std::string_view to_string(ChangeAction action) {
  return action == ChangeAction::remove ? "delete" : "upsert";
}

// What one sync cycle did.
struct SyncReport {
  std::size_t pushed = 0;    // operations the server acknowledged
  std::size_t rejected = 0;  // operations that moved to the failed list
  std::size_t pulled = 0;    // changes applied from the feed
  std::size_t pending = 0;   // operations still queued (in backoff or written meanwhile)
};

class Client {
 public:
  // Opens (creating unless options.create_if_missing is false, and migrating) the data
  // file. Fails with local_storage when the file cannot be opened or is not an avsync
  // database, and with not_configured when it does not exist and may not be created.
  static Result<std::unique_ptr<Client>> open(ClientOptions options);
  ~Client();  // stops the engine; pending operations stay in the file
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Stores the server URL (http:// or https://) and bearer token in the data file.
  // Changing the server of a file that already synced is a validation_error: its replica
  // belongs to the old one (a different account on the same server cannot be told apart
  // from a new token, so do not reuse a data file across accounts). A new token resumes
  // an engine paused by UNAUTHENTICATED.
  Status configure(std::string_view server_url, std::string_view token);

  // Local writes: validate (validation_error naming the field), check the replica
  // (insert of an existing id: conflict; update/delete of a missing row: not_found; a
  // foreign key to a row not in the replica: validation_error; delete of a row that live
  // rows reference: conflict), then write the row and enqueue the operation in one
  // durable transaction. `payments` is accepted for `abonos`.
  // insert: a new random id unless `id` is given. Returns the row as stored.
  Result<Row> insert(std::string_view entity, const FieldValues& fields,
                     std::optional<std::string> id = std::nullopt);
  Result<Row> update(std::string_view entity, std::string_view id, const FieldValues& fields);
  Status remove(std::string_view entity, std::string_view id);

  // Reads from the replica. get: not_found when the row does not exist locally.
  Result<Row> get(std::string_view entity, std::string_view id) const;
  // Ordered by created_at, then id. Unknown entity or field: validation_error.
  Result<std::vector<Row>> list(std::string_view entity, const ListQuery& query = {}) const;

  // Queue: pending operations in send order, then failed ones.
  Result<std::vector<QueuedOperation>> queue(std::size_t limit = 1000) const;
  // A failed operation goes back to the end of the queue and its change is applied to the
  // local row again. not_found when no failed operation has this id.
  Status retry(std::string_view operation_id);
  // Drops a failed operation and restores its row from the server's state plus the
  // operations still pending. not_found when no failed operation has this id.
  Status discard(std::string_view operation_id);

  // One cycle on the calling thread: push every due operation, then pull until caught up.
  // Blocks while another sync of the same file runs (in this or another process).
  // Errors: not_configured, network/timeout/unavailable/server_error/rate_limited
  // (offline: nothing lost, try later), unauthenticated, bad_request/bad_response.
  Result<SyncReport> sync_once();
  // The same cycle, telling `on_progress` the counts so far (pending is 0 until the end)
  // after each batch the server answered and each page of the feed applied: the app can
  // show an initial sync's rows as they arrive. It runs on the calling thread, between
  // requests, while the sync holds the data file: it must not call sync_once or stop, and
  // should return quickly. An empty function is no observer.
  Result<SyncReport> sync_once(const std::function<void(const SyncReport&)>& on_progress);

  // The background engine: syncs every sync_interval, `debounce` after a local write and
  // at once after notify_online(); backs off with jitter while offline. Between cycles, while
  // the server is reachable, it keeps a long-poll open (live mode, ClientOptions::live_wait)
  // and applies each page as it comes. start/stop are idempotent; stop waits for a running
  // cycle to end its current request, and ends an open long-poll within about 100 ms.
  void start();
  void stop();
  void notify_online();  // the app saw the network return: retry now, reset the backoff

  SyncStatus status() const;
  // Called (on the engine thread) with each new status. Replaces any previous observer;
  // pass nullptr to remove it.
  void set_observer(std::function<void(const SyncStatus&)> observer);
  // Called after each pulled page is committed to the replica (by the engine's cycles, its
  // live mode, or sync_once) with the rows that page changed, in feed order, never empty.
  // Only pulled changes are reported: not the app's own writes, nor their echo from the
  // server when the row holds what this device wrote. It runs on the thread that applied
  // the page (the engine's, or the one calling sync_once), one call at a time, while that
  // sync holds the data file: it may read (get, list, status) but must not call sync_once
  // or stop, and should return quickly. The vector is valid only during the call. Replaces
  // any previous change observer; pass nullptr to remove it.
  void set_change_observer(std::function<void(const std::vector<ChangedRow>&)> observer);

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Asks the server whether it takes `token`, with one GET /sync/changes?limit=1, touching no
// data file (`avsync init` checks this way before it stores anything). Only the options'
// timeouts and ca_file are used. Blocks on the network.
// Ok: the server answered as an avsync server and accepted the token. Errors:
// - validation_error: the URL is not http:// or https://, or the token is not one token;
// - unauthenticated: the server refused the token (its message says why);
// - tls_failure: no secure connection (an untrusted certificate, or https:// to a server
//   that speaks plain HTTP);
// - bad_response: what answers there is not an avsync server;
// - network, timeout, unavailable, server_error, rate_limited: nothing could be checked.
Status check_server(std::string_view server_url, std::string_view token,
                    const ClientOptions& options = {});

std::string_view to_string(SyncState state);       // "idle", "syncing", "error", "offline"
std::string_view to_string(RowSyncState state);    // "synced", "pending", "failed"
std::string_view to_string(ErrorCode code);        // wire spelling, e.g. "VALIDATION_ERROR"

}  // namespace avsync

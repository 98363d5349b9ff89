#pragma once
// The device's SQLite file: the replica of the five entities, the server's last known
// state of every row, the operation queue and the sync state (docs/architecture.md,
// "client").
//
// Invariant: a visible row is its server state with the row's pending operations applied
// on top, in queue order. The server state of a row with queued operations is kept in
// server_rows; for every other row the visible row is the server state. Local writes keep it by writing both in one transaction; the
// pull keeps it by leaving rows with pending operations alone; a rejection restores it by
// rebuilding the row from the server state.
//
// One LocalStore is one connection: not thread-safe, use one per thread. Database
// failures throw sqlite::Failure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "avsync/client.hpp"
#include "core/timestamp.hpp"
#include "core/validation.hpp"
#include "sqlite/database.hpp"

namespace avsync::client {

// A change pulled from the feed, decoded.
struct PulledChange {
  const EntitySpec* entity;
  std::string entity_id;
  bool deleted;
  std::vector<std::optional<std::string>> values;  // per entity field (upsert)
  std::string created_at;
  std::string updated_at;
};

// An operation ready to send: its JSON element of `operations`.
struct OutgoingOperation {
  std::int64_t sequence;
  std::string operation_id;
  std::string body;
  int attempts;
};

// What the server said about one sent operation, as the queue records it.
struct OperationOutcome {
  std::int64_t sequence;
  enum class Kind { acknowledged, rejected, retry_later } kind;
  std::optional<Error> error;
  UnixMillis next_attempt_at = 0;  // retry_later
};

class LocalStore {
 public:
  // Which of a Client's two connections this is; it sizes the page cache and the WAL.
  enum class Connection {
    // The app's reads and single writes: 4 MiB of page cache, SQLite's checkpoint of the
    // WAL every 1000 pages.
    app,
    // Sync cycles: 32 MiB of page cache and a checkpoint every 8000 pages (32 MiB of WAL).
    // An initial sync touches thousands of leaves of the replica's UUID indexes per page of
    // the feed; leaves that do not fit in the cache are written to the WAL and read back
    // within the transaction, and each checkpoint writes every leaf touched since the last
    // one again. Pages are allocated as they are used, so a small replica never fills the
    // cache.
    sync,
  };

  // Opens or creates the file and brings its schema up to date.
  explicit LocalStore(const std::string& path, Connection connection = Connection::app);

  // --- settings: server_url, token, cursor, last_sync_at, last_error_code/message
  std::optional<std::string> setting(std::string_view key);
  void set_setting(std::string_view key, std::string_view value);
  void clear_setting(std::string_view key);

  // --- the file's sync counters, since it was created (SyncStatus): operations
  // acknowledged (record_outcomes) and rows pulled (apply_pulled_page) are counted in the
  // transactions that record them, so they are exact across crashes; retries by the caller.
  static constexpr std::string_view kOperationsPushed = "operations_pushed";
  static constexpr std::string_view kRowsPulled = "rows_pulled";
  static constexpr std::string_view kRetries = "retries";
  std::uint64_t counter(std::string_view key);  // 0 when never counted
  void add_to_counter(std::string_view key, std::int64_t amount);

  // --- local writes. `operation` was validated and `body` is its JSON element; checks the
  // replica, writes the row and enqueues in one IMMEDIATE transaction. Returns the row as
  // written (pending), or nullopt after a delete.
  // Outcomes: conflict, not_found, validation_error (see Client::insert).
  Result<std::optional<Row>> apply_local_write(const ValidOperation& operation, std::string_view operation_id,
                           std::string_view body,
                           std::string_view client_timestamp);

  // --- reads
  std::optional<Row> read_row(const EntitySpec& entity, std::string_view id);
  Result<std::vector<Row>> list_rows(const EntitySpec& entity, const ListQuery& query);
  std::vector<QueuedOperation> queued_operations(std::size_t limit);
  std::size_t count_operations(OperationStatus status);

  // --- queue maintenance by the app
  // not_found when no failed operation has this id.
  Status retry_failed(std::string_view operation_id);
  Status discard_failed(std::string_view operation_id);

  // --- sync
  // Pending operations in queue order, at most `limit`, stopping at the first one whose
  // next attempt is after `now` (operations on one row, and rows referencing it, must keep
  // their order).
  std::vector<OutgoingOperation> due_operations(std::size_t limit, UnixMillis now);
  // The earliest next attempt of a pending operation, if any waits.
  std::optional<UnixMillis> earliest_retry();
  // Records a batch's outcomes in one transaction; rejected rows are rebuilt.
  void record_outcomes(const std::vector<OperationOutcome>& outcomes);
  // Applies a page of changes and stores `cursor` with it, in one transaction. When the
  // page is the last (`caught_up`), rows whose operations were acknowledged are brought
  // to the server's state and those operations are forgotten.
  // Returns the visible rows the page changed, in page order: not a row with pending
  // operations (it keeps its local state), nor one whose acknowledged write comes back with
  // the fields it already shows, nor the delete of a row the replica did not hold.
  std::vector<ChangedRow> apply_pulled_page(const std::vector<PulledChange>& changes,
                                            std::string_view cursor, bool caught_up);

  // Where the next pull starts, and what it must reflect. A page requested under one mark
  // may be applied only under the same mark: a changed cursor means another pull ran
  // meanwhile, and a new acknowledgement means the page may predate a write that
  // caught_up would then take as reflected.
  struct PullMark {
    std::optional<std::string> cursor;
    std::int64_t acknowledged = 0;  // operations acknowledged and not yet pulled back
    bool operator==(const PullMark&) const = default;
  };
  PullMark pull_mark();

  // A row's values as stored (per entity field, then the timestamps).
  struct LocalRow {
    std::vector<std::optional<std::string>> values;
    std::string created_at;
    std::string updated_at;
  };

 private:
  struct FailedOperation {
    std::int64_t sequence;
    const EntitySpec* entity;
    std::string entity_id;
  };
  std::optional<FailedOperation> find_failed(std::string_view operation_id);
  std::optional<LocalRow> load_visible(const EntitySpec& entity, std::string_view id);
  std::optional<LocalRow> load_server_state(const EntitySpec& entity, std::string_view id);
  void write_visible(const EntitySpec& entity, std::string_view id, const LocalRow& row);
  bool delete_visible(const EntitySpec& entity, std::string_view id);  // false: no such row
  void rebuild_row(const EntitySpec& entity, std::string_view id);
  void forget_server_state(const EntitySpec& entity, std::string_view id);
  // Drops the kept server state of a row that has no operations left in the queue.
  void forget_server_state_if_untracked(const EntitySpec& entity, std::string_view id);
  Row to_row(const EntitySpec& entity, std::string_view id, const LocalRow& row,
             RowSyncState state) const;
  RowSyncState row_sync_state(const EntitySpec& entity, std::string_view id);
  void migrate();

  sqlite::Database db_;
};

}  // namespace avsync::client

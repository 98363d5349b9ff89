#pragma once
// The Store interface: everything the server keeps, behind one boundary so SQLite and
// PostgreSQL implement the same contract. The protocol's rules (conflicts, idempotency)
// live in the sync service, once; a store offers the primitives they need, inside one
// transaction per tenant batch.
//
// Threading: a Store is shared by all request threads and is thread-safe. A
// BatchTransaction belongs to one thread for its whole life.
// Errors: expected outcomes are return values. A database failure throws, classified by
// cause: store::Unavailable when retrying later can succeed (the database is unreachable,
// shutting down or busy, a serialisation failure or deadlock); store::DataRejected when the
// database refused a value the batch carries (a client's mistake validation missed);
// another std::exception for anything else (disk error, corruption, a bug of ours).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/schema.hpp"
#include "core/timestamp.hpp"
#include "core/wire.hpp"

namespace avsync::store {

// The store cannot be reached (answered as 503 UNAVAILABLE).
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database refused a value of the batch (PostgreSQL's SQLSTATE class 22, "data
// exception"; SQLite's SQLITE_TOOBIG or SQLITE_MISMATCH). The transaction is aborted:
// nothing of the batch is applied. The caller may retry its operations one at a time to
// find the one at fault.
class DataRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class OperationStatus { processed, failed };

// One row of the tenant's operation log, sync_operations (docs/protocol.md §3.3). The sync
// service bounds what a failed operation logs (see SyncService::apply_batch); a store
// keeps what it is given.
struct OperationRecord {
  std::string operation_id;
  std::string entity;     // as sent (may be unknown)
  std::string action;     // as sent
  std::string entity_id;  // as sent (canonical when valid)
  std::string payload;    // JSON text without server-managed fields
  OperationStatus status;
  std::optional<std::string> error;    // wire code, when failed
  std::optional<std::string> message;  // when failed
  std::optional<std::string> client_timestamp;  // as sent
  std::string processed_at;            // canonical timestamp
};

// A domain row as stored, deleted rows (tombstones) included.
struct StoredRow {
  bool deleted;
  UnixMillis last_write;  // time of the row's last write, for last-write-wins
  std::vector<std::optional<std::string>> values;  // one per EntitySpec field
};

// What a write stores besides the field values.
struct WriteStamp {
  UnixMillis write_time;    // the clamped client time of the write
  std::string_view now;     // canonical server time: created_at / updated_at
  std::uint64_t version;    // from BatchTransaction::next_version()
};

// The operations console (docs/protocol.md §7.2 to §7.5): what an operator reads of every
// tenant, and the record of each conflict an operator resolved.

// How an operator settled a failed operation; kept when the log row is pruned (the audit).
struct ResolutionRecord {
  std::string business_id;
  std::string operation_id;
  std::string resolution;                // "apply_client" or "keep_server"
  std::string by;                        // who, as the operator named themself
  std::string at;                        // canonical timestamp
  std::string address;                   // the operator's client address
  std::optional<std::uint64_t> version;  // apply_client: the feed version it wrote
};

// A row of the operation log with its tenant and its resolution, if any.
struct LoggedOperation {
  std::string business_id;
  OperationRecord record;
  std::optional<ResolutionRecord> resolution;
};

// Where a newest-first listing resumes: strictly after (older than) this row.
struct ListPosition {
  std::string at;  // canonical timestamp
  std::string business_id;
  std::string operation_id;
};

// A search of the operation log, newest first (processed_at, then business id, then
// operation id, all descending). Every filter is optional; together they all hold.
struct OperationSearch {
  std::optional<std::string> business_id;
  std::optional<OperationStatus> status;
  std::optional<std::string> entity;
  std::optional<std::string> error;  // wire code; implies status failed
  std::optional<std::string> from;   // canonical timestamp, inclusive
  std::optional<std::string> to;     // canonical timestamp, exclusive
  std::optional<std::string> operation_id;
  bool unresolved_only = false;  // failed and not resolved (the conflicts)
  std::optional<ListPosition> after;
  std::size_t limit = 100;
};

// A business with its activity over the day before `since`.
struct BusinessSummary {
  std::string id;
  std::string name;
  std::string created_at;                   // canonical timestamp
  std::optional<std::string> last_push_at;  // the newest logged operation's time
  std::int64_t operations_24h = 0;          // logged since `since`, applied or failed
  std::int64_t failed_24h = 0;
  std::int64_t active_tokens = 0;  // neither revoked nor expired
};

// One tenant's batch: one database transaction, one savepoint per operation.
class BatchTransaction {
 public:
  virtual ~BatchTransaction() = default;  // rolls back when not committed

  // A hint: the batch is about to look up these operation ids. A store that pays a round
  // trip per query fetches them all at once. Call before any find_operation.
  virtual void expect_operations(const std::vector<std::string_view>& operation_ids) {}
  // A hint: the batch will read these rows of `entity` (find_row / is_live). A store that
  // pays a round trip per query fetches them at once and keeps them current as it writes.
  virtual void expect_rows(const EntitySpec& entity, const std::vector<std::string_view>& ids) {}
  // The logged status of operation_id in this tenant, or nullopt if never seen (including
  // operations recorded earlier in this batch).
  virtual std::optional<OperationStatus> find_operation(std::string_view operation_id) = 0;
  // Inserts the log row, or replaces it when the operation was logged before (a retry of
  // a failed operation). Requires: no operation savepoint open.
  virtual void record_operation(const OperationRecord& record) = 0;

  // Brackets one operation: keep=false undoes every write made since begin_operation.
  // Requires: an operation writes at most once, and only after deciding it succeeds. The
  // PostgreSQL store relies on it to skip savepoints (one statement is atomic by itself)
  // and throws std::logic_error if it is broken; SQLite takes a real savepoint.
  virtual void begin_operation() = 0;
  virtual void end_operation(bool keep) = 0;

  virtual std::optional<StoredRow> find_row(const EntitySpec& entity, std::string_view id) = 0;
  // True when a row with this id exists in the tenant and is not deleted.
  virtual bool is_live(const EntitySpec& entity, std::string_view id) = 0;
  // How many live rows of `ref.from` point at `id` through `ref.field`.
  virtual std::int64_t count_live_references(const Reference& ref, std::string_view id) = 0;

  // The tenant's next change version. Versions are assigned in commit order per tenant.
  virtual std::uint64_t next_version() = 0;
  virtual void insert_row(const EntitySpec& entity, std::string_view id,
                          const std::vector<std::optional<std::string>>& values,
                          const WriteStamp& stamp) = 0;
  virtual void update_row(const EntitySpec& entity, std::string_view id,
                          const std::vector<std::optional<std::string>>& values,
                          const WriteStamp& stamp) = 0;
  virtual void delete_row(const EntitySpec& entity, std::string_view id,
                          const WriteStamp& stamp) = 0;

  // Makes every recorded operation and write durable before returning. A store shared by
  // several servers also announces the tenant's new version to their change watches
  // (Store::watch_changes), delivered only once the commit is durable.
  virtual void commit() = 0;
  // The tenant's feed version as this transaction sees it: read when it began, raised by
  // each next_version(); after commit(), the version the tenant's feed stands at.
  virtual std::uint64_t version() const = 0;

  // Conflict resolutions (the operations console, docs/protocol.md §7.4). The logged
  // operation `operation_id` of this tenant with every column, or nullopt when never logged.
  virtual std::optional<OperationRecord> read_operation(std::string_view operation_id) = 0;
  // True when this tenant's operation, as logged now, has a resolution (one recorded at or
  // after its log row was processed: a repeat of the operation logged later is undecided).
  // Batches of one tenant are serialised, so the answer holds until this transaction ends.
  virtual bool is_resolved(std::string_view operation_id) = 0;
  // Records the resolution (business_id is this transaction's tenant), written at commit().
  // Requires: !is_resolved(resolution.operation_id), no operation savepoint open.
  virtual void record_resolution(const ResolutionRecord& resolution) = 0;
};

struct ChangeQuery {
  std::uint64_t after_version = 0;   // 0 with no since: a full sync
  std::optional<std::string> changed_since;  // canonical timestamp (ISO `since`)
  bool include_deleted = true;       // false for a full sync: tombstones can be left out
  std::size_t limit = 1000;
};

// One stream of a tenant's changes in ascending version order: one entity's, or the page
// already merged by the database. Read by one thread.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;
  // Moves to the next change: false when there is none. Throws like every store call.
  virtual bool next() = 0;
  // The current change (next() returned true), valid until next() or the snapshot ends.
  virtual std::uint64_t version() const = 0;
  virtual ChangeView view() = 0;
};

// A consistent snapshot of one tenant's feed for one ChangeQuery, open until destroyed.
// Its streams hold the changes after query.after_version (changed at or after
// changed_since; tombstones only when include_deleted), each at most query.limit + 1 of
// them. merge_changes (store/change_feed.hpp) makes the page of them: stores only read.
class ChangeSnapshot {
 public:
  virtual ~ChangeSnapshot() = default;
  // The tenant's newest change version in the snapshot; 0 when it has none.
  virtual std::uint64_t latest_version() const = 0;
  virtual std::span<ChangeStream* const> streams() = 0;
};

struct TokenRecord {
  std::string token_hash;  // hex SHA-256 of the bearer token
  std::string business_id;
  std::string user_id;
  UnixMillis expires_at;
  bool revoked = false;
};

// The length of a token's public id: that many leading hex digits of its hash.
inline constexpr std::size_t kTokenIdLength = 24;

// What the admin API shows of a token: never the token, nor its whole hash.
struct TokenInfo {
  std::string id;  // the first kTokenIdLength hex digits of the token's hash
  std::string business_id;
  std::string user_id;
  UnixMillis expires_at;
  std::string created_at;                 // canonical timestamp
  std::optional<std::string> revoked_at;  // canonical timestamp, when revoked
};

// Where a change watch (Store::watch_changes) reports commits. Called from the watch's own
// thread; implementations are thread-safe and return quickly.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // The tenant's feed reached `version`: a commit by any server on this database, this
  // one's included. Reports may repeat, arrive late, or skip versions.
  virtual void changed(std::string_view business_id, std::uint64_t version) = 0;
  // Commits may have gone unreported (the watch lost its database connection and has it
  // back): whoever waits for a change should look again.
  virtual void maybe_missed() = 0;
  // The tenants someone waits for now; a watch that cannot tell which tenant committed
  // asks for these tenants' versions. Empty: nobody waits, the watch may skip its check.
  virtual std::vector<std::string> watched_tenants() const = 0;
};

// A running change watch; destroying it stops the watch and joins its thread.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies the migrations this store has not recorded yet. Safe to run concurrently.
  virtual void migrate() = 0;
  // True when the database answers.
  virtual bool ping() = 0;

  // Starts a batch for one tenant. Batches of one tenant are serialised.
  virtual std::unique_ptr<BatchTransaction> begin_batch(std::string_view business_id) = 0;
  // The most operations one BatchTransaction should hold; 0: no limit. A store whose one
  // writer serves every tenant (SQLite) keeps transactions short, so another tenant's
  // batch waits for at most one of them rather than for a whole large batch.
  virtual std::size_t max_operations_per_transaction() const { return 0; }

  // Opens a snapshot of the tenant's change feed for `query`; the pull streams its page from
  // it (SyncService::read_changes) and closes it.
  virtual std::unique_ptr<ChangeSnapshot> open_changes(std::string_view business_id,
                                                       const ChangeQuery& query) = 0;

  // One page of the tenant's compacted change feed from one snapshot, held whole (tools,
  // tests): merge_changes's rows copied out. A page with has_more=false resumes at the
  // tenant's latest version; latest_version says what that version is.
  ChangePage read_changes(std::string_view business_id, const ChangeQuery& query);

  // Watches commits of every server on this database, this one's included, and reports
  // them to `sink` from a thread of its own until the handle is destroyed (live sync,
  // docs/protocol.md §4). PostgreSQL: LISTEN/NOTIFY on one connection, reconnected by
  // itself, maybe_missed() after each reconnect. SQLite: polls PRAGMA data_version every
  // few milliseconds and, when the file changed, reads the watched tenants' versions.
  // Never throws once started; `sink` outlives the handle.
  virtual std::unique_ptr<ChangeWatch> watch_changes(ChangeSink& sink) = 0;

  // Business ids are 1 to 128 printable ASCII characters (the caller checks).
  virtual void create_business(std::string_view id, std::string_view name, std::string_view now) = 0;
  // Creates the business unless it exists; true when this call created it. Safe when
  // several requests (or servers) race to create the same id.
  virtual bool ensure_business(std::string_view id, std::string_view name, std::string_view now) = 0;
  virtual bool business_exists(std::string_view id) = 0;
  // Stores the token; its public id is the first kTokenIdLength digits of token_hash.
  virtual void create_token(const TokenRecord& token, std::string_view now) = 0;
  virtual std::optional<TokenRecord> find_token(std::string_view token_hash) = 0;
  // False when no such token exists.
  virtual bool revoke_token(std::string_view token_hash, std::string_view now) = 0;
  // Revokes by public id (TokenInfo::id); false when no such token exists. Revoking twice
  // keeps the first revocation time.
  virtual bool revoke_token_by_id(std::string_view id, std::string_view now) = 0;
  // The business's tokens, revoked and expired ones included, oldest first.
  virtual std::vector<TokenInfo> list_tokens(std::string_view business_id) = 0;

  // Deletes every operation log row, of every tenant, applied or failed, whose
  // processed_at is before `processed_before` (a canonical timestamp, format_timestamp).
  // Returns how many rows it deleted. Works in chunks of kPruneChunkRows rows, each its
  // own short transaction, so batches run between chunks and none waits long. Blocks the
  // calling thread until done; thread-safe.
  // Idempotency holds only inside the window kept: an operation pruned from the log and
  // sent again is evaluated as new (docs/protocol.md §3.2). Resolution records
  // (record_resolution) are the audit and stay.
  virtual std::size_t prune_operations(std::string_view processed_before) = 0;

  // The operations console (docs/protocol.md §7.2 to §7.5). Reads see committed data
  // only; each is one or a few indexed queries. Thread-safe; database failures throw.
  // Businesses in id order after `after_id` (all when empty), at most `limit`, with their
  // activity since `since` (a canonical timestamp) and tokens active at `now`.
  virtual std::vector<BusinessSummary> list_businesses(std::string_view after_id, std::size_t limit,
                                                       std::string_view since, UnixMillis now) = 0;
  // At most search.limit log rows matching every filter, newest first.
  virtual std::vector<LoggedOperation> search_operations(const OperationSearch& search) = 0;
  // The current row (entity, id) of the tenant, tombstones included; nullopt when none.
  virtual std::optional<StoredRow> read_row(std::string_view business_id, const EntitySpec& entity,
                                            std::string_view id) = 0;
  // The current rows of `ids` (lower-case UUIDs) of the tenant, tombstones included, each
  // with its id; an id without a row is left out. PostgreSQL reads them in one query.
  virtual std::vector<std::pair<std::string, StoredRow>> read_rows(
      std::string_view business_id, const EntitySpec& entity, const std::vector<std::string>& ids) {
    std::vector<std::pair<std::string, StoredRow>> out;
    for (const std::string& id : ids)
      if (auto row = read_row(business_id, entity, id)) out.emplace_back(id, std::move(*row));
    return out;
  }
  // Recorded resolutions, newest first (resolved_at, business id, operation id), of one
  // tenant or of all, at most `limit`, strictly after `after` when given.
  virtual std::vector<ResolutionRecord> list_resolutions(
      const std::optional<std::string>& business_id, const std::optional<ListPosition>& after,
      std::size_t limit) = 0;
};

// Rows deleted per transaction by Store::prune_operations.
inline constexpr std::size_t kPruneChunkRows = 1000;

// Hears what a store does that the server's metrics count. Called on the thread doing the
// work, while it does it: an implementation must be thread-safe, cheap and must not throw.
class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // PostgreSQL: a request waited this long for a free pooled connection (only when it had
  // to wait).
  virtual void pool_waited(std::chrono::steady_clock::duration wait) noexcept = 0;
  // SQLite: one group commit made durable this many batches together.
  virtual void group_committed(std::size_t batches) noexcept = 0;
};

struct StoreOptions {
  // Connections: PostgreSQL's pool for every request; SQLite's readers beside its writer.
  std::size_t pool_size = 4;
  // SQLite: the size, in bytes, the write-ahead log is cut back to once a checkpoint has
  // copied it all into the database (PRAGMA journal_size_limit). Without it the WAL keeps
  // its largest size forever.
  std::int64_t sqlite_wal_size_limit = 64 << 20;
  // Not owned; must outlive the store. nullptr: nobody hears.
  StoreObserver* observer = nullptr;
};

// Opens the store a --db URL names: "sqlite:PATH" or "postgresql://..." ("postgres://").
// Throws std::invalid_argument for an unknown scheme.
std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options = {});

}  // namespace avsync::store

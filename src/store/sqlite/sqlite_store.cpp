#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "sqlite/database.hpp"
#include "store/console_sql.hpp"
#include "store/entity_sql.hpp"
#include "store/migrations.hpp"
#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/sqlite_change_watch.hpp"

namespace avsync::store {
namespace {

using sqlite::Database;
using sqlite::Query;

// Translates a driver failure into the store's exception for its cause (store.hpp): a
// database still locked after the busy timeout is "unavailable, retry later" (503); a
// value SQLite refuses (too big, wrong type) is the batch's data; every other failure
// (disk, corruption, a bug of ours) stays what it is, an internal error.
template <typename F>
auto classified(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const sqlite::Failure& e) {
    if (e.is_busy()) throw Unavailable(e.what());
    int primary = e.extended_code() & 0xff;
    if (primary == SQLITE_TOOBIG || primary == SQLITE_MISMATCH) throw DataRejected(e.what());
    throw;
  }
}

// A row of search_operations_sql or read_operation_sql (SearchColumns).
LoggedOperation logged_operation(const Query& q) {
  using C = SearchColumns;
  LoggedOperation out{
      std::string(q.text(C::business_id)),
      OperationRecord{
          std::string(q.text(C::operation_id)), std::string(q.text(C::entity)),
          std::string(q.text(C::action)), std::string(q.text(C::entity_id)),
          std::string(q.text(C::payload)),
          q.text(C::status) == "processed" ? OperationStatus::processed : OperationStatus::failed,
          q.optional_text(C::error), q.optional_text(C::message),
          q.optional_text(C::client_timestamp), std::string(q.text(C::processed_at))},
      std::nullopt};
  if (!q.is_null(C::resolution))
    out.resolution = ResolutionRecord{
        out.business_id,
        out.record.operation_id,
        std::string(q.text(C::resolution)),
        std::string(q.text(C::resolved_by)),
        std::string(q.text(C::resolved_at)),
        std::string(q.text(C::address)),
        q.is_null(C::version) ? std::nullopt : std::optional<std::uint64_t>(q.int64(C::version))};
  return out;
}

void bind_all(Query& q, const std::vector<std::string>& params) {
  for (std::size_t i = 0; i < params.size(); ++i) q.bind(static_cast<int>(i + 1), params[i]);
}

// Connections for readers, each used by one thread at a time.
class ReaderPool {
 public:
  ReaderPool(std::string path, std::size_t size) : path_(std::move(path)), size_(size) {}

  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Database> db) : pool_(pool), db_(std::move(db)) {}
    ~Lease() { pool_.give_back(std::move(db_)); }
    Database& operator*() { return *db_; }
    Database* operator->() { return db_.get(); }

   private:
    ReaderPool& pool_;
    std::unique_ptr<Database> db_;
  };

  Lease take() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(db));
      }
    }
    return Lease(*this, std::make_unique<Database>(path_, Database::Access::read_write));
  }

 private:
  void give_back(std::unique_ptr<Database> db) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < size_) idle_.push_back(std::move(db));
  }

  std::string path_;
  std::size_t size_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Database>> idle_;
};

// A page's snapshot: one reader's read transaction and one statement per entity, each
// walking its (business_id, version) index in order, so the merge reads only the rows the
// page returns (plus one per entity). Rows are read where SQLite holds them.
class SqliteChangeSnapshot final : public ChangeSnapshot {
 public:
  SqliteChangeSnapshot(ReaderPool& readers, const EntityStatements& sql,
                       std::string_view business_id, const ChangeQuery& query)
      : db_(readers.take()), transaction_(*db_, sqlite::Transaction::Lock::deferred) {
    {
      // Reading this first opens the snapshot every query below sees.
      auto q = db_->query("SELECT version FROM businesses WHERE id = ?1");
      q.bind(1, business_id);
      if (q.step()) latest_version_ = static_cast<std::uint64_t>(q.int64(0));
    }
    for (const EntitySpec& entity : all_entities()) {
      const EntitySql& text = sql.of(entity);
      const std::string& statement =
          query.changed_since
              ? (query.include_deleted ? text.changes_since : text.changes_since_live_only)
              : (query.include_deleted ? text.changes : text.changes_live_only);
      auto& stream = streams_.emplace_back(std::make_unique<Stream>(entity, *db_, statement));
      stream->query.bind(1, business_id).bind(2, static_cast<std::int64_t>(query.after_version));
      stream->query.bind(3, static_cast<std::int64_t>(query.limit + 1));
      if (query.changed_since) stream->query.bind(4, *query.changed_since);
      heads_.push_back(stream.get());
    }
  }

  std::uint64_t latest_version() const override { return latest_version_; }
  std::span<ChangeStream* const> streams() override { return heads_; }

 private:
  struct Stream final : ChangeStream {
    Stream(const EntitySpec& e, Database& db, const std::string& sql)
        : entity(&e), query(db.query(sql)), values(e.fields.size()) {}
    bool next() override {
      return classified([&] {
        if (!query.step()) return false;
        current = static_cast<std::uint64_t>(query.int64(2));
        return true;
      });
    }
    std::uint64_t version() const override { return current; }
    ChangeView view() override {
      for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = query.optional_view(kChangesFieldsAt + static_cast<int>(i));
      return {entity,        query.text(0), query.int64(1) != 0, current, query.text(3),
              query.text(4), values};
    }
    const EntitySpec* entity;
    Query query;
    std::uint64_t current = 0;
    std::vector<std::optional<std::string_view>> values;
  };

  // Destroyed in reverse: the statements are reset before the read transaction ends (a
  // rollback, which for a reader is its commit) and the connection goes back to the pool.
  ReaderPool::Lease db_;
  sqlite::Transaction transaction_;
  std::uint64_t latest_version_ = 0;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<ChangeStream*> heads_;
};

class SqliteBatch final : public BatchTransaction {
 public:
  SqliteBatch(GroupCommit::Slot slot, Database& db, const EntityStatements& sql, std::string_view business_id)
      : slot_(std::move(slot)), db_(db), sql_(sql), business_(business_id) {
    auto q = db_.query("SELECT version FROM businesses WHERE id = ?1");
    q.bind(1, business_);
    version_ = q.step() ? static_cast<std::uint64_t>(q.int64(0)) : 0;
  }

  // Every call below translates driver failures (classified): sqlite::Failure never
  // reaches the sync service.
  std::optional<OperationStatus> find_operation(std::string_view operation_id) override {
    return classified([&]() -> std::optional<OperationStatus> {
      auto q = db_.query("SELECT status FROM sync_operations WHERE business_id = ?1 AND operation_id = ?2");
      q.bind(1, business_).bind(2, operation_id);
      if (!q.step()) return std::nullopt;
      return q.text(0) == "processed" ? OperationStatus::processed : OperationStatus::failed;
    });
  }

  void record_operation(const OperationRecord& r) override {
    classified([&] { record(r); });
  }

  // Cached statements rather than exec(): these run twice per operation.
  void begin_operation() override {
    classified([&] { db_.query("SAVEPOINT op").run(); });
  }
  void end_operation(bool keep) override {
    classified([&] {
      if (!keep) db_.query("ROLLBACK TO op").run();
      db_.query("RELEASE op").run();
    });
  }

  std::optional<StoredRow> find_row(const EntitySpec& entity, std::string_view id) override {
    return classified([&] { return read_row(entity, id); });
  }

  bool is_live(const EntitySpec& entity, std::string_view id) override {
    return classified([&] {
      auto q = db_.query(sql_.of(entity).select_live);
      q.bind(1, business_).bind(2, id);
      return q.step();
    });
  }

  std::int64_t count_live_references(const Reference& ref, std::string_view id) override {
    return classified([&] {
      auto q = db_.query(sql_.count_references(ref));
      q.bind(1, business_).bind(2, id);
      q.step();
      return q.int64(0);
    });
  }

  std::uint64_t next_version() override { return ++version_; }

  void insert_row(const EntitySpec& entity, std::string_view id,
                  const std::vector<std::optional<std::string>>& values,
                  const WriteStamp& stamp) override {
    classified([&] { write(sql_.of(entity).insert_row, id, values, stamp); });
  }

  void update_row(const EntitySpec& entity, std::string_view id,
                  const std::vector<std::optional<std::string>>& values,
                  const WriteStamp& stamp) override {
    classified([&] { write(sql_.of(entity).update_row, id, values, stamp); });
  }

  void delete_row(const EntitySpec& entity, std::string_view id, const WriteStamp& stamp) override {
    classified([&] {
      auto q = db_.query(sql_.of(entity).delete_row);
      bind_stamp(q, id, stamp);
      q.run();
    });
  }

  void commit() override {
    classified([&] {
      {
        auto q = db_.query("UPDATE businesses SET version = ?2 WHERE id = ?1 AND version < ?2");
        q.bind(1, business_).bind(2, static_cast<std::int64_t>(version_));
        q.run();
      }  // the statement is reset here, while this batch still owns the connection
      slot_.commit();
    });
  }

  std::uint64_t version() const override { return version_; }

  std::optional<OperationRecord> read_operation(std::string_view operation_id) override {
    return classified([&]() -> std::optional<OperationRecord> {
      auto q = db_.query(read_operation_sql(Placeholders::sqlite));
      q.bind(1, business_).bind(2, operation_id);
      if (!q.step()) return std::nullopt;
      return logged_operation(q).record;
    });
  }

  bool is_resolved(std::string_view operation_id) override {
    return classified([&] {
      auto q = db_.query(
          "SELECT 1 FROM conflict_resolutions r JOIN sync_operations o ON o.business_id ="
          " r.business_id AND o.operation_id = r.operation_id WHERE r.business_id = ?1 AND"
          " r.operation_id = ?2 AND r.resolved_at >= o.processed_at");
      q.bind(1, business_).bind(2, operation_id);
      return q.step();
    });
  }

  void record_resolution(const ResolutionRecord& r) override {
    classified([&] {
      auto q = db_.query(insert_resolution_sql(Placeholders::sqlite));
      q.bind(1, business_)
          .bind(2, r.operation_id)
          .bind(3, r.resolution)
          .bind(4, r.by)
          .bind(5, r.at);
      q.bind(6, r.address);
      if (r.version)
        q.bind(7, static_cast<std::int64_t>(*r.version));
      else
        q.bind_null(7);
      q.run();
    });
  }

 private:
  void record(const OperationRecord& r) {
    auto q = db_.query(
        "INSERT INTO sync_operations (business_id, operation_id, entity, action, entity_id, payload,"
        " status, error, message, client_timestamp, processed_at, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
        " ON CONFLICT (business_id, operation_id) DO UPDATE SET entity = excluded.entity,"
        " action = excluded.action, entity_id = excluded.entity_id, payload = excluded.payload,"
        " status = excluded.status, error = excluded.error, message = excluded.message,"
        " client_timestamp = excluded.client_timestamp, processed_at = excluded.processed_at");
    q.bind(1, business_).bind(2, r.operation_id).bind(3, r.entity).bind(4, r.action);
    q.bind(5, r.entity_id).bind(6, r.payload).bind(7, status_text(r.status)).bind_nullable(8, r.error);
    q.bind_nullable(9, r.message).bind_nullable(10, r.client_timestamp).bind(11, r.processed_at);
    q.run();
  }

  std::optional<StoredRow> read_row(const EntitySpec& entity, std::string_view id) {
    auto q = db_.query(sql_.of(entity).select_row);
    q.bind(1, business_).bind(2, id);
    if (!q.step()) return std::nullopt;
    StoredRow row{q.int64(0) != 0, q.int64(1), {}};
    row.values.reserve(entity.fields.size());
    for (std::size_t i = 0; i < entity.fields.size(); ++i)
      row.values.push_back(q.optional_text(kSelectRowFieldsAt + static_cast<int>(i)));
    return row;
  }

  void bind_stamp(Query& q, std::string_view id, const WriteStamp& stamp) {
    q.bind(1, business_).bind(2, id).bind(3, stamp.now).bind(4, stamp.write_time);
    q.bind(5, static_cast<std::int64_t>(stamp.version));
  }

  void write(const std::string& sql, std::string_view id,
             const std::vector<std::optional<std::string>>& values, const WriteStamp& stamp) {
    auto q = db_.query(sql);
    bind_stamp(q, id, stamp);
    for (std::size_t i = 0; i < values.size(); ++i) q.bind_nullable(6 + static_cast<int>(i), values[i]);
    q.run();
  }

  GroupCommit::Slot slot_;  // first member: ends the batch's turn last
  Database& db_;
  const EntityStatements& sql_;
  std::string business_;
  std::uint64_t version_ = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const StoreOptions& options)
      : path_(path),
        writer_(path, Database::Access::read_write),
        groups_(writer_, {.committed =
                              [observer = options.observer](std::size_t batches) {
                                if (observer) observer->group_committed(batches);
                              }}),
        readers_(path, std::max<std::size_t>(1, options.pool_size)) {
    // The writer touches index pages all over the file; a larger cache than SQLite's
    // 2 MiB default saves re-reading them on every batch. Readers keep the default.
    // Checkpoints run on their own thread (below), not inside the writer's commits. Once a
    // checkpoint has copied the whole WAL into the database, the writer starts it over
    // from the beginning, and journal_size_limit cuts the file back at that commit: without
    // it the WAL keeps the size of its largest burst forever.
    writer_.exec("PRAGMA cache_size=-8192; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=" +
                 std::to_string(options.sqlite_wal_size_limit));
    checkpointer_ = std::thread([this, path] { checkpoint_until_stopped(path); });
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(checkpoint_mutex_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }

  // About 5 to 10 ms of writer time: what another tenant's batch may wait for at most.
  std::size_t max_operations_per_transaction() const override { return 100; }

  void migrate() override {
    auto slot = groups_.join();
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    std::int64_t applied = 0;
    {
      auto q = writer_.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
      q.step();
      applied = q.int64(0);
    }
    for (const Migration& m : sqlite_migrations()) {
      if (m.version <= applied) continue;
      writer_.exec(m.sql);
      auto q = writer_.query(
          "INSERT INTO schema_migrations (version, name, applied_at)"
          " VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
      q.bind(1, static_cast<std::int64_t>(m.version)).bind(2, m.name);
      q.run();
    }
    slot.commit();
  }

  bool ping() override {
    try {
      auto db = readers_.take();
      auto q = db->query("SELECT count(*) FROM schema_migrations");
      return q.step();
    } catch (const std::exception&) {
      return false;
    }
  }

  std::unique_ptr<BatchTransaction> begin_batch(std::string_view business_id) override {
    return classified([&]() -> std::unique_ptr<BatchTransaction> {
      return std::make_unique<SqliteBatch>(groups_.join(business_id), writer_, sql_, business_id);
    });
  }

  std::unique_ptr<ChangeSnapshot> open_changes(std::string_view business_id,
                                               const ChangeQuery& query) override {
    return classified(
        [&] { return std::make_unique<SqliteChangeSnapshot>(readers_, sql_, business_id, query); });
  }

  std::unique_ptr<ChangeWatch> watch_changes(ChangeSink& sink) override {
    return watch_sqlite_changes(path_, sink);
  }

  void create_business(std::string_view id, std::string_view name, std::string_view now) override {
    auto slot = groups_.join();
    {
      auto q = writer_.query("INSERT INTO businesses (id, name, created_at) VALUES (?1, ?2, ?3)");
      q.bind(1, id).bind(2, name).bind(3, now);
      q.run();
    }
    slot.commit();
  }

  bool ensure_business(std::string_view id, std::string_view name, std::string_view now) override {
    return classified([&] {
      auto slot = groups_.join();
      bool created;
      {
        auto q = writer_.query("INSERT OR IGNORE INTO businesses (id, name, created_at) VALUES (?1, ?2, ?3)");
        q.bind(1, id).bind(2, name).bind(3, now);
        created = q.run() > 0;
      }
      slot.commit();
      return created;
    });
  }

  bool business_exists(std::string_view id) override {
    auto db = readers_.take();
    auto q = db->query("SELECT 1 FROM businesses WHERE id = ?1");
    q.bind(1, id);
    return q.step();
  }

  void create_token(const TokenRecord& t, std::string_view now) override {
    auto slot = groups_.join();
    {
      auto q = writer_.query(
          "INSERT INTO auth_tokens (token_hash, business_id, user_id, expires_at_ms, created_at, id)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      q.bind(1, t.token_hash).bind(2, t.business_id).bind(3, t.user_id).bind(4, t.expires_at);
      q.bind(5, now).bind(6, std::string_view(t.token_hash).substr(0, kTokenIdLength));
      q.run();
    }
    slot.commit();
  }

  std::optional<TokenRecord> find_token(std::string_view token_hash) override {
    auto db = readers_.take();
    auto q = db->query(
        "SELECT business_id, user_id, expires_at_ms, revoked_at IS NOT NULL FROM auth_tokens"
        " WHERE token_hash = ?1");
    q.bind(1, token_hash);
    if (!q.step()) return std::nullopt;
    return TokenRecord{std::string(token_hash), std::string(q.text(0)), std::string(q.text(1)),
                       q.int64(2), q.int64(3) != 0};
  }

  bool revoke_token(std::string_view token_hash, std::string_view now) override {
    auto slot = groups_.join();
    bool found;
    {
      auto q = writer_.query(
          "UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE token_hash = ?1");
      q.bind(1, token_hash).bind(2, now);
      found = q.run() > 0;
    }
    slot.commit();
    return found;
  }

  bool revoke_token_by_id(std::string_view id, std::string_view now) override {
    return classified([&] {
      auto slot = groups_.join();
      bool found;
      {
        auto q = writer_.query("UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1");
        q.bind(1, id).bind(2, now);
        found = q.run() > 0;
      }
      slot.commit();
      return found;
    });
  }

  std::vector<TokenInfo> list_tokens(std::string_view business_id) override {
    return classified([&] {
      auto db = readers_.take();
      auto q = db->query("SELECT id, user_id, expires_at_ms, created_at, revoked_at FROM auth_tokens"
                         " WHERE business_id = ?1 ORDER BY created_at, id");
      q.bind(1, business_id);
      std::vector<TokenInfo> out;
      while (q.step())
        out.push_back({std::string(q.text(0)), std::string(business_id), std::string(q.text(1)), q.int64(2),
                       std::string(q.text(3)), q.optional_text(4)});
      return out;
    });
  }

  // One chunk per turn of the writer: batches queued behind a chunk run before the next.
  std::size_t prune_operations(std::string_view processed_before) override {
    return classified([&] {
      std::size_t total = 0;
      for (;;) {
        auto slot = groups_.join();
        int deleted;
        {
          auto q = writer_.query(
              "DELETE FROM sync_operations WHERE (business_id, operation_id) IN ("
              "SELECT business_id, operation_id FROM sync_operations WHERE processed_at < ?1 LIMIT ?2)");
          q.bind(1, processed_before).bind(2, static_cast<std::int64_t>(kPruneChunkRows));
          deleted = q.run();
        }
        slot.commit();
        total += static_cast<std::size_t>(deleted);
        if (static_cast<std::size_t>(deleted) < kPruneChunkRows) return total;
      }
    });
  }

  std::vector<BusinessSummary> list_businesses(std::string_view after_id, std::size_t limit,
                                               std::string_view since, UnixMillis now) override {
    return classified([&] {
      auto statement = list_businesses_sql(after_id, limit, since, now, Placeholders::sqlite);
      auto db = readers_.take();
      auto q = db->query(statement.sql);
      bind_all(q, statement.params);
      std::vector<BusinessSummary> out;
      while (q.step())
        out.push_back({std::string(q.text(0)), std::string(q.text(1)), std::string(q.text(2)),
                       q.optional_text(3), q.int64(4), q.int64(5), q.int64(6)});
      return out;
    });
  }

  std::vector<LoggedOperation> search_operations(const OperationSearch& search) override {
    return classified([&] {
      auto statement = search_operations_sql(search, Placeholders::sqlite);
      auto db = readers_.take();
      auto q = db->query(statement.sql);
      bind_all(q, statement.params);
      std::vector<LoggedOperation> out;
      while (q.step()) out.push_back(logged_operation(q));
      return out;
    });
  }

  std::optional<StoredRow> read_row(std::string_view business_id, const EntitySpec& entity,
                                    std::string_view id) override {
    return classified([&]() -> std::optional<StoredRow> {
      auto db = readers_.take();
      auto q = db->query(sql_.of(entity).select_row);
      q.bind(1, business_id).bind(2, id);
      if (!q.step()) return std::nullopt;
      StoredRow row{q.int64(0) != 0, q.int64(1), {}};
      for (std::size_t i = 0; i < entity.fields.size(); ++i)
        row.values.push_back(q.optional_text(kSelectRowFieldsAt + static_cast<int>(i)));
      return row;
    });
  }

  std::vector<ResolutionRecord> list_resolutions(const std::optional<std::string>& business_id,
                                                 const std::optional<ListPosition>& after,
                                                 std::size_t limit) override {
    return classified([&] {
      auto statement = list_resolutions_sql(business_id, after, limit, Placeholders::sqlite);
      auto db = readers_.take();
      auto q = db->query(statement.sql);
      bind_all(q, statement.params);
      std::vector<ResolutionRecord> out;
      using C = ResolutionColumns;
      while (q.step())
        out.push_back({std::string(q.text(C::business_id)), std::string(q.text(C::operation_id)),
                       std::string(q.text(C::resolution)), std::string(q.text(C::resolved_by)),
                       std::string(q.text(C::resolved_at)), std::string(q.text(C::address)),
                       q.is_null(C::version) ? std::nullopt
                                             : std::optional<std::uint64_t>(q.int64(C::version))});
      return out;
    });
  }

 private:
  // Copies the WAL back into the database file every 200 ms on a separate connection, so
  // commits only append to the WAL. PASSIVE checkpoints never block the writer or readers.
  void checkpoint_until_stopped(const std::string& path) {
    try {
      Database db(path, Database::Access::read_write);
      std::unique_lock lock(checkpoint_mutex_);
      while (!checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
        lock.unlock();
        db.checkpoint_passive();
        lock.lock();
      }
      lock.unlock();
      db.checkpoint_passive();
    } catch (const std::exception& e) {
      // The WAL then grows until the next start checkpoints it; the data is safe either way.
      std::fprintf(stderr, "avsync: background checkpoint stopped: %s\n", e.what());
    }
  }

  std::string path_;
  Database writer_;
  GroupCommit groups_;
  ReaderPool readers_;
  EntityStatements sql_{Placeholders::sqlite};
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool stopping_ = false;
  std::thread checkpointer_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options) {
  return std::make_unique<SqliteStore>(path, options);
}

}  // namespace avsync::store

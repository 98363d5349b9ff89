#include "store/postgres/pg_store.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "core/ids.hpp"
#include "core/timestamp.hpp"
#include "store/console_sql.hpp"
#include "store/entity_sql.hpp"
#include "store/migrations.hpp"
#include "store/postgres/pg.hpp"
#include "store/postgres/pg_change_watch.hpp"
#include "store/postgres/sqlstate.hpp"

namespace avsync::store {
namespace {

using pg::Connection;
using pg::Params;

// A connection that cannot be opened: "unavailable, retry later" for the client (503).
[[noreturn]] void throw_unavailable(const std::exception& e) { throw Unavailable(e.what()); }

// Translates a driver failure into the store's exception for its cause (sqlstate.hpp):
// pg::Failure never leaves this file.
[[noreturn]] void throw_classified(const pg::Failure& e) {
  if (e.connection_lost()) throw Unavailable(e.what());
  switch (pg::classify_sqlstate(e.sqlstate())) {
    case pg::FailureCause::bad_data: throw DataRejected(e.what());
    case pg::FailureCause::unavailable: throw Unavailable(e.what());
    case pg::FailureCause::internal: break;
  }
  throw std::runtime_error(e.what());
}

// jsonb cannot hold U+0000, which a rejected operation may carry; the log keeps U+FFFD.
std::string jsonb_safe(std::string json) {
  for (std::size_t at = json.find("\\u0000"); at != std::string::npos; at = json.find("\\u0000", at))
    json.replace(at, 6, "\\ufffd");
  return json;
}

// A PostgreSQL array literal of text values ('{"a","b\\"c",NULL}'), for unnest($n::text[])
// or ANY($n::text[]), built one element at a time.
class TextArray {
 public:
  void add(std::optional<std::string_view> value) {
    if (out_.size() > 1) out_ += ',';
    if (!value) {
      out_ += "NULL";
      return;
    }
    out_ += '"';
    for (char c : *value) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  // The literal; the array is left empty.
  std::string take() {
    std::string out = std::move(out_) + '}';
    out_ = "{";
    return out;
  }

 private:
  std::string out_ = "{";
};

std::string text_array(const std::vector<std::optional<std::string_view>>& values) {
  TextArray array;
  for (const auto& v : values) array.add(v);
  return array.take();
}

// Connections shared by all threads; a broken one is dropped and replaced on next use.
class Pool {
 public:
  Pool(std::string url, std::size_t size, StoreObserver* observer)
      : url_(std::move(url)), size_(std::max<std::size_t>(1, size)), observer_(observer) {}

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> c) : pool_(pool), conn_(std::move(c)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    ~Lease() {
      if (conn_) pool_.give_back(std::move(conn_));
    }
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Blocks while every connection is in use. Throws Unavailable when the database is down.
  Lease take() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (idle_.empty() && open_ >= size_) {
        // Every connection is leased: the wait is what the pool's metrics count.
        const auto since = std::chrono::steady_clock::now();
        available_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
        if (observer_) observer_->pool_waited(std::chrono::steady_clock::now() - since);
      }
      if (idle_.empty()) break;
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->still_alive()) return Lease(*this, std::move(c));
      --open_;  // closed while idle (the database restarted): replace it
    }
    ++open_;
    lock.unlock();
    try {
      return Lease(*this, std::make_unique<Connection>(url_));
    } catch (const std::exception& e) {
      lock.lock();
      --open_;
      available_.notify_one();
      throw_unavailable(e);
    }
  }

 private:
  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex_);
    if (c->healthy()) idle_.push_back(std::move(c));
    else --open_;
    available_.notify_one();
  }

  std::string url_;
  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections in existence, idle or leased
  StoreObserver* observer_;  // may be nullptr
};

// A row of search_operations_sql or read_operation_sql (SearchColumns).
LoggedOperation logged_operation(const pg::Result& r, int row) {
  using C = SearchColumns;
  auto text = [&](int column) { return std::string(r.text(row, column)); };
  LoggedOperation out{
      text(C::business_id),
      OperationRecord{text(C::operation_id), text(C::entity), text(C::action), text(C::entity_id),
                      text(C::payload),
                      r.text(row, C::status) == "processed" ? OperationStatus::processed
                                                            : OperationStatus::failed,
                      r.optional_text(row, C::error), r.optional_text(row, C::message),
                      r.optional_text(row, C::client_timestamp), text(C::processed_at)},
      std::nullopt};
  if (!r.is_null(row, C::resolution))
    out.resolution = ResolutionRecord{
        out.business_id,
        out.record.operation_id,
        text(C::resolution),
        text(C::resolved_by),
        text(C::resolved_at),
        text(C::address),
        r.is_null(row, C::version)
            ? std::nullopt
            : std::optional<std::uint64_t>(static_cast<std::uint64_t>(r.int64(row, C::version)))};
  return out;
}

Params params_of(const ConsoleStatement& statement) {
  Params params;
  for (const std::string& p : statement.params) params.push_back(p);
  return params;
}

// Runs `f`, turning database failures into the store's exceptions (throw_classified).
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const pg::Failure& e) {
    throw_classified(e);
  }
}

class PgBatch final : public BatchTransaction {
 public:
  // BEGIN, the planner settings of kKeyLookupsOnly and the tenant's row lock in one round
  // trip. The lock is held to commit: batches
  // of one tenant run one at a time on every server, so the idempotency check below sees
  // every committed operation.
  PgBatch(Pool::Lease lease, const EntityStatements& sql, std::string_view business_id)
      : conn_(std::move(lease)), sql_(sql), business_(business_id) {
    open_ = true;  // from here on, the destructor rolls back whatever was begun
    guarded([&] {
      auto results = conn_->run_pipelined(
          {{&kBegin, {}}, {&kKeyLookupsOnly, {}}, {&kLockTenant, {business_}}});
      const pg::Result& r = results[2];
      version_ = r.rows() ? static_cast<std::uint64_t>(r.int64(0, 0)) : 0;
      return 0;
    });
    start_version_ = version_;
  }

  ~PgBatch() override {
    if (!open_) return;
    try {
      conn_->exec("ROLLBACK");
    } catch (...) {
      // A lost connection rolled back by itself; the pool drops it.
    }
  }

  // Read with the expected rows, in the same round trip, when the batch first looks one
  // up. The tenant's row lock keeps the answer true until commit; operations this batch
  // records are added as they are recorded.
  void expect_operations(const std::vector<std::string_view>& operation_ids) override {
    TextArray ids;
    for (std::string_view id : operation_ids) ids.add(id);
    expected_operations_ = ids.take();
  }

  std::optional<OperationStatus> find_operation(std::string_view operation_id) override {
    read_expected();
    if (auto it = statuses_.find(std::string(operation_id)); it != statuses_.end()) return it->second;
    if (statuses_known_) return std::nullopt;
    return guarded([&]() -> std::optional<OperationStatus> {
      auto r = conn_->query("SELECT status FROM sync_operations WHERE business_id = $1 AND operation_id = $2",
                            {business_, operation_id});
      if (!r.rows()) return std::nullopt;
      return r.text(0, 0) == "processed" ? OperationStatus::processed : OperationStatus::failed;
    });
  }

  // Log rows are written together at commit, the last record of an operation id winning.
  void record_operation(const OperationRecord& r) override {
    statuses_[r.operation_id] = r.status;
    auto [it, inserted] = log_index_.try_emplace(r.operation_id, log_.size());
    if (inserted) log_.push_back(r);
    else log_[it->second] = r;
  }

  // No savepoints: each costs a round trip, and an operation needs none. It writes at most
  // once, and one statement is atomic by itself; it decides to fail before it writes. Both
  // are checked: breaking them throws, and the whole batch rolls back.
  void begin_operation() override {
    in_operation_ = true;
    writes_in_operation_ = 0;
  }
  void end_operation(bool keep) override {
    in_operation_ = false;
    if (!keep && writes_in_operation_ > 0)
      throw std::logic_error("an operation that wrote cannot be undone without a savepoint");
  }

  // Rows the batch will read, fetched with one query per entity, all in one round trip,
  // when the batch first looks a row or an operation up. The tenant's row lock keeps these
  // rows unchanged by others until commit, and this batch's own writes update them.
  void expect_rows(const EntitySpec& entity, const std::vector<std::string_view>& ids) override {
    const auto& cache = rows_[entity_index(entity)];
    auto& wanted = expected_rows_[entity_index(entity)];
    for (std::string_view id : ids)
      if (!cache.count(std::string(id))) wanted.emplace_back(id);
  }

  std::optional<StoredRow> find_row(const EntitySpec& entity, std::string_view id) override {
    read_expected();
    auto& cache = rows_[entity_index(entity)];
    if (auto it = cache.find(std::string(id)); it != cache.end()) return it->second;
    return guarded([&]() -> std::optional<StoredRow> {
      auto r = query_after_writes(sql_.of(entity).select_row, {business_, std::string(id)});
      if (!r.rows()) return std::nullopt;
      StoredRow row{r.int64(0, 0) != 0, r.int64(0, 1), {}};
      row.values.reserve(entity.fields.size());
      for (std::size_t i = 0; i < entity.fields.size(); ++i)
        row.values.push_back(r.optional_text(0, kSelectRowFieldsAt + static_cast<int>(i)));
      return row;
    });
  }

  bool is_live(const EntitySpec& entity, std::string_view id) override {
    read_expected();
    auto& cache = rows_[entity_index(entity)];
    if (auto it = cache.find(std::string(id)); it != cache.end()) return it->second && !it->second->deleted;
    return guarded([&] {
      return query_after_writes(sql_.of(entity).select_live, {business_, std::string(id)}).rows() >
             0;
    });
  }

  std::int64_t count_live_references(const Reference& ref, std::string_view id) override {
    // The count must see this batch's writes: they go first, in the same round trip.
    return guarded([&] {
      return query_after_writes(sql_.count_references(ref), {business_, std::string(id)})
          .int64(0, 0);
    });
  }

  std::uint64_t next_version() override { return ++version_; }

  void insert_row(const EntitySpec& entity, std::string_view id,
                  const std::vector<std::optional<std::string>>& values, const WriteStamp& stamp) override {
    count_write();
    auto [row, fresh] = pending_write(entity, id);
    if (!fresh) throw std::logic_error("a row is inserted after this batch wrote it");
    row.inserted = true;
    row.has_values = true;
    row.created_at = std::string(stamp.now);
    stamp_write(row, stamp);
    row.values = values;
    remember(entity, id, StoredRow{false, stamp.write_time, values});
  }

  void update_row(const EntitySpec& entity, std::string_view id,
                  const std::vector<std::optional<std::string>>& values, const WriteStamp& stamp) override {
    count_write();
    PendingWrite& row = pending_write(entity, id).first;
    row.has_values = true;
    stamp_write(row, stamp);
    row.values = values;
    remember(entity, id, StoredRow{false, stamp.write_time, values});
  }

  void delete_row(const EntitySpec& entity, std::string_view id, const WriteStamp& stamp) override {
    count_write();
    PendingWrite& row = pending_write(entity, id).first;
    row.deleted = true;
    stamp_write(row, stamp);
    auto& cache = rows_[entity_index(entity)];
    auto it = cache.find(std::string(id));
    if (it != cache.end() && it->second) {
      it->second->deleted = true;
      it->second->last_write = stamp.write_time;
    } else {
      cache.erase(std::string(id));  // unknown state: read it from the database next time
    }
  }

  // The writes, the log, the tenant's new version and COMMIT in one round trip.
  void commit() override {
    std::vector<pg::Connection::Pipelined> statements = take_writes();
    if (!log_.empty()) statements.push_back(log_statement());
    if (version_ > start_version_)
      statements.push_back({&kRaiseVersion, {business_, std::to_string(version_)}});
    statements.push_back({&kCommit, {}});
    guarded([&] { return conn_->run_pipelined(statements).size(); });
    open_ = false;
  }

  std::uint64_t version() const override { return version_; }

  std::optional<OperationRecord> read_operation(std::string_view operation_id) override {
    return guarded([&]() -> std::optional<OperationRecord> {
      auto r = conn_->query(read_operation_sql(Placeholders::postgres), {business_, operation_id});
      if (!r.rows()) return std::nullopt;
      return logged_operation(r, 0).record;
    });
  }

  bool is_resolved(std::string_view operation_id) override {
    return guarded([&] {
      return conn_
                 ->query(
                     "SELECT 1 FROM conflict_resolutions r JOIN sync_operations o ON"
                     " o.business_id = r.business_id AND o.operation_id = r.operation_id"
                     " WHERE r.business_id = $1 AND r.operation_id = $2"
                     " AND r.resolved_at >= o.processed_at",
                     {business_, operation_id})
                 .rows() > 0;
    });
  }

  void record_resolution(const ResolutionRecord& r) override {
    const std::optional<std::string> version =
        r.version ? std::optional(std::to_string(*r.version)) : std::nullopt;
    guarded([&] {
      return conn_
          ->query(insert_resolution_sql(Placeholders::postgres),
                  {business_, r.operation_id, r.resolution, r.by, r.at, r.address,
                   version ? std::optional<std::string_view>(*version) : std::nullopt})
          .affected();
    });
  }

 private:
  inline static const std::string kBegin = "BEGIN";
  inline static const std::string kCommit = "COMMIT";
  inline static const std::string kLockTenant =
      "SELECT version FROM businesses WHERE id = $1 FOR UPDATE";
  inline static const std::string kExpectedOperations =
      "SELECT operation_id, status FROM sync_operations WHERE business_id = " +
      std::string(kTenantUnseenByPlanner) + " AND operation_id = ANY($2::text[])";
  // Every statement of a batch reads or writes rows by key. Statistics lag the tables (taken
  // when a table was empty, or before a tenant grew): planned from them, a key lookup was a
  // sequential scan of the table, or a hash join with one. Without those, it probes the
  // primary key, or at worst reads the tenant's rows through a (business_id, ...) index.
  inline static const std::string kKeyLookupsOnly =
      "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', "
      "true),"
      " set_config('enable_mergejoin', 'off', true)";
  // Raises the tenant's version and, in the same statement, announces it to the change
  // watches of every server (pg_change_watch.hpp): NOTIFY is delivered once COMMIT is done.
  inline static const std::string kRaiseVersion =
      "WITH raised AS (UPDATE businesses SET version = $2 WHERE id = $1 AND version < $2"
      " RETURNING id, version) SELECT pg_notify('" +
      std::string(pg::kChangesChannel) + "', version::text || ' ' || id) FROM raised";
  inline static const std::string kInsertLog =
      "INSERT INTO sync_operations (business_id, operation_id, entity, action, entity_id, payload,"
      " status, error, message, client_timestamp, processed_at, created_at)"
      " SELECT $1, u.op, u.entity, u.action, u.entity_id, u.payload::jsonb, u.status, u.error, "
      "u.message,"
      " u.client_ts, u.at::timestamptz, u.at::timestamptz"
      " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
      "$8::text[],"
      " $9::text[], $10::text[], $11::text[])"
      " AS u(op, entity, action, entity_id, payload, status, error, message, client_ts, at)"
      " ON CONFLICT (business_id, operation_id) DO UPDATE SET entity = excluded.entity,"
      " action = excluded.action, entity_id = excluded.entity_id, payload = excluded.payload,"
      " status = excluded.status, error = excluded.error, message = excluded.message,"
      " client_timestamp = excluded.client_timestamp, processed_at = excluded.processed_at";

  // The log rows, one INSERT of them all.
  pg::Connection::Pipelined log_statement() const {
    TextArray columns[10];
    auto opt = [](const std::optional<std::string>& v) {
      return v ? std::optional<std::string_view>(*v) : std::nullopt;
    };
    for (const OperationRecord& r : log_) {
      columns[0].add(r.operation_id);
      columns[1].add(r.entity);
      columns[2].add(r.action);
      columns[3].add(r.entity_id);
      columns[4].add(jsonb_safe(r.payload));
      columns[5].add(r.status == OperationStatus::processed ? "processed" : "failed");
      columns[6].add(opt(r.error));
      columns[7].add(opt(r.message));
      columns[8].add(opt(r.client_timestamp));
      columns[9].add(r.processed_at);
    }
    pg::Connection::Pipelined statement{&kInsertLog, {business_}};
    for (auto& c : columns) statement.params.push_back(c.take());
    return statement;
  }

  // One row's writes since the last flush, coalesced to the row's final state: created_at
  // of its insert, the stamp of its last write, the values of its last insert or update.
  struct PendingWrite {
    std::string id;
    bool inserted = false;    // one INSERT; else an UPDATE of a row that exists
    bool deleted = false;     // a delete is among the writes: the row ends deleted
    bool has_values = false;  // an insert or update set the fields (values)
    std::string created_at;   // inserted only
    std::string updated_at;
    UnixMillis last_write = 0;
    std::uint64_t version = 0;
    std::vector<std::optional<std::string>> values;
  };
  struct PendingWrites {
    std::vector<PendingWrite> rows;                   // in order of first write
    std::unordered_map<std::string, std::size_t> at;  // id -> index in rows
  };

  void count_write() {
    if (in_operation_ && writes_in_operation_++ > 0)
      throw std::logic_error("an operation writes at most once on PostgreSQL");
  }

  // The pending write of this row, created if none; true when created.
  std::pair<PendingWrite&, bool> pending_write(const EntitySpec& entity, std::string_view id) {
    auto& pending = pending_[entity_index(entity)];
    auto [it, fresh] = pending.at.try_emplace(std::string(id), pending.rows.size());
    if (fresh) pending.rows.push_back(PendingWrite{std::string(id)});
    has_pending_writes_ = true;
    return {pending.rows[it->second], fresh};
  }

  static void stamp_write(PendingWrite& row, const WriteStamp& stamp) {
    row.updated_at = std::string(stamp.now);
    row.last_write = stamp.write_time;
    row.version = stamp.version;
  }

  // The pending writes as at most three statements per entity (insert_rows, update_rows,
  // delete_rows), emptying the queue. Writes are queued, not sent: reads are served from
  // the row cache, so the writes go to the database together, ahead of the next query that
  // must see them, in its round trip. Requires: sent before any query that reads domain rows.
  std::vector<pg::Connection::Pipelined> take_writes() {
    std::vector<pg::Connection::Pipelined> statements;
    if (!has_pending_writes_) return statements;
    for (const EntitySpec& entity : all_entities()) {
      auto& pending = pending_[entity_index(entity)];
      if (pending.rows.empty()) continue;
      const EntitySql& sql = sql_.of(entity);
      const std::size_t fields = entity.fields.size();
      // Inserts carry created_at; updates of existing rows set the fields and may delete;
      // a delete alone keeps the fields.
      std::vector<TextArray> inserts(6 + fields), updates(5 + fields), deletes(4);
      std::size_t inserted = 0, updated = 0, deleted = 0;
      for (const PendingWrite& row : pending.rows) {
        const std::string last_write = std::to_string(row.last_write),
                          version = std::to_string(row.version);
        const std::string_view deleted_flag = row.deleted ? "1" : "0";
        std::vector<TextArray>* columns;
        if (row.inserted) {
          ++inserted;
          columns = &inserts;
          inserts[0].add(row.id);
          inserts[1].add(row.created_at);
          inserts[2].add(row.updated_at);
          inserts[3].add(last_write);
          inserts[4].add(version);
          inserts[5].add(deleted_flag);
        } else if (row.has_values) {
          ++updated;
          columns = &updates;
          updates[0].add(row.id);
          updates[1].add(row.updated_at);
          updates[2].add(last_write);
          updates[3].add(version);
          updates[4].add(deleted_flag);
        } else {
          ++deleted;
          deletes[0].add(row.id);
          deletes[1].add(row.updated_at);
          deletes[2].add(last_write);
          deletes[3].add(version);
          continue;
        }
        const std::size_t first = columns->size() - fields;
        for (std::size_t f = 0; f < fields; ++f) {
          const auto& v = row.values[f];
          (*columns)[first + f].add(v ? std::optional<std::string_view>(*v) : std::nullopt);
        }
      }
      auto statement = [&](const std::string& text, std::vector<TextArray>& columns) {
        pg::Connection::Pipelined s{&text, {business_}};
        s.params.reserve(1 + columns.size());
        for (auto& c : columns) s.params.push_back(c.take());
        statements.push_back(std::move(s));
      };
      if (inserted) statement(sql.insert_rows, inserts);
      if (updated) statement(sql.update_rows, updates);
      if (deleted) statement(sql.delete_rows, deletes);
      pending.rows.clear();
      pending.at.clear();
    }
    has_pending_writes_ = false;
    return statements;
  }

  // Sends the pending writes, then `sql`, in one round trip; `sql`'s result.
  pg::Result query_after_writes(const std::string& sql,
                                std::vector<std::optional<std::string>> params) {
    std::vector<pg::Connection::Pipelined> statements = take_writes();
    statements.push_back({&sql, std::move(params)});
    auto results = conn_->run_pipelined(statements);
    return std::move(results.back());
  }

  // Reads what expect_operations and expect_rows announced, after the pending writes, in
  // one round trip. Rows and statuses this batch wrote or recorded meanwhile stay as they are.
  void read_expected() {
    if (!expected_operations_ && !has_expected_rows()) return;
    std::vector<pg::Connection::Pipelined> statements = take_writes();
    const std::size_t first_read = statements.size();
    if (expected_operations_)
      statements.push_back({&kExpectedOperations, {business_, std::move(*expected_operations_)}});
    std::vector<std::size_t> entities;  // of each row query, in order
    for (std::size_t e = 0; e < expected_rows_.size(); ++e) {
      if (expected_rows_[e].empty()) continue;
      TextArray ids;
      for (const std::string& id : expected_rows_[e]) ids.add(id);
      statements.push_back({&sql_.of(all_entities()[e]).lookup_rows, {business_, ids.take()}});
      entities.push_back(e);
    }
    guarded([&] {
      auto results = conn_->run_pipelined(statements);
      std::size_t next = first_read;
      if (expected_operations_) {
        const pg::Result& r = results[next++];
        for (int i = 0; i < r.rows(); ++i)
          statuses_.try_emplace(std::string(r.text(i, 0)), r.text(i, 1) == "processed"
                                                               ? OperationStatus::processed
                                                               : OperationStatus::failed);
        statuses_known_ = true;
      }
      for (std::size_t e : entities) {
        const pg::Result& r = results[next++];
        const EntitySpec& entity = all_entities()[e];
        auto& cache = rows_[e];
        for (int i = 0; i < r.rows(); ++i) {
          StoredRow row{r.int64(i, 1) != 0, r.int64(i, 2), {}};
          row.values.reserve(entity.fields.size());
          for (std::size_t f = 0; f < entity.fields.size(); ++f)
            row.values.push_back(r.optional_text(i, 3 + static_cast<int>(f)));
          cache.try_emplace(std::string(r.text(i, 0)), std::move(row));
        }
        for (const std::string& id : expected_rows_[e])
          cache.try_emplace(id, std::nullopt);  // not found
      }
      return 0;
    });
    expected_operations_.reset();
    for (auto& ids : expected_rows_) ids.clear();
  }

  bool has_expected_rows() const {
    return std::any_of(expected_rows_.begin(), expected_rows_.end(),
                       [](const auto& ids) { return !ids.empty(); });
  }

  void remember(const EntitySpec& entity, std::string_view id, StoredRow row) {
    rows_[entity_index(entity)][std::string(id)] = std::move(row);
  }

  Pool::Lease conn_;
  const EntityStatements& sql_;
  std::string business_;
  std::uint64_t version_ = 0;
  std::uint64_t start_version_ = 0;  // the tenant's version when the batch began
  bool open_ = false;
  std::vector<PendingWrites> pending_ = std::vector<PendingWrites>(all_entities().size());
  bool has_pending_writes_ = false;
  std::optional<std::string> expected_operations_;  // a text[] literal, not read yet
  std::vector<std::vector<std::string>> expected_rows_ =
      std::vector<std::vector<std::string>>(all_entities().size());  // per entity, not read yet
  std::unordered_map<std::string, OperationStatus> statuses_;
  bool statuses_known_ = false;  // statuses_ holds every logged id of this batch
  std::vector<OperationRecord> log_;
  std::unordered_map<std::string, std::size_t> log_index_;
  bool in_operation_ = false;
  int writes_in_operation_ = 0;
  // Rows this batch has read or written, per entity: nullopt means "does not exist".
  using RowCache = std::vector<std::unordered_map<std::string, std::optional<StoredRow>>>;
  RowCache rows_ = RowCache(all_entities().size());
};

// A page read by open_changes: the results of its one round trip, [1] the tenant's version
// and [2] the page's rows, already merged in version order (AllChangesColumns). Times come
// as Unix milliseconds and are formatted into the stream's own buffers, row by row.
class PgChangeSnapshot final : public ChangeSnapshot, ChangeStream {
 public:
  explicit PgChangeSnapshot(std::vector<pg::Result> results)
      : results_(std::move(results)), rows_(results_[2].rows()) {
    const pg::Result& v = results_[1];
    latest_version_ = v.rows() ? static_cast<std::uint64_t>(v.int64(0, 0)) : 0;
    std::size_t widest = 0;
    for (const EntitySpec& entity : all_entities()) widest = std::max(widest, entity.fields.size());
    values_.resize(widest);
    times_.resize(widest);
  }

  std::uint64_t latest_version() const override { return latest_version_; }
  std::span<ChangeStream* const> streams() override { return {&self_, 1}; }

  bool next() override {
    if (++row_ >= rows_) return false;
    version_ = static_cast<std::uint64_t>(results_[2].int64(row_, C::version));
    return true;
  }
  std::uint64_t version() const override { return version_; }
  ChangeView view() override {
    const pg::Result& r = results_[2];
    const EntitySpec& entity = all_entities()[static_cast<std::size_t>(r.int64(row_, C::entity))];
    for (std::size_t i = 0; i < entity.fields.size(); ++i) {
      const int column = C::fields + static_cast<int>(i);
      if (r.is_null(row_, column))
        values_[i] = std::nullopt;
      else if (entity.fields[i].type == FieldType::timestamp)
        values_[i] = format_timestamp(r.int64(row_, column), times_[i].text);
      else
        values_[i] = r.text(row_, column);
    }
    return {&entity,
            r.text(row_, C::id),
            r.int64(row_, C::deleted) != 0,
            version_,
            format_timestamp(r.int64(row_, C::created_ms), created_),
            format_timestamp(r.int64(row_, C::updated_ms), updated_),
            std::span(values_.data(), entity.fields.size())};
  }

 private:
  using C = AllChangesColumns;
  struct TimeText {
    char text[kTimestampBufferSize];
  };
  std::vector<pg::Result> results_;
  const int rows_;
  int row_ = -1;
  std::uint64_t version_ = 0;
  std::uint64_t latest_version_ = 0;
  ChangeStream* self_ = this;
  std::vector<std::optional<std::string_view>> values_;
  std::vector<TimeText> times_;  // one per field
  char created_[kTimestampBufferSize], updated_[kTimestampBufferSize];
};

class PgStore final : public Store {
 public:
  PgStore(const std::string& url, const StoreOptions& options)
      : url_(url), pool_(url, options.pool_size, options.observer) {}

  void migrate() override {
    guarded([&] {
      auto c = pool_.take();
      c->exec("BEGIN");
      // Two servers starting at once: the second waits here, then finds nothing to do.
      c->exec("SELECT pg_advisory_xact_lock(7205769)");
      c->exec("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
              " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      auto applied = c->exec("SELECT coalesce(max(version), 0) FROM schema_migrations").int64(0, 0);
      for (const Migration& m : postgres_migrations()) {
        if (m.version <= applied) continue;
        c->exec(m.sql);
        c->query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                 {std::to_string(m.version), m.name});
      }
      c->exec("COMMIT");
      // Fresh statistics for the planner at every start (autovacuum keeps them up after), for
      // this schema's tables: a plain ANALYZE also samples every system catalog, which made
      // it cost 100 ms on an empty database instead of 1 ms.
      auto tables = c->exec(
          "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
          " WHERE schemaname = current_schema()");
      c->exec("ANALYZE " + std::string(tables.text(0, 0)));
      return 0;
    });
  }

  bool ping() override {
    try {
      auto c = pool_.take();
      c->exec("SELECT 1");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  std::unique_ptr<BatchTransaction> begin_batch(std::string_view business_id) override {
    return std::make_unique<PgBatch>(pool_.take(), sql_, business_id);
  }

  std::unique_ptr<ChangeWatch> watch_changes(ChangeSink& sink) override {
    return pg::watch_postgres_changes(url_, sink);
  }

  // One round trip: a read-only snapshot, the tenant's version and the page of every
  // entity's changes from one statement that merges the tables in version order. The
  // connection goes back to the pool at once; the rows are read from libpq's result.
  std::unique_ptr<ChangeSnapshot> open_changes(std::string_view business_id,
                                               const ChangeQuery& query) override {
    return guarded([&] {
      auto c = pool_.take();
      const std::string& text =
          query.changed_since
              ? (query.include_deleted ? changes_.changes_since : changes_.changes_since_live_only)
              : (query.include_deleted ? changes_.changes : changes_.changes_live_only);
      std::vector<std::optional<std::string>> params{std::string(business_id),
                                                     std::to_string(query.after_version),
                                                     std::to_string(query.limit + 1)};
      if (query.changed_since) params.push_back(*query.changed_since);
      return std::make_unique<PgChangeSnapshot>(
          c->run_pipelined({{&kBeginSnapshot, {}},
                            {&kTenantVersion, {std::string(business_id)}},
                            {&text, std::move(params)},
                            {&kCommit, {}}}));
    });
  }

  void create_business(std::string_view id, std::string_view name, std::string_view now) override {
    guarded([&] { return pool_.take()->query("INSERT INTO businesses (id, name, created_at) VALUES ($1, $2, $3)",
                                              {id, name, now}).affected(); });
  }

  bool ensure_business(std::string_view id, std::string_view name, std::string_view now) override {
    return guarded([&] {
      return pool_.take()->query("INSERT INTO businesses (id, name, created_at) VALUES ($1, $2, $3)"
                                 " ON CONFLICT (id) DO NOTHING", {id, name, now}).affected() > 0;
    });
  }

  bool business_exists(std::string_view id) override {
    return guarded([&] { return pool_.take()->query("SELECT 1 FROM businesses WHERE id = $1", {id}).rows() > 0; });
  }

  void create_token(const TokenRecord& t, std::string_view now) override {
    std::string expires = std::to_string(t.expires_at);
    std::string_view id = std::string_view(t.token_hash).substr(0, kTokenIdLength);
    guarded([&] {
      return pool_.take()->query(
          "INSERT INTO auth_tokens (token_hash, id, business_id, user_id, expires_at_ms, created_at)"
          " VALUES ($1, $2, $3, $4, $5, $6)", {t.token_hash, id, t.business_id, t.user_id, expires, now}).affected();
    });
  }

  bool revoke_token_by_id(std::string_view id, std::string_view now) override {
    return guarded([&] {
      return pool_.take()->query("UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                                 {id, now}).affected() > 0;
    });
  }

  std::vector<TokenInfo> list_tokens(std::string_view business_id) override {
    return guarded([&] {
      auto r = pool_.take()->query(
          "SELECT id, user_id, expires_at_ms,"
          " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
          " to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
          " FROM auth_tokens WHERE business_id = $1 ORDER BY created_at, id", {business_id});
      std::vector<TokenInfo> out;
      for (int row = 0; row < r.rows(); ++row)
        out.push_back({std::string(r.text(row, 0)), std::string(business_id), std::string(r.text(row, 1)),
                       r.int64(row, 2), std::string(r.text(row, 3)), r.optional_text(row, 4)});
      return out;
    });
  }

  std::optional<TokenRecord> find_token(std::string_view token_hash) override {
    return guarded([&]() -> std::optional<TokenRecord> {
      auto r = pool_.take()->query(
          "SELECT business_id::text, user_id, expires_at_ms, revoked_at IS NOT NULL FROM auth_tokens"
          " WHERE token_hash = $1", {token_hash});
      if (!r.rows()) return std::nullopt;
      return TokenRecord{std::string(token_hash), std::string(r.text(0, 0)), std::string(r.text(0, 1)),
                         r.int64(0, 2), r.text(0, 3) == "t"};
    });
  }

  bool revoke_token(std::string_view token_hash, std::string_view now) override {
    return guarded([&] {
      return pool_.take()->query("UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE token_hash = $1",
                                 {token_hash, now}).affected() > 0;
    });
  }

  std::vector<BusinessSummary> list_businesses(std::string_view after_id, std::size_t limit,
                                               std::string_view since, UnixMillis now) override {
    return guarded([&] {
      auto statement = list_businesses_sql(after_id, limit, since, now, Placeholders::postgres);
      auto r = pool_.take()->query(statement.sql, params_of(statement));
      std::vector<BusinessSummary> out;
      for (int row = 0; row < r.rows(); ++row)
        out.push_back({std::string(r.text(row, 0)), std::string(r.text(row, 1)),
                       std::string(r.text(row, 2)), r.optional_text(row, 3), r.int64(row, 4),
                       r.int64(row, 5), r.int64(row, 6)});
      return out;
    });
  }

  std::vector<LoggedOperation> search_operations(const OperationSearch& search) override {
    return guarded([&] {
      auto statement = search_operations_sql(search, Placeholders::postgres);
      auto r = pool_.take()->query(statement.sql, params_of(statement));
      std::vector<LoggedOperation> out;
      for (int row = 0; row < r.rows(); ++row) out.push_back(logged_operation(r, row));
      return out;
    });
  }

  std::optional<StoredRow> read_row(std::string_view business_id, const EntitySpec& entity,
                                    std::string_view id) override {
    return guarded([&]() -> std::optional<StoredRow> {
      auto r = pool_.take()->query(sql_.of(entity).select_row, {business_id, id});
      if (!r.rows()) return std::nullopt;
      StoredRow row{r.int64(0, 0) != 0, r.int64(0, 1), {}};
      for (std::size_t i = 0; i < entity.fields.size(); ++i)
        row.values.push_back(r.optional_text(0, kSelectRowFieldsAt + static_cast<int>(i)));
      return row;
    });
  }

  std::vector<std::pair<std::string, StoredRow>> read_rows(
      std::string_view business_id, const EntitySpec& entity,
      const std::vector<std::string>& ids) override {
    if (ids.empty()) return {};
    const std::vector<std::optional<std::string_view>> wanted(ids.begin(), ids.end());
    return guarded([&] {
      auto r = pool_.take()->query(sql_.of(entity).select_rows, {business_id, text_array(wanted)});
      std::vector<std::pair<std::string, StoredRow>> out;
      for (int i = 0; i < r.rows(); ++i) {
        StoredRow row{r.int64(i, 1) != 0, r.int64(i, 2), {}};
        for (std::size_t f = 0; f < entity.fields.size(); ++f)
          row.values.push_back(r.optional_text(i, 3 + static_cast<int>(f)));
        out.emplace_back(std::string(r.text(i, 0)), std::move(row));
      }
      return out;
    });
  }

  std::vector<ResolutionRecord> list_resolutions(const std::optional<std::string>& business_id,
                                                 const std::optional<ListPosition>& after,
                                                 std::size_t limit) override {
    return guarded([&] {
      auto statement = list_resolutions_sql(business_id, after, limit, Placeholders::postgres);
      auto r = pool_.take()->query(statement.sql, params_of(statement));
      std::vector<ResolutionRecord> out;
      using C = ResolutionColumns;
      for (int row = 0; row < r.rows(); ++row)
        out.push_back(
            {std::string(r.text(row, C::business_id)), std::string(r.text(row, C::operation_id)),
             std::string(r.text(row, C::resolution)), std::string(r.text(row, C::resolved_by)),
             std::string(r.text(row, C::resolved_at)), std::string(r.text(row, C::address)),
             r.is_null(row, C::version) ? std::nullopt
                                        : std::optional<std::uint64_t>(static_cast<std::uint64_t>(
                                              r.int64(row, C::version)))});
      return out;
    });
  }

  // Each chunk is one statement in autocommit: its row locks are held only while it runs.
  // A row a batch holds locked (being replaced by a retry) is skipped, not waited for.
  std::size_t prune_operations(std::string_view processed_before) override {
    const std::string chunk = std::to_string(kPruneChunkRows);
    std::size_t total = 0;
    for (;;) {
      int deleted = guarded([&] {
        return pool_.take()->query(
            "DELETE FROM sync_operations WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM sync_operations WHERE processed_at < $1::timestamptz"
            " LIMIT $2::integer FOR UPDATE SKIP LOCKED))", {processed_before, chunk}).affected();
      });
      total += static_cast<std::size_t>(deleted);
      if (static_cast<std::size_t>(deleted) < kPruneChunkRows) return total;
    }
  }

 private:
  inline static const std::string kBeginSnapshot =
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  inline static const std::string kTenantVersion = "SELECT version FROM businesses WHERE id = $1";
  inline static const std::string kCommit = "COMMIT";

  std::string url_;
  Pool pool_;
  EntityStatements sql_{Placeholders::postgres};
  AllChangesSql changes_ = make_all_changes_sql();
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url, const StoreOptions& options) {
  return std::make_unique<PgStore>(url, options);
}

}  // namespace avsync::store

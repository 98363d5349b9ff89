#include "sqlite/database.hpp"

#include <sqlite3.h>

namespace avsync::sqlite {

bool Failure::is_busy() const {
  int primary = extended_code_ & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

Statement::Statement(sqlite3* db, std::string_view sql) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt_, nullptr);
  if (rc != SQLITE_OK)
    throw Failure(sqlite3_extended_errcode(db),
                  "sqlite prepare failed: " + std::string(sqlite3_errmsg(db)) + " in: " +
                      std::string(sql));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Query::Query(Database& db, Statement& statement) : db_(db), stmt_(statement.handle()) {}

Query::~Query() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Query& Query::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Query& Query::bind_nullable(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

Query& Query::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

bool Query::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, sqlite3_sql(stmt_));
}

int Query::run() {
  while (step()) {
  }
  return sqlite3_changes(db_.handle());
}

int Query::column_count() const { return sqlite3_column_count(stmt_); }

bool Query::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string_view Query::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> Query::optional_text(int column) const {
  auto view = optional_view(column);
  return view ? std::optional<std::string>(*view) : std::nullopt;
}

std::optional<std::string_view> Query::optional_view(int column) const {
  // One call for the common case: only NULL (or an empty BLOB) has no text pointer.
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p)
    return is_null(column) ? std::nullopt : std::optional<std::string_view>(std::string_view());
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

Database::Database(const std::string& path, Access access) {
  int flags = access == Access::read_only ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;  // each connection is used by one thread at a time
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    throw Failure(rc, "cannot open sqlite database '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
  try {
    // WAL lets readers run beside the writer; synchronous=FULL syncs the WAL at every
    // commit, which is what makes an acknowledged batch survive power loss. The first
    // statement is also where a file that is not a database is found out.
    if (access == Access::read_write) exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY");
  } catch (...) {
    sqlite3_close_v2(db_);  // no destructor runs for a constructor that throws
    throw;
  }
}

Database::~Database() {
  statements_.clear();
  sqlite3_close_v2(db_);
}

void Database::set_busy_timeout(std::chrono::milliseconds timeout) {
  sqlite3_busy_timeout(db_, static_cast<int>(timeout.count()));
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string why = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Failure(sqlite3_extended_errcode(db_), "sqlite: " + why);
  }
}

Query Database::query(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end())
    it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, sql)).first;
  return Query(*this, *it->second);
}

int Database::checkpoint_passive() {
  int wal_frames = 0, checkpointed = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &checkpointed);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) fail(rc, "wal checkpoint");
  return wal_frames - checkpointed;
}

void Database::fail(int code, std::string_view context) const {
  throw Failure(sqlite3_extended_errcode(db_),
                "sqlite error " + std::to_string(code) + " (" + sqlite3_errmsg(db_) + ") in: " +
                    std::string(context));
}

Transaction::Transaction(Database& db, Lock lock) : db_(db) {
  db_.exec(lock == Lock::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (...) {
    // The transaction may already be gone (SQLite rolls back on some errors).
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace avsync::sqlite

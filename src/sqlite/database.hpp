#pragma once
// A thin RAII layer over SQLite3, shared by the server's store and the client's replica.
// Failures of the database itself throw sqlite::Failure (they are unexpected: a lost
// disk, a corrupt file); expected outcomes are the callers' business.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace avsync::sqlite {

class Failure : public std::runtime_error {
 public:
  Failure(int extended_code, const std::string& what)
      : std::runtime_error(what), extended_code_(extended_code) {}
  int extended_code() const { return extended_code_; }
  bool is_busy() const;  // SQLITE_BUSY / SQLITE_LOCKED

 private:
  int extended_code_;
};

class Database;

// A prepared statement owned by a Database's cache. Use it through a Query.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a cached statement: bind (1-based), step, read columns. Resets and
// clears its bindings when destroyed so the statement can be reused.
class Query {
 public:
  Query(Database& db, Statement& statement);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::string_view text);
  Query& bind(int index, std::int64_t value);
  Query& bind_nullable(int index, const std::optional<std::string>& text);  // nullopt: NULL
  Query& bind_null(int index);

  // Advances to the next row: true when there is one, false when done. Throws on error.
  bool step();
  // Runs a statement that returns no rows; returns the number of rows changed.
  int run();

  int column_count() const;
  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string_view text(int column) const;  // valid until the next step()
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::string_view> optional_view(int column) const;  // valid until the next step()

 private:
  Database& db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  enum class Access { read_write, read_only };
  // Opens (creating when read_write) the file at `path`, with a busy timeout, WAL and
  // synchronous=FULL, so a committed transaction survives power loss.
  Database(const std::string& path, Access access);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // How long a statement waits for a lock another connection holds before failing with
  // SQLITE_BUSY (10 s from the constructor). Zero: it fails at once.
  void set_busy_timeout(std::chrono::milliseconds timeout);
  // Runs one or more statements with no parameters (schema, pragmas).
  void exec(std::string_view sql);
  // A cached prepared statement for `sql`, compiled on first use.
  Query query(std::string_view sql);
  // Copies committed WAL frames into the database file without waiting for readers or
  // blocking writers (SQLITE_CHECKPOINT_PASSIVE). Returns the frames still in the WAL.
  int checkpoint_passive();
  // Throws Failure describing the last error on this connection.
  [[noreturn]] void fail(int code, std::string_view context) const;

  sqlite3* handle() const { return db_; }

 private:
  // Looked up by the SQL text as a string_view: no allocation per execution.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>, TextHash, std::equal_to<>> statements_;
};

// BEGIN ... COMMIT, rolled back when destroyed uncommitted.
class Transaction {
 public:
  enum class Lock { deferred, immediate };  // immediate takes the write lock up front
  Transaction(Database& db, Lock lock);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace avsync::sqlite

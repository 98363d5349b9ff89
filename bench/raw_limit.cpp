#include "raw_limit.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace avsync::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A random version-4 UUID in canonical text.
std::string random_uuid(std::mt19937_64& rng) {
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

constexpr char kNow[] = "2026-01-01T00:00:00.000Z";

struct PgDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnection = std::unique_ptr<PGconn, PgDeleter>;

PgConnection pg_connect(const std::string& url) {
  PgConnection c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("raw limit: cannot connect: ") + PQerrorMessage(c.get()));
  return c;
}

// Runs one statement, throwing with the server's message when it fails.
void pg_exec(PGconn* c, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), PQclear);
  auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("raw limit: " + sql.substr(0, 60) + ": " + PQerrorMessage(c));
}

void pg_writer(const std::string& url, const std::string& table, const std::string& business,
               const RawLoad& load, std::uint64_t seed, std::atomic<std::int64_t>& version) {
  PgConnection c = pg_connect(url);
  std::unique_ptr<PGresult, decltype(&PQclear)> prepared(
      PQprepare(c.get(), "raw_insert",
                ("INSERT INTO " + table +
                 " (business_id, id, name, phone, credit_limit, created_at, updated_at, version)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .c_str(),
                0, nullptr),
      PQclear);
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
    throw std::runtime_error(std::string("raw limit: prepare: ") + PQerrorMessage(c.get()));
  std::mt19937_64 rng(seed);
  for (int t = 0; t < load.transactions_per_writer; ++t) {
    pg_exec(c.get(), "BEGIN");
    for (int i = 0; i < load.rows_per_transaction; ++i) {
      const std::string id = random_uuid(rng), name = "Cliente " + id.substr(0, 8);
      const std::string v = std::to_string(++version);
      const char* values[] = {business.c_str(), id.c_str(), name.c_str(), "+57 300",
                              "45.50",          kNow,       kNow,         v.c_str()};
      std::unique_ptr<PGresult, decltype(&PQclear)> r(
          PQexecPrepared(c.get(), "raw_insert", 8, values, nullptr, nullptr, 0), PQclear);
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        throw std::runtime_error(std::string("raw limit: insert: ") + PQerrorMessage(c.get()));
    }
    pg_exec(c.get(), "COMMIT");
  }
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

void sqlite_exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error(std::string("raw limit: ") + sql + ": " + message);
  }
}

}  // namespace

double raw_postgres_rows_per_s(const std::string& url, const RawLoad& load) {
  const std::string table = "bench_raw_customers_" + std::to_string(::getpid());
  PgConnection admin = pg_connect(url);
  pg_exec(admin.get(), "CREATE TABLE " + table +
                           " (business_id uuid NOT NULL, id uuid NOT NULL, name text, phone text,"
                           " credit_limit numeric(14, 2), created_at timestamptz NOT NULL,"
                           " updated_at timestamptz NOT NULL, version bigint NOT NULL,"
                           " PRIMARY KEY (business_id, id))");
  pg_exec(admin.get(), "CREATE INDEX ON " + table + " (business_id, version)");
  std::mt19937_64 rng(std::random_device{}());
  const std::string business = random_uuid(rng);
  std::atomic<std::int64_t> version{0};
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(load.writers));
  const auto start = Clock::now();
  std::vector<std::thread> writers;
  for (int w = 0; w < load.writers; ++w)
    writers.emplace_back([&, w] {
      try {
        pg_writer(url, table, business, load, rng() + static_cast<std::uint64_t>(w), version);
      } catch (...) {
        errors[static_cast<std::size_t>(w)] = std::current_exception();
      }
    });
  for (auto& t : writers) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  pg_exec(admin.get(), "DROP TABLE " + table);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return static_cast<double>(version.load()) / seconds;
}

double raw_sqlite_rows_per_s(const std::string& path, const RawLoad& load) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) {
    sqlite3_close(raw);
    throw std::runtime_error("raw limit: cannot open " + path);
  }
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  sqlite_exec(db.get(), "PRAGMA journal_mode=WAL");
  sqlite_exec(db.get(), "PRAGMA synchronous=FULL");
  sqlite_exec(
      db.get(),
      "CREATE TABLE customers (business_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT, phone TEXT,"
      " credit_limit TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
      " version INTEGER NOT NULL, PRIMARY KEY (business_id, id))");
  sqlite_exec(db.get(), "CREATE INDEX customers_feed ON customers (business_id, version)");
  sqlite3_stmt* raw_statement = nullptr;
  if (sqlite3_prepare_v2(
          db.get(),
          "INSERT INTO customers (business_id, id, name, phone, credit_limit, created_at,"
          " updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
          -1, &raw_statement, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("raw limit: prepare: ") + sqlite3_errmsg(db.get()));
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> insert(raw_statement);
  std::mt19937_64 rng(std::random_device{}());
  const std::string business = random_uuid(rng);
  std::int64_t version = 0;
  const auto start = Clock::now();
  for (int t = 0; t < load.writers * load.transactions_per_writer; ++t) {
    sqlite_exec(db.get(), "BEGIN IMMEDIATE");
    for (int i = 0; i < load.rows_per_transaction; ++i) {
      const std::string id = random_uuid(rng), name = "Cliente " + id.substr(0, 8);
      sqlite3_stmt* s = insert.get();
      sqlite3_bind_text(s, 1, business.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 2, id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 3, name.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 4, "+57 300", -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 5, "45.50", -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 6, kNow, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 7, kNow, -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 8, ++version);
      if (sqlite3_step(s) != SQLITE_DONE)
        throw std::runtime_error(std::string("raw limit: insert: ") + sqlite3_errmsg(db.get()));
      sqlite3_reset(s);
    }
    sqlite_exec(db.get(), "COMMIT");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  insert.reset();
  db.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return static_cast<double>(version) / seconds;
}

}  // namespace avsync::bench

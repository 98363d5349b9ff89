#pragma once
// The database's own limit for the push workload's writes, measured beside avsync in the
// same run: customers-shaped rows (uuid keys, text, a decimal, two timestamps, a
// (business_id, version) index) written by prepared INSERTs in transactions of
// `rows_per_transaction`, with no sync engine in between.

#include <cstddef>
#include <string>

namespace avsync::bench {

struct RawLoad {
  int writers = 8;  // concurrent connections (PostgreSQL)
  int transactions_per_writer = 20;
  int rows_per_transaction = 100;
};

// PostgreSQL at `url`: `load.writers` connections at once, each inserting its share into a
// scratch table created for the run and dropped after. Returns rows per second.
// Throws std::runtime_error when the database refuses.
double raw_postgres_rows_per_s(const std::string& url, const RawLoad& load);

// SQLite: a new database file at `path` in WAL mode with synchronous=FULL, as the server
// opens its own, written by one connection (SQLite has one writer): every writer's
// transactions, one after another. Returns rows per second; removes the file after.
double raw_sqlite_rows_per_s(const std::string& path, const RawLoad& load);

}  // namespace avsync::bench

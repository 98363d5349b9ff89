// The operations console's searches at scale (make bench-admin): GET /admin/operations and
// GET /admin/conflicts against a real avsync-server whose operation log holds --rows rows
// (10 million by default) over --businesses tenants, on SQLite and on a throwaway
// PostgreSQL cluster (scripts/pg-cluster). The target: every filter combination answers a
// page in under 50 ms.
//
// Seeding writes the log directly with SQL (generate_series on PostgreSQL, a recursive CTE
// on SQLite), in key order, with the log's indexes dropped and rebuilt after, so it takes
// minutes rather than hours on two cores. The spread is a shop's: most operations applied,
// about 3% failed (half validation errors, a third conflicts, the rest not found), five
// entities from common (sale items) to rare (distribuciones), over the last 30 days.
// Each combination is asked --queries times per run (a different business each time),
// first pages and pages resumed from a cursor, in --runs runs; the report is the median and
// p99 of all of them, with the target met or missed.

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "pg_cluster.hpp"
#include "process_stats.hpp"
#include "server_process.hpp"
#include "sqlite/database.hpp"
#include "sync_fixture.hpp"

#ifndef AVSYNC_PG_CLUSTER
#error "AVSYNC_PG_CLUSTER must name scripts/pg-cluster"
#endif

namespace {

using avsync::bench::percentile;
using avsync::bench::PgCluster;
using avsync::testing::HttpClient;
using avsync::testing::query_database;
using avsync::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

constexpr char kCredential[] = "adm_bench_Zq4Lx8Vw2Ns6Kp1Ty9Rb3Mc7Hd5Jf0Gg";
constexpr double kTargetMs = 50;

struct Options {
  long rows = 10'000'000;
  int businesses = 1000;
  int runs = 3;
  int queries = 20;
  std::vector<std::string> stores{"sqlite", "postgres"};
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string business_id(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "biz-%05d", n);
  return buf;
}

// Columns entity, action, status, error and message of the log row numbered g (0 = the
// oldest), as SQL both stores run. Multiplicative hashes of g spread them without a
// pattern that lines up with businesses.
std::string row_columns(const std::string& g) {
  // Reduced modulo a prime first, so that the digits of g all count.
  const std::string h = "((" + g + " * 2654435761) % 1000003 % 100)";     // entity and action
  const std::string f = "((" + g + " * 2246822519) % 999983 % 100 < 3)";  // failed: 3%
  const std::string e = "((" + g + " * 3266489917) % 1000033 % 6)";       // which error
  return "CASE WHEN " + h + " < 35 THEN 'sale_items' WHEN " + h + " < 65 THEN 'customers' WHEN " +
         h + " < 90 THEN 'sales' WHEN " + h +
         " < 97 THEN 'abonos' ELSE 'distribuciones' END, "
         "CASE WHEN " +
         h +
         " % 4 = 0 THEN 'update' ELSE 'insert' END, "
         "CASE WHEN " +
         f +
         " THEN 'failed' ELSE 'processed' END, "
         "CASE WHEN NOT " +
         f + " THEN NULL WHEN " + e + " < 3 THEN 'VALIDATION_ERROR' WHEN " + e +
         " < 5 THEN 'CONFLICT' ELSE 'NOT_FOUND' END, "
         "CASE WHEN " +
         f + " THEN 'seeded failure' END";
}

// Runs `sql` on the store's database: PostgreSQL through libpq, SQLite on `sqlite`.
void execute(const std::string& url, avsync::sqlite::Database* sqlite, const std::string& sql) {
  if (sqlite)
    sqlite->exec(sql);
  else
    query_database(url, sql);
}

// Fills businesses and sync_operations; returns the seconds it took.
double seed(const std::string& url, const Options& o) {
  const auto start = Clock::now();
  const bool pg = !url.starts_with("sqlite:");
  // SQLite: one connection with a large cache for the inserts and the index builds.
  std::unique_ptr<avsync::sqlite::Database> db;
  if (!pg) {
    db = std::make_unique<avsync::sqlite::Database>(url.substr(7),
                                                    avsync::sqlite::Database::Access::read_write);
    db->exec("PRAGMA synchronous = OFF; PRAGMA cache_size = -524288; PRAGMA threads = 2");
  }
  const long per_business = o.rows / o.businesses;
  const long rows = per_business * o.businesses;
  // 30 days, the newest row a minute ago: step in ms between consecutive global rows.
  const double step_ms = 30.0 * 86'400'000.0 / static_cast<double>(rows);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() -
                      60'000;
  const long long oldest_ms = now_ms - static_cast<long long>(step_ms * static_cast<double>(rows));
  // The log's indexes, rebuilt after the rows are in (far faster than row by row).
  std::vector<std::string> indexes;
  for (const auto& row : query_database(
           url, pg ? "SELECT indexdef FROM pg_indexes WHERE tablename = 'sync_operations'"
                     " AND indexname <> 'sync_operations_pkey'"
                   : "SELECT sql FROM sqlite_master WHERE type = 'index' AND"
                     " tbl_name = 'sync_operations' AND sql IS NOT NULL"))
    indexes.push_back(*row[0]);
  for (const std::string& def : indexes) {
    const std::string name =
        def.substr(def.find("INDEX ") + 6, def.find(" ON ") - def.find("INDEX ") - 6);
    execute(url, db.get(), "DROP INDEX " + name);
  }
  if (pg) {
    execute(url, nullptr,
            "INSERT INTO businesses (id, name, created_at) SELECT 'biz-' || lpad(b::text, 5, '0'),"
            " 'Business ' || b, now() - interval '60 days' FROM generate_series(0, " +
                std::to_string(o.businesses - 1) + ") b");
    // Business by business, in key order; g = j * businesses + b interleaves their times.
    const std::string g = "(j::bigint * " + std::to_string(o.businesses) + " + b)";
    execute(url, nullptr,
            "SET synchronous_commit = off; INSERT INTO sync_operations (business_id, operation_id,"
            " entity, action, status, error, message, entity_id, payload, client_timestamp,"
            " processed_at, created_at)"
            " SELECT 'biz-' || lpad(b::text, 5, '0'), 'op-' || lpad(j::text, 8, '0'), " +
                row_columns(g) + ", md5(" + g +
                "::text)::uuid::text, '{\"name\":\"Seeded\",\"notes\":\"x\"}'::jsonb, " +
                "NULL, to_timestamp((" + std::to_string(oldest_ms) + " + " + g + " * " +
                std::to_string(step_ms) + ") / 1000.0), to_timestamp((" +
                std::to_string(oldest_ms) + " + " + g + " * " + std::to_string(step_ms) +
                ") / 1000.0)"
                " FROM generate_series(0, " +
                std::to_string(o.businesses - 1) + ") b, generate_series(0, " +
                std::to_string(per_business - 1) + ") j");
  } else {
    db->exec("WITH RECURSIVE b(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM b WHERE b < " +
             std::to_string(o.businesses - 1) +
             ") INSERT INTO businesses (id, name, created_at)"
             " SELECT printf('biz-%05d', b), 'Business ' || b, strftime('%Y-%m-%dT%H:%M:%fZ', "
             "'now', '-60 days') FROM b");
    // One transaction per business, rows in key order.
    for (int b = 0; b < o.businesses; ++b) {
      const std::string g =
          "(j * " + std::to_string(o.businesses) + " + " + std::to_string(b) + ")";
      const std::string at = "strftime('%Y-%m-%dT%H:%M:%fZ', (" + std::to_string(oldest_ms) +
                             " + CAST(" + g + " * " + std::to_string(step_ms) +
                             " AS INTEGER)) / 1000.0, 'unixepoch')";
      db->exec("BEGIN; WITH RECURSIVE s(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM s WHERE j < " +
               std::to_string(per_business - 1) +
               ") INSERT INTO sync_operations (business_id, operation_id, entity, action, status,"
               " error, message, entity_id, payload, client_timestamp, processed_at, created_at)"
               " SELECT '" +
               business_id(b) + "', printf('op-%08d', j), " + row_columns(g) +
               ", lower(hex(randomblob(16))), '{\"name\":\"Seeded\",\"notes\":\"x\"}', NULL, " +
               at + ", " + at + " FROM s; COMMIT");
    }
  }
  std::cerr << "  rows in " << std::fixed << std::setprecision(0) << seconds_since(start)
            << " s; indexes...\n";
  for (const std::string& def : indexes) execute(url, db.get(), def);
  // PostgreSQL: the statistics the server's start and autovacuum keep. SQLite: none, as
  // in production (the server never runs ANALYZE there).
  if (pg) execute(url, nullptr, "ANALYZE");
  return seconds_since(start);
}

struct Combination {
  std::string name;
  // The query for the i-th sample (a different business each time).
  std::function<std::string(int)> target;
};

std::vector<Combination> combinations(const Options& o, const std::string& day_ago,
                                      const std::string& hour_ago, const std::string& week_ago) {
  auto biz = [o](int i) { return business_id((i * 7919) % o.businesses); };
  auto op = [o](int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "op-%08ld",
                  static_cast<long>((i * 104729L) % (o.rows / o.businesses)));
    return std::string(buf);
  };
  return {
      {"all tenants, no filter", [](int) { return "/admin/operations"; }},
      {"business", [=](int i) { return "/admin/operations?businessId=" + biz(i); }},
      {"business + status=failed",
       [=](int i) { return "/admin/operations?status=failed&businessId=" + biz(i); }},
      {"business + status=applied",
       [=](int i) { return "/admin/operations?status=applied&businessId=" + biz(i); }},
      {"business + entity (rare)",
       [=](int i) { return "/admin/operations?entity=distribuciones&businessId=" + biz(i); }},
      {"business + errorCode",
       [=](int i) { return "/admin/operations?errorCode=CONFLICT&businessId=" + biz(i); }},
      {"business + from/to (1 day, a week ago)",
       [=](int i) {
         return "/admin/operations?from=" + week_ago + "&to=" + day_ago + "&businessId=" + biz(i);
       }},
      {"business + entity + failed + from",
       [=](int i) {
         return "/admin/operations?entity=sales&status=failed&from=" + week_ago +
                "&businessId=" + biz(i);
       }},
      {"business + operationId",
       [=](int i) { return "/admin/operations?operationId=" + op(i) + "&businessId=" + biz(i); }},
      {"operationId, all tenants", [=](int i) { return "/admin/operations?operationId=" + op(i); }},
      {"status=failed, all tenants", [](int) { return "/admin/operations?status=failed"; }},
      {"entity (rare), all tenants", [](int) { return "/admin/operations?entity=distribuciones"; }},
      {"entity (none such), all tenants",
       [](int) { return "/admin/operations?entity=no_such_entity"; }},
      {"errorCode=NOT_FOUND, all tenants",
       [](int) { return "/admin/operations?errorCode=NOT_FOUND"; }},
      {"from/to (last hour), all tenants",
       [=](int) { return "/admin/operations?from=" + hour_ago; }},
      {"conflicts of a business", [=](int i) { return "/admin/conflicts?businessId=" + biz(i); }},
      {"conflicts, all tenants", [](int) { return "/admin/conflicts"; }},
      {"businesses (100 with their 24 h counts)", [](int) { return "/admin/businesses"; }},
  };
}

std::string iso(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

int run_store(const std::string& store, const Options& o, PgCluster* pg) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("avsync-admin-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "admin-token") << kCredential;
  std::vector<std::string> flags{"--admin-token-file",   (dir / "admin-token").string(),
                                 "--rate-limit",         "0",
                                 "--op-rate-limit",      "0",
                                 "--log-retention-days", "0"};
  auto server = store == "postgres" ? std::make_unique<ServerProcess>(pg->new_database(), flags)
                                    : std::make_unique<ServerProcess>(flags);
  std::cerr << store << ": seeding " << o.rows << " log rows over " << o.businesses
            << " businesses\n";
  const double seeded = seed(server->db_url(), o);
  std::cout << store << ": seeded " << o.rows << " rows in " << std::fixed << std::setprecision(0)
            << seeded << " s\n";
  server->start();
  HttpClient http(server->port());
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", std::string("Bearer ") + kCredential}};
  const auto now = std::chrono::system_clock::now();
  auto all = combinations(o, iso(now - std::chrono::hours(24 * 6)),
                          iso(now - std::chrono::hours(1)), iso(now - std::chrono::hours(24 * 7)));
  int missed = 0;
  std::cout << std::left << std::setw(44) << "  combination" << std::right << std::setw(10)
            << "median ms" << std::setw(10) << "p99 ms" << std::setw(8) << "rows"
            << "\n";
  for (const Combination& c : all) {
    std::vector<double> samples;
    std::size_t rows_seen = 0;
    for (int run = 0; run < o.runs; ++run) {
      for (int i = 0; i < o.queries; ++i) {
        std::string target = c.target(run * o.queries + i);
        auto t0 = Clock::now();
        auto res = http.request("GET", target, "", auth);
        samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (res.status != 200)
          throw std::runtime_error(target + ": " + std::to_string(res.status) + " " + res.body);
        auto body = avsync::testing::parse_json_body(res.body).as_object();
        for (const auto& [key, value] : body)
          if (value.is_array()) rows_seen += value.as_array().size();
        // Every other sample resumes from the page's cursor, as a second page does.
        if (i % 2 == 1 && body.at("nextCursor").is_string()) {
          target += std::string(target.find('?') == std::string::npos ? "?" : "&") +
                    "cursor=" + std::string(body.at("nextCursor").as_string());
          t0 = Clock::now();
          res = http.request("GET", target, "", auth);
          samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (res.status != 200)
            throw std::runtime_error(target + ": " + std::to_string(res.status) + " " + res.body);
        }
      }
    }
    const double median = percentile(samples, 0.5), p99 = percentile(samples, 0.99);
    const bool target = c.name.starts_with("businesses") || p99 < kTargetMs;
    if (!target) ++missed;
    std::cout << "  " << std::left << std::setw(42) << c.name << std::right << std::fixed
              << std::setprecision(1) << std::setw(10) << median << std::setw(10) << p99
              << std::setw(8) << rows_seen / static_cast<std::size_t>(o.runs * o.queries)
              << (target ? "" : "  MISSED < 50 ms") << "\n";
  }
  server->stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return missed;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rows")
      o.rows = std::stol(value);
    else if (flag == "--businesses")
      o.businesses = std::stoi(value);
    else if (flag == "--runs")
      o.runs = std::max(1, std::stoi(value));
    else if (flag == "--queries")
      o.queries = std::max(2, std::stoi(value));
    else if (flag == "--stores")
      o.stores = value == "both" ? std::vector<std::string>{"sqlite", "postgres"}
                                 : std::vector<std::string>{value};
    else {
      std::cerr << "usage: avsync-admin-bench [--rows N] [--businesses N] [--runs N] [--queries N]"
                   " [--stores sqlite|postgres|both]\n";
      return 2;
    }
  }
  if (argc % 2 == 0 || o.businesses < 1 || o.rows < o.businesses) {
    std::cerr
        << "avsync-admin-bench: every flag takes a value; --rows must be at least --businesses\n";
    return 2;
  }
  try {
    int missed = 0;
    std::unique_ptr<PgCluster> pg;
    for (const std::string& store : o.stores) {
      if (store == "postgres" && !pg) pg = std::make_unique<PgCluster>("admin");
      missed += run_store(store, o, pg.get());
    }
    std::cout << (missed ? std::to_string(missed) + " combination(s) missed the 50 ms target\n"
                         : "every search met the 50 ms target (p99)\n");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "avsync-admin-bench: " << e.what() << "\n";
    return 1;
  }
}

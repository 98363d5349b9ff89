// avsync-bench: pushes batches of mixed operations from concurrent clients while a reader
// follows the feed, then times a large initial pull (each page parsed by the client SDK's
// decoder), against a real avsync-server process.
// With --tenants N the clients' batches go to N businesses in turn; with --raw the
// database's own limit for the same rows (raw_limit.hpp) is measured first, in the same run
// on the same database, and the push is reported as a ratio of it.
// A fairness phase follows: tenant A pushes 500-operation batches, four at a time, while
// tenant B pushes one-operation batches one after another; B's latency is reported beside
// B's latency with A idle, measured in the same run.
// Prints one line of figures; scripts/bench runs it several times and reports medians.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/response_decoder.hpp"
#include "http_client.hpp"
#include "process_stats.hpp"
#include "raw_limit.hpp"
#include "server_process.hpp"
#include "sync_fixture.hpp"

namespace {

using avsync::bench::cpu_seconds;
using avsync::bench::percentile;
using avsync::bench::status_kib;

using avsync::testing::HttpClient;
using avsync::testing::new_uuid;
using avsync::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string db;  // empty: a fresh temporary SQLite file
  int clients = 8;
  int batches_per_client = 60;
  int batch_size = 100;
  int pull_rows = 50000;
  std::string threads;  // server --threads; empty: its default
  std::string db_pool;  // server --db-pool; empty: its default
  int naive_ops = 0;    // also push this many operations one per request (one transaction each)
  int fair_batches = 8;     // large batches each of tenant A's senders pushes (0: no fairness phase)
  int fair_senders = 4;     // tenant A's concurrent senders
  int fair_batch_size = 500;
  int fair_baseline = 100;  // B's one-operation batches with A idle
  int scrape_ms = 0;        // GET /metrics (admin credential) this often during the push; 0: never
  int tenants = 1;          // businesses the push spreads over, each with its own token
  int pull_page = 0;        // the pull's page size (limit); 0: the server's default
  bool raw = false;         // also measure the database's raw insert limit (raw_limit.hpp)
};

// An hour ago plus `offset_ms`: every batch a seller builds is stamped later than the one
// before, so its updates win last-write-wins over the inserts they follow.
std::string past_iso(long offset_ms) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count() - 3600000 + offset_ms;
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
  return buf + std::string(millis);
}

boost::json::object op(const char* entity, const char* action, const std::string& id,
                       boost::json::object payload, const std::string& ts) {
  return {{"operationId", new_uuid()}, {"entity", entity}, {"action", action}, {"entityId", id},
          {"payload", std::move(payload)}, {"clientTimestamp", ts}};
}

// A realistic seller's batch: customers, their sales with items and payments, stock
// distributions, and updates of customers created earlier.
std::string mixed_batch(std::mt19937_64& rng, int size, int batch_number, std::vector<std::string>& customers) {
  boost::json::array ops;
  const std::string ts = past_iso(batch_number * 1000L);
  const std::size_t earlier = customers.size();  // updates touch rows of earlier batches only
  while (static_cast<int>(ops.size()) < size) {
    std::string customer = new_uuid(), sale = new_uuid();
    ops.push_back(op("customers", "insert", customer, {{"name", "Cliente " + customer.substr(0, 8)}, {"phone", "+57 300"}}, ts));
    ops.push_back(op("sales", "insert", sale, {{"customer_id", customer}, {"total", "45.50"}, {"payment_type", "credit"}}, ts));
    ops.push_back(op("sale_items", "insert", new_uuid(), {{"sale_id", sale}, {"product_name", "Arroz 1kg"}, {"quantity", 3}, {"unit_price", "10.50"}}, ts));
    ops.push_back(op("sale_items", "insert", new_uuid(), {{"sale_id", sale}, {"product_name", "Aceite"}, {"quantity", 1}, {"unit_price", "14.00"}}, ts));
    ops.push_back(op("abonos", "insert", new_uuid(), {{"customer_id", customer}, {"sale_id", sale}, {"amount", "20.00"}}, ts));
    ops.push_back(op("distribuciones", "insert", new_uuid(), {{"product_name", "Arroz 1kg"}, {"quantity", "12.5"}, {"seller", "ruta 3"}}, ts));
    if (earlier > 0)  // stamped after everything before it, even an update of the same row
      ops.push_back(op("customers", "update", customers[rng() % earlier], {{"notes", "visitado"}},
                       past_iso(batch_number * 1000L + static_cast<long>(ops.size()))));
    customers.push_back(customer);
  }
  ops.resize(static_cast<std::size_t>(size));
  return boost::json::serialize(boost::json::object{{"operations", std::move(ops)}});
}

struct FairnessFigures {
  double b_idle_p50_ms = 0;  // B alone: the baseline
  double b_p50_ms = 0;       // B while A pushes
  double b_p99_ms = 0;
  std::size_t b_batches = 0;
  double a_ops_per_s = 0;
  long failures = 0;
};

bool batch_failed(const avsync::testing::HttpResult& res) {
  return res.status != 200 || res.body.find("\"success\":false") != std::string::npos;
}

// Tenant A: fair_senders senders, each pushing fair_batches batches of fair_batch_size
// operations back to back. Tenant B: one-operation batches, one after another, for as long
// as A pushes (and fair_baseline of them before, with A idle).
FairnessFigures run_fairness_phase(const Options& o, std::uint16_t port, const std::string& a_token,
                                   const std::string& b_token) {
  FairnessFigures f;
  if (o.fair_batches <= 0) return f;
  std::vector<std::vector<std::string>> a_bodies(static_cast<std::size_t>(o.fair_senders));
  for (int s = 0; s < o.fair_senders; ++s) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(s) * 31337 + 3);
    std::vector<std::string> customers;
    for (int b = 0; b < o.fair_batches; ++b)
      a_bodies[static_cast<std::size_t>(s)].push_back(mixed_batch(rng, o.fair_batch_size, b, customers));
  }
  std::mt19937_64 b_rng(99);
  std::vector<std::string> b_customers;
  int b_number = 0;
  auto b_body = [&] { return mixed_batch(b_rng, 1, b_number++, b_customers); };
  std::atomic<long> failures{0};
  HttpClient b_client(port);
  auto time_b = [&](std::vector<double>& into) {
    std::string body = b_body();
    auto t0 = Clock::now();
    auto res = b_client.post_batch(b_token, body);
    into.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (batch_failed(res)) ++failures;
  };

  std::vector<double> idle;
  for (int i = 0; i < o.fair_baseline; ++i) time_b(idle);

  std::atomic<int> a_running{o.fair_senders};
  auto a_start = Clock::now();
  std::vector<std::thread> senders;
  for (int s = 0; s < o.fair_senders; ++s)
    senders.emplace_back([&, s] {
      HttpClient client(port);
      for (const auto& body : a_bodies[static_cast<std::size_t>(s)])
        if (batch_failed(client.post_batch(a_token, body))) ++failures;
      --a_running;
    });
  std::vector<double> loaded;
  while (a_running > 0) time_b(loaded);
  for (auto& t : senders) t.join();
  const double a_seconds = std::chrono::duration<double>(Clock::now() - a_start).count();

  f.b_idle_p50_ms = percentile(idle, 0.50);
  f.b_p50_ms = percentile(loaded, 0.50);
  f.b_p99_ms = percentile(loaded, 0.99);
  f.b_batches = loaded.size();
  f.a_ops_per_s = static_cast<double>(o.fair_senders) * o.fair_batches * o.fair_batch_size / a_seconds;
  f.failures = failures;
  return f;
}

int run(const Options& o) {
  // Eight clients share one token, far past a device's rate: this measures the server, so
  // the per-token limit is off.
  std::vector<std::string> serve_args{"--rate-limit", "0", "--op-rate-limit", "0"};
  // A scraper reads /metrics as Prometheus would, with the admin credential (a server built
  // before /metrics existed answers it 404: the same request, without the rendering).
  constexpr char kAdminCredential[] = "adm_bench0scraper0credential0000000000000";
  const auto credential_file = std::filesystem::temp_directory_path() /
                               ("avsync-bench-admin-" + std::to_string(::getpid()));
  if (o.scrape_ms > 0) {
    std::ofstream(credential_file) << kAdminCredential;
    serve_args.insert(serve_args.end(), {"--admin-token-file", credential_file.string()});
  }
  if (!o.threads.empty()) serve_args.insert(serve_args.end(), {"--threads", o.threads});
  if (!o.db_pool.empty()) serve_args.insert(serve_args.end(), {"--db-pool", o.db_pool});
  auto server = o.db.empty() ? std::make_unique<ServerProcess>(serve_args)
                             : std::make_unique<ServerProcess>(o.db, serve_args);
  std::vector<std::string> tokens;
  for (int t = 0; t < o.tenants; ++t)
    tokens.push_back(
        server->create_token(server->create_business("bench push " + std::to_string(t)), "bench"));
  const std::string& token = tokens.front();  // the follower's tenant
  std::string pull_business = server->create_business("bench pull");
  std::string pull_token = server->create_token(pull_business, "bench");
  std::string fair_a_token = server->create_token(server->create_business("bench fair A"), "bench");
  std::string fair_b_token = server->create_token(server->create_business("bench fair B"), "bench");
  double raw_rows_per_s = 0;
  if (o.raw) {
    // Before the server starts, so nothing else runs on the machine meanwhile.
    const avsync::bench::RawLoad load{o.clients, o.batches_per_client, o.batch_size};
    raw_rows_per_s = o.db.empty() ? avsync::bench::raw_sqlite_rows_per_s(
                                        (std::filesystem::temp_directory_path() /
                                         ("avsync-bench-raw-" + std::to_string(::getpid()) + ".db"))
                                            .string(),
                                        load)
                                  : avsync::bench::raw_postgres_rows_per_s(o.db, load);
  }
  server->start();

  // Push phase: o.clients sellers pushing concurrently while one reader follows the feed.
  std::atomic<bool> pushing{true};
  std::atomic<long> followed_rows{0};
  std::thread follower([&] {
    HttpClient client(server->port());
    std::string cursor;
    while (pushing) {
      auto res = client.get_changes(token, cursor.empty() ? "" : "since=" + cursor);
      if (res.status != 200) break;
      auto v = boost::json::parse(res.body);
      followed_rows += static_cast<long>(v.at("changes").as_array().size());
      cursor = v.at("cursor").as_string().c_str();
      // Caught up: poll again shortly, as a device that keeps in sync would.
      if (!v.at("hasMore").as_bool()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(o.clients));
  std::atomic<long> failures{0};
  // Requests are built before the clock starts: only the server's work is timed. Client c's
  // batch b goes to tenant (c + b * clients) mod tenants; its updates name customers it
  // created earlier in that tenant.
  struct Request {
    const std::string* token;
    std::string body;
  };
  std::vector<std::vector<Request>> bodies(static_cast<std::size_t>(o.clients));
  for (int c = 0; c < o.clients; ++c) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(c) * 7919 + 1);
    std::vector<std::vector<std::string>> customers(tokens.size());
    for (int b = 0; b < o.batches_per_client; ++b) {
      const std::size_t tenant = static_cast<std::size_t>(c + b * o.clients) % tokens.size();
      bodies[static_cast<std::size_t>(c)].push_back(
          {&tokens[tenant], mixed_batch(rng, o.batch_size, b, customers[tenant])});
    }
  }
  std::atomic<long> scrapes{0}, scraped_bytes{0};
  std::thread scraper([&] {
    if (o.scrape_ms <= 0) return;
    HttpClient client(server->port());
    while (pushing) {
      auto res = client.request("GET", "/metrics", "", {{"Authorization", std::string("Bearer ") + kAdminCredential}});
      ++scrapes;
      scraped_bytes += static_cast<long>(res.body.size());
      std::this_thread::sleep_for(std::chrono::milliseconds(o.scrape_ms));
    }
  });
  const double cpu_before_push = cpu_seconds(server->pid());
  auto push_start = Clock::now();
  std::vector<std::thread> sellers;
  for (int c = 0; c < o.clients; ++c)
    sellers.emplace_back([&, c] {
      HttpClient client(server->port());
      for (const Request& request : bodies[static_cast<std::size_t>(c)]) {
        auto t0 = Clock::now();
        auto res = client.post_batch(*request.token, request.body);
        latencies[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (res.status != 200 || res.body.find("\"success\":false") != std::string::npos) {
          auto at = res.body.find("\"success\":false");
          if (failures++ == 0) std::cerr << "first failure: " << res.body.substr(at == std::string::npos ? 0 : at, 300) << "\n";
        }
      }
    });
  for (auto& t : sellers) t.join();
  double push_seconds = std::chrono::duration<double>(Clock::now() - push_start).count();
  const double push_cpu = cpu_seconds(server->pid()) - cpu_before_push;

  // The naive design for comparison: the same kind of operations, one per request, so one
  // transaction (and one durable commit) per operation.
  double naive_ops_per_s = 0;
  if (o.naive_ops > 0) {
    std::vector<std::vector<std::string>> singles(static_cast<std::size_t>(o.clients));
    for (int c = 0; c < o.clients; ++c) {
      std::mt19937_64 rng(static_cast<std::uint64_t>(c) * 104729 + 7);
      std::vector<std::string> customers;
      for (int i = 0; i < o.naive_ops / o.clients; ++i)
        singles[static_cast<std::size_t>(c)].push_back(mixed_batch(rng, 1, i, customers));
    }
    auto naive_start = Clock::now();
    std::vector<std::thread> naive;
    for (int c = 0; c < o.clients; ++c)
      naive.emplace_back([&, c] {
        HttpClient client(server->port());
        for (const auto& body : singles[static_cast<std::size_t>(c)])
          if (client.post_batch(token, body).status != 200) ++failures;
      });
    for (auto& t : naive) t.join();
    naive_ops_per_s = static_cast<double>(o.naive_ops / o.clients * o.clients) /
                      std::chrono::duration<double>(Clock::now() - naive_start).count();
  }
  pushing = false;
  follower.join();
  scraper.join();
  if (o.scrape_ms > 0) std::filesystem::remove(credential_file);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  long total_ops = static_cast<long>(o.clients) * o.batches_per_client * o.batch_size;

  // Pull phase: a device's initial sync of pull_rows rows, in pages of pull_page rows.
  {
    HttpClient loader(server->port());
    std::string ts = past_iso(0);
    for (int done = 0; done < o.pull_rows;) {
      boost::json::array ops;
      for (int i = 0; i < 500 && done < o.pull_rows; ++i, ++done)
        ops.push_back(op("distribuciones", "insert", new_uuid(),
                         {{"product_name", "Producto " + std::to_string(done)}, {"quantity", "2.5"}, {"route", "norte"}}, ts));
      loader.post_batch(pull_token, boost::json::serialize(boost::json::object{{"operations", std::move(ops)}}));
    }
  }
  // The same initial sync, five times over; the median is reported.
  HttpClient puller(server->port());
  long pulled = 0;
  std::vector<double> pull_rates;
  for (int attempt = 0; attempt < 5; ++attempt) {
    pulled = 0;
    std::string cursor;
    auto pull_start = Clock::now();
    for (;;) {
      std::string query = cursor.empty() ? "" : "since=" + cursor;
      if (o.pull_page > 0)
        query += (query.empty() ? "limit=" : "&limit=") + std::to_string(o.pull_page);
      auto res = puller.get_changes(pull_token, query);
      if (res.status != 200) break;
      // Parsed as the SDK's clients parse a page, into their change values.
      auto page = avsync::client::decode_changes_page(res.body);
      if (!page) break;
      pulled += static_cast<long>(page->changes.size());
      cursor = page->cursor;
      if (!page->has_more) break;
    }
    pull_rates.push_back(static_cast<double>(pulled) /
                         std::chrono::duration<double>(Clock::now() - pull_start).count());
  }
  const FairnessFigures fair = run_fairness_phase(o, server->port(), fair_a_token, fair_b_token);
  long peak_kib = status_kib(server->pid(), "VmHWM");
  server->stop();

  // server_cpu_us_per_op: the server's CPU time (all threads) per pushed operation, a figure
  // less sensitive than ops/s to the load generator sharing the machine.
  std::printf("ops_per_s=%.0f p50_ms=%.2f p99_ms=%.2f pull_rows_per_s=%.0f server_peak_rss_mb=%.1f "
              "server_cpu_us_per_op=%.1f naive_ops_per_s=%.0f ops=%ld failed_batches=%ld followed_rows=%ld "
              "pulled_rows=%ld",
              static_cast<double>(total_ops) / push_seconds, percentile(all, 0.50), percentile(all, 0.99),
              percentile(pull_rates, 0.5), static_cast<double>(peak_kib) / 1024.0, push_cpu * 1e6 / static_cast<double>(total_ops), naive_ops_per_s, total_ops,
              failures.load(), followed_rows.load(), pulled);
  if (o.fair_batches > 0)
    std::printf(" fair_b_idle_p50_ms=%.2f fair_b_p50_ms=%.2f fair_b_p99_ms=%.2f fair_b_batches=%zu fair_a_ops_per_s=%.0f"
                " fair_failures=%ld",
                fair.b_idle_p50_ms, fair.b_p50_ms, fair.b_p99_ms, fair.b_batches, fair.a_ops_per_s, fair.failures);
  if (o.scrape_ms > 0) std::printf(" scrapes=%ld scraped_bytes=%ld", scrapes.load(), scraped_bytes.load());
  if (o.raw)
    std::printf(" raw_rows_per_s=%.0f push_vs_raw=%.3f", raw_rows_per_s,
                static_cast<double>(total_ops) / push_seconds / raw_rows_per_s);
  if (o.tenants > 1) std::printf(" tenants=%d", o.tenants);
  std::printf("\n");
  return failures == 0 && pulled == o.pull_rows && fair.failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // The load generator keeps the memory it frees for its next page instead of handing it
  // back to the kernel (an mmap threshold of 32 MiB and a trim threshold above it): otherwise, on
  // the 2-core VM, each 4.3 MB page faulted its memory in again, which doubled the client's time
  // per page (49 instead of 25 ms to receive it, 10 instead of 5 ms to decode it) and made the pull
  // a measure of the VM's page faults. The server, started as its own process, keeps glibc's
  // defaults.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--db") o.db = value;
    else if (flag == "--clients") o.clients = std::stoi(value);
    else if (flag == "--batches") o.batches_per_client = std::stoi(value);
    else if (flag == "--batch-size") o.batch_size = std::stoi(value);
    else if (flag == "--pull-rows") o.pull_rows = std::stoi(value);
    else if (flag == "--server-threads") o.threads = value;
    else if (flag == "--naive-ops") o.naive_ops = std::stoi(value);
    else if (flag == "--db-pool") o.db_pool = value;
    else if (flag == "--fair-batches") o.fair_batches = std::stoi(value);
    else if (flag == "--fair-senders") o.fair_senders = std::stoi(value);
    else if (flag == "--fair-batch-size") o.fair_batch_size = std::stoi(value);
    else if (flag == "--scrape-metrics-ms") o.scrape_ms = std::stoi(value);
    else if (flag == "--tenants")
      o.tenants = std::max(1, std::stoi(value));
    else if (flag == "--pull-page")
      o.pull_page = std::stoi(value);
    else if (flag == "--raw")
      o.raw = value == "1" || value == "yes";
    else if (flag == "--server-binary") setenv("AVSYNC_SERVER_BIN_OVERRIDE", value.c_str(), 1);
    else {
      std::cerr
          << "usage: avsync-bench [--db URL] [--clients N] [--batches N] [--batch-size N] "
             "[--pull-rows N]"
             " [--server-threads N] [--db-pool N] [--naive-ops N] [--fair-batches N (0: no "
             "fairness phase)]"
             " [--fair-senders N] [--fair-batch-size N] [--scrape-metrics-ms MS (0: no scraping)]"
             " [--server-binary PATH (another avsync-server build)] [--tenants N] [--pull-page N]"
             " [--raw yes|no (also measure the database's raw insert limit)]\n";
      return 2;
    }
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "avsync-bench: " << e.what() << "\n";
    return 1;
  }
}

// avsync-client-bench: the client SDK's two figures that matter on a device.
//  1. Local mutation throughput: single writes through Client (each one a durable SQLite
//     transaction that changes the row and enqueues its operation), no server involved.
//  2. Initial sync: a server holding `rows` rows, then `avsync sync` into an empty data file,
//     in its own process, timed from the outside with its peak RSS (getrusage of the child).
// Prints one line of figures; scripts/bench-client runs it several times and reports medians.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "avsync/client.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "sync_fixture.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using avsync::testing::new_uuid;

struct Options {
  int mutations = 5000;
  int rows = 50000;
  int page_size = 0;  // avsync sync --page-size; 0: the client's default
};

constexpr const char* kUsage =
    "usage: avsync-client-bench [--mutations N] [--rows N] [--page-size N]\n\n"
    "Prints one line of figures: single durable local writes through the SDK (--mutations,\n"
    "default 5000: mutations/s, p50 and p99 ms), then an initial sync of --rows rows (default\n"
    "50000) by `avsync sync` into an empty data file, in its own process (rows/s, seconds,\n"
    "peak RSS). The server (no rate limits, so seeding is not throttled) is seeded through\n"
    "the HTTP API in batches of 500 first; that is not timed. --page-size is passed to\n"
    "`avsync sync` (default: the client's).\n";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Single durable writes: a customer, then a sale for it, then an update of the customer,
// repeating. Returns mutations/s and fills per-write latencies.
double local_mutations(const std::string& path, int count, std::vector<double>& latencies_ms) {
  avsync::ClientOptions options;
  options.data_path = path;
  auto client = avsync::Client::open(options);
  if (!client) throw std::runtime_error(client.error().message);
  std::string customer;
  auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    auto t = Clock::now();
    bool ok = true;
    switch (i % 3) {
      case 0: {
        auto row = (*client)->insert("customers", {{"name", "Cliente " + std::to_string(i)}, {"phone", "+57 300"}});
        ok = bool(row);
        if (row) customer = row->id;
        break;
      }
      case 1:
        ok = bool((*client)->insert("sales", {{"customer_id", customer}, {"total", "45.50"}, {"payment_type", "credit"}}));
        break;
      case 2:
        ok = bool((*client)->update("customers", customer, {{"notes", "visitado"}}));
        break;
    }
    if (!ok) throw std::runtime_error("a local write failed");
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return count / seconds_since(start);
}

// Fills tenant `token` with `rows` rows through the HTTP API, in batches of 500.
void seed_server(avsync::testing::HttpClient& http, const std::string& token, int rows) {
  int made = 0;
  while (made < rows) {
    boost::json::array ops;
    for (int i = 0; i < 500 && made < rows; ++i, ++made) {
      boost::json::object payload;
      const char* entity = made % 2 ? "distribuciones" : "customers";
      if (made % 2) {
        payload = {{"product_name", "Arroz 1kg"}, {"quantity", "12.5"}, {"seller", "ruta 3"}, {"route", "norte"}};
      } else {
        payload = {{"name", "Cliente " + std::to_string(made)}, {"phone", "+57 300 000 0000"}, {"address", "Calle 1"}};
      }
      ops.push_back(boost::json::object{{"operationId", new_uuid()}, {"entity", entity}, {"action", "insert"},
                                        {"entityId", new_uuid()}, {"payload", payload},
                                        {"clientTimestamp", "2026-01-01T00:00:00.000Z"}});
    }
    auto res = http.post_batch(token, boost::json::serialize(boost::json::object{{"operations", ops}}));
    if (res.status != 200) throw std::runtime_error("seeding failed: " + res.body);
  }
}

struct ChildRun {
  int exit_code;
  double seconds;
  double peak_rss_mb;
};

ChildRun run_timed(const std::vector<std::string>& argv, const std::filesystem::path& dir) {
  auto start = Clock::now();
  pid_t pid = avsync::testing::spawn_program(argv, dir / "child.out", dir / "child.err");
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds_since(start), usage.ru_maxrss / 1024.0};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 == argc) {
      std::cerr << kUsage;
      return 2;
    }
    if (flag == "--mutations") o.mutations = std::stoi(argv[i + 1]);
    else if (flag == "--rows") o.rows = std::stoi(argv[i + 1]);
    else if (flag == "--page-size")
      o.page_size = std::stoi(argv[i + 1]);
    else {
      std::cerr << kUsage;
      return 2;
    }
  }
  try {
    avsync::testing::ServerProcess server({"--rate-limit", "0", "--op-rate-limit", "0"});
    auto business = server.create_business("Bench");
    auto token = server.create_token(business, "bench");
    server.start();

    std::vector<double> latencies;
    double mutations_per_s = local_mutations((server.dir() / "mutations.db").string(), o.mutations, latencies);
    std::sort(latencies.begin(), latencies.end());

    avsync::testing::HttpClient http(server.port());
    seed_server(http, token, o.rows);
    const std::string data = (server.dir() / "device.db").string();
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
    auto init = run_timed({AVSYNC_CLI_BIN, "--data", data, "init", "--server", url, "--token", token}, server.dir());
    std::vector<std::string> sync_argv{AVSYNC_CLI_BIN, "--data", data, "sync"};
    if (o.page_size > 0)
      sync_argv.insert(sync_argv.end(), {"--page-size", std::to_string(o.page_size)});
    auto sync = run_timed(sync_argv, server.dir());
    if (init.exit_code != 0 || sync.exit_code != 0) throw std::runtime_error("avsync sync failed");

    std::printf("mutations_per_s=%.0f mutation_p50_ms=%.3f mutation_p99_ms=%.3f initial_sync_rows_per_s=%.0f "
                "initial_sync_s=%.2f client_peak_rss_mb=%.1f\n",
                mutations_per_s, latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100],
                o.rows / sync.seconds, sync.seconds, sync.peak_rss_mb);
    server.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "avsync-client-bench: " << e.what() << "\n";
    return 1;
  }
}

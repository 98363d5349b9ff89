// The convergence check: N client processes (the SDK) make random writes on all five
// entities through a fault-injecting proxy, going offline at random, while the server is
// killed with SIGKILL and restarted and a client is killed and restarted. Then the network
// heals, every client syncs until nothing is pending, and:
//   - every row on the server was inserted by exactly one processed operation, and every
//     processed insert has its row (nothing lost, nothing applied twice);
//   - every client's replica equals the server's state, row for row and field for field;
//   - no operation is left pending, and every failed one failed on the server with a
//     conflict-rule code (CONFLICT, NOT_FOUND, VALIDATION_ERROR).
// Seeded: the seed is printed and AVSYNC_TEST_SEED replays the schedule of writes and
// faults (process timing still varies). AVSYNC_CONVERGENCE_SECONDS (default 15) and
// AVSYNC_CONVERGENCE_CLIENTS (default 3) size the run; `make soak DURATION=...` runs long.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "fault_proxy.hpp"
#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using Fields = std::map<std::string, std::string>;  // field -> JSON text of its value

class ConvergenceTest : public SyncServerTest {
 protected:
  // The production default rate limit stays on: a client that trips it must still converge.
  std::vector<std::string> serve_args() const override { return {}; }

  pid_t spawn_client(int index, const std::string& mode_seconds_seed_args, std::vector<std::string> extra) {
    std::vector<std::string> argv{AVSYNC_CHAOS_CLIENT_BIN, mode_seconds_seed_args, data(index), proxy_url(), tokens[index]};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return spawn_program(argv, server->dir() / ("client" + std::to_string(index) + ".out"),
                         server->dir() / ("client" + std::to_string(index) + ".err"));
  }
  std::string data(int index) const { return (server->dir() / ("device" + std::to_string(index) + ".db")).string(); }
  std::string proxy_url() const { return "http://127.0.0.1:" + std::to_string(proxy->port()); }

  std::unique_ptr<FaultProxy> proxy;
  std::vector<std::string> tokens;
};

TEST_F(ConvergenceTest, ClientsConvergeWithTheServerThroughFaultsAndCrashes) {
  const char* env_seed = std::getenv("AVSYNC_TEST_SEED");
  const std::uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  const int seconds = env_int("AVSYNC_CONVERGENCE_SECONDS", 15);
  const int clients = env_int("AVSYNC_CONVERGENCE_CLIENTS", 3);
  std::printf("convergence: seed %llu, %d clients, %d s (AVSYNC_TEST_SEED=%llu replays the schedule)\n",
              static_cast<unsigned long long>(seed), clients, seconds, static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  proxy = std::make_unique<FaultProxy>(server->port(), rng());
  for (int i = 0; i < clients; ++i) tokens.push_back(server->create_token(business_a, "seller-" + std::to_string(i)));
  std::vector<pid_t> pids;
  for (int i = 0; i < clients; ++i) pids.push_back(spawn_client(i, "run", {std::to_string(rng()), std::to_string(seconds)}));

  // Crashes while they work: the server a few times, one client once.
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  int server_kills = 0, client_kills = 0;
  const int planned_server_kills = std::max(2, seconds / 5);
  for (int k = 1; k <= planned_server_kills; ++k) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(seconds * 1000LL * k / (planned_server_kills + 1)));
    server->kill9();
    ++server_kills;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    server->start();
    proxy->set_upstream_port(server->port());
    if (k == 1 && clients > 0) {
      const int victim = static_cast<int>(rng() % clients);
      ::kill(pids[victim], SIGKILL);
      ::waitpid(pids[victim], nullptr, 0);
      ++client_kills;
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
      pids[victim] = spawn_client(victim, "run", {std::to_string(rng()), std::to_string(std::max<long>(1, left.count()))});
    }
  }
  for (int i = 0; i < clients; ++i) {
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "client " << i << ": " << read_text(server->dir() / ("client" + std::to_string(i) + ".err"));
  }

  // Heal: a clean network, then every client syncs until nothing is pending; a second
  // round lets each one see what the others pushed last.
  proxy->set_faulty(false);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < clients; ++i) {
      const auto out = server->dir() / ("replica" + std::to_string(i) + ".json");
      auto settled = run_program({AVSYNC_CHAOS_CLIENT_BIN, "settle", data(i), proxy_url(), tokens[i], out.string()});
      ASSERT_EQ(settled.exit_code, 0) << "client " << i << " did not settle: " << settled.err;
    }
  }

  // The server's log and tables: every row inserted by exactly one processed operation.
  std::map<std::string, int> processed_inserts;  // "entity/id" -> count
  std::set<std::string> processed_updates;       // "entity/id"
  std::set<std::string> failed_on_server;
  std::size_t processed = 0, failed = 0;
  for (const auto& row : query_database(server->db_url(),
                                        "SELECT operation_id, entity, action, entity_id, status FROM sync_operations")) {
    if (*row[4] == "processed") {
      ++processed;
      if (*row[2] == "insert") ++processed_inserts[*row[1] + "/" + *row[3]];
      if (*row[2] == "update") processed_updates.insert(*row[1] + "/" + *row[3]);
    } else {
      ++failed;
      failed_on_server.insert(*row[0]);
    }
  }
  std::size_t rows_on_server = 0;
  for (const char* entity : {"customers", "sales", "sale_items", "abonos", "distribuciones"}) {
    for (const auto& row : query_database(server->db_url(), std::string("SELECT id FROM ") + entity)) {
      ++rows_on_server;
      const std::string key = std::string(entity) + "/" + *row[0];
      EXPECT_EQ(processed_inserts[key], 1) << key << " was not inserted exactly once";
    }
  }
  for (const auto& [key, count] : processed_inserts) EXPECT_EQ(count, 1) << key;
  // An update that applied had a row to apply to (an update of a missing row fails).
  for (const auto& key : processed_updates) EXPECT_EQ(processed_inserts.count(key), 1u) << "update without a row: " << key;
  std::size_t rows_with_insert = processed_inserts.size();
  EXPECT_EQ(rows_with_insert, rows_on_server) << "a processed insert without its row, or the reverse";

  // Every replica equals the server, and its queue holds only explained failures.
  std::map<std::string, Fields> truth;
  for (const auto& [key, row] : state_of(token_a)) {
    if (row.action != "upsert") continue;
    for (const auto& [name, value] : row.data.as_object()) truth[key][std::string(name)] = boost::json::serialize(value);
  }
  std::size_t failed_on_clients = 0;
  for (int i = 0; i < clients; ++i) {
    auto replica_json = parse_json_body(read_text(server->dir() / ("replica" + std::to_string(i) + ".json")));
    std::map<std::string, Fields> replica;
    for (const char* entity : {"customers", "sales", "sale_items", "abonos", "distribuciones"}) {
      for (const auto& row : replica_json.at(entity).as_array()) {
        const std::string key = std::string(entity) + "/" + row.at("id").as_string().c_str();
        for (const auto& [name, value] : row.as_object()) {
          if (name == "entity" || name == "syncState") continue;
          replica[key][std::string(name)] = boost::json::serialize(value);
        }
      }
    }
    EXPECT_EQ(replica.size(), truth.size()) << "client " << i;
    for (const auto& [key, fields] : truth) {
      auto it = replica.find(key);
      if (it == replica.end()) {
        ADD_FAILURE() << "client " << i << " lacks " << key;
        continue;
      }
      EXPECT_EQ(it->second, fields) << "client " << i << " diverged on " << key;
    }
    for (const auto& op : replica_json.at("queue").as_array()) {
      ++failed_on_clients;
      EXPECT_EQ(op.at("status"), "failed") << "client " << i << " left an operation pending";
      const std::string code = op.at("lastError").at("code").as_string().c_str();
      EXPECT_TRUE(code == "CONFLICT" || code == "NOT_FOUND" || code == "VALIDATION_ERROR")
          << "client " << i << ": " << code << " is not a conflict rule";
      EXPECT_TRUE(failed_on_server.count(op.at("operationId").as_string().c_str()))
          << "a failure the server did not record";
    }
  }

  const FaultCounters& f = proxy->counters();
  std::printf(
      "convergence figures: %zu operations on the server (%zu applied, %zu failed), %zu rows, "
      "%zu failed operations kept on clients; server crashes %d, client crashes %d; proxy: %llu requests, "
      "%llu delayed, %llu dropped before the server, %llu responses dropped after it, %llu reset mid-body, "
      "%llu throttled, %llu while the server was down\n",
      processed + failed, processed, failed, rows_on_server, failed_on_clients, server_kills, client_kills,
      static_cast<unsigned long long>(f.requests.load()), static_cast<unsigned long long>(f.delayed.load()),
      static_cast<unsigned long long>(f.dropped_requests.load()), static_cast<unsigned long long>(f.dropped_responses.load()),
      static_cast<unsigned long long>(f.resets.load()), static_cast<unsigned long long>(f.throttled.load()),
      static_cast<unsigned long long>(f.upstream_down.load()));
  EXPECT_GT(processed, 0u);
  EXPECT_GT(f.dropped_responses.load(), 0u) << "the run never exercised a lost response";
}

}  // namespace
}  // namespace avsync::testing

// PostgreSQL going away and coming back: requests fail cleanly with 503 UNAVAILABLE while
// it is down, nothing is half-applied, and the server recovers without a restart. The
// test runs its own cluster, since it stops it.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "sync_fixture.hpp"

#ifndef AVSYNC_PG_CLUSTER_SCRIPT
#error "AVSYNC_PG_CLUSTER_SCRIPT must name scripts/pg-cluster"
#endif

namespace avsync::testing {
namespace {

int cluster(const std::string& command, const std::filesystem::path& dir) {
  std::string line = std::string(AVSYNC_PG_CLUSTER_SCRIPT) + " " + command + " " + dir.string() + " >/dev/null";
  return std::system(line.c_str());
}

TEST(PostgresRecovery, RequestsFailWith503WhileTheDatabaseIsDownAndServingResumesByItself) {
  auto dir = std::filesystem::temp_directory_path() / ("avsync-pg-recovery-" + std::to_string(::getpid()));
  ASSERT_EQ(cluster("start", dir), 0) << "PostgreSQL must start for this test";
  std::string url;
  std::getline(std::ifstream(dir / "url"), url);

  ServerProcess server(url, {});
  std::string business = server.create_business("Tienda");
  std::string token = server.create_token(business, "ana");
  server.start();
  HttpClient http(server.port());
  std::string before = new_uuid(), during = new_uuid();
  auto insert = [&](const std::string& id) {
    return http.post_batch(token, batch_body({operation("op-" + id, "customers", "insert", id, R"({"name":"Ana"})", ts(1))}));
  };
  ASSERT_EQ(insert(before).status, 200);

  ASSERT_EQ(cluster("stop", dir), 0);
  auto down = insert(during);
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(parse_json_body(down.body).at("error").at("code"), "UNAVAILABLE");
  EXPECT_EQ(http.request("GET", "/healthz").status, 503);
  EXPECT_EQ(http.get_changes(token).status, 503);

  ASSERT_EQ(cluster("restart", dir), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  HttpResult retried;
  do {
    retried = insert(during);
    if (retried.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(retried.status, 200) << "the server did not recover: " << retried.body;
  EXPECT_TRUE(parse_json_body(retried.body).at("results").at(0).at("success").as_bool());

  auto feed = parse_json_body(http.get_changes(token).body).at("changes").as_array();
  EXPECT_EQ(feed.size(), 2u);  // both rows, once each

  // The server's LISTEN connection came back too: a commit on another server wakes a
  // long-poll waiting here (docs/protocol.md §4.1).
  std::string cursor(parse_json_body(http.get_changes(token).body).at("cursor").as_string());
  ServerProcess other(url, {});
  other.start();
  auto start = std::chrono::steady_clock::now();
  auto waiting = std::async(std::launch::async, [&] {
    return HttpClient(server.port()).get_changes(token, "since=" + cursor + "&wait=30");
  });
  for (int i = 0; i < 500; ++i) {  // until the long-poll waits
    auto health = HttpClient(server.port()).request("GET", "/healthz");
    if (health.status == 200 && parse_json_body(health.body).at("waiters").as_int64() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HttpResult woken;
  std::string live = new_uuid();
  EXPECT_EQ(HttpClient(other.port())
                .post_batch(token, batch_body({operation("op-live", "customers", "insert", live,
                                                         R"({"name":"Live"})", ts(2))}))
                .status,
            200);
  woken = waiting.get();
  ASSERT_EQ(woken.status, 200) << woken.body;
  auto changes = parse_json_body(woken.body).at("changes").as_array();
  ASSERT_EQ(changes.size(), 1u) << woken.body;
  EXPECT_EQ(changes[0].at("entityId").as_string(), live);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20))
      << "the long-poll slept through another server's commit after the restart";
  other.stop();
  server.stop();
  cluster("stop", dir);
  std::filesystem::remove_all(dir);
}

TEST(PostgresMigrations, ServersMigratingTheSameNewDatabaseAtOnceAllSucceed) {
  auto dir = std::filesystem::temp_directory_path() / ("avsync-pg-migrate-" + std::to_string(::getpid()));
  ASSERT_EQ(cluster("start", dir), 0) << "PostgreSQL must start for this test";
  std::string url;
  std::getline(std::ifstream(dir / "url"), url);
  query_database(url, "CREATE DATABASE migrate_race");
  std::string race_url = url.substr(0, url.rfind('/') + 1) + "migrate_race";
  std::vector<CommandOutput> outputs(4);
  std::vector<std::thread> starts;
  for (auto& out : outputs)
    starts.emplace_back([&] { out = run_server_command({"migrate", "--db", race_url}); });
  for (auto& t : starts) t.join();
  for (const auto& out : outputs) EXPECT_EQ(out.exit_code, 0) << out.err;
  auto applied = query_database(race_url, "SELECT count(*), count(DISTINCT version) FROM schema_migrations");
  EXPECT_EQ(applied.at(0).at(0), applied.at(0).at(1)) << "each migration recorded once";
  EXPECT_EQ(query_database(race_url, "SELECT count(*) FROM customers").at(0).at(0), "0");
  cluster("stop", dir);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace avsync::testing

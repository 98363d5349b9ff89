// Acknowledged writes survive a restart and a kill -9 (durable commits), and replays after
// a crash never duplicate anything (docs/protocol.md §3.2).

#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using DurabilityTest = SyncServerTest;

TEST_F(DurabilityTest, DataSurvivesAGracefulRestart) {
  std::string c = insert_customer("Ana");
  std::string cursor;
  pull_all(token_a, "", 1000, &cursor);
  server->stop();
  EXPECT_TRUE(WIFEXITED(server->last_exit_status()) && WEXITSTATUS(server->last_exit_status()) == 0)
      << "SIGTERM is a clean shutdown: " << server->log();
  server->start();
  http = std::make_unique<HttpClient>(server->port());
  EXPECT_EQ(state_of(token_a)["customers/" + c].data.at("name"), "Ana");
  EXPECT_TRUE(pull_all(token_a, cursor).empty()) << "cursors stay valid across restarts";
}

TEST_F(DurabilityTest, EveryAcknowledgedOperationSurvivesKillNineExactlyOnce) {
  constexpr int kBatchSize = 50;
  std::vector<std::string> bodies;
  std::vector<std::vector<std::string>> ids;
  for (int b = 0; b < 400; ++b) {
    std::vector<boost::json::object> ops;
    auto& batch_ids = ids.emplace_back();
    for (int i = 0; i < kBatchSize; ++i) {
      std::string id = new_uuid();
      batch_ids.push_back(id);
      ops.push_back(operation("k" + std::to_string(b) + "-" + std::to_string(i), "distribuciones", "insert", id,
                              R"({"product_name":"Arroz","quantity":1})", ts(1)));
    }
    bodies.push_back(batch_body(ops));
  }
  std::atomic<int> acknowledged{0};
  std::thread pusher([&] {
    HttpClient client(server->port());
    for (const auto& body : bodies) {
      auto res = client.post_batch(token_a, body);
      if (res.status != 200) return;  // the server died under us
      ++acknowledged;
    }
  });
  while (acknowledged < 20) std::this_thread::yield();
  server->kill9();
  pusher.join();
  const int acked = acknowledged.load();
  ASSERT_LT(acked, 400) << "the kill must land mid-stream";

  server->start();
  http = std::make_unique<HttpClient>(server->port());
  auto state = state_of(token_a);
  for (int b = 0; b < acked; ++b)
    for (const auto& id : ids[b]) ASSERT_EQ(state.count("distribuciones/" + id), 1u) << "batch " << b;

  // The client retries everything it did not see acknowledged, and even what it did:
  // each operation still applies exactly once.
  for (int b = 0; b < acked + 5; ++b) {
    auto res = http->post_batch(token_a, bodies[b]);
    ASSERT_EQ(res.status, 200);
    auto answer = parse_json_body(res.body);
    for (const auto& r : answer.at("results").as_array())
      ASSERT_TRUE(r.at("success").as_bool()) << res.body;
  }
  EXPECT_EQ(tenant_version(business_a), (acked + 5) * kBatchSize);
  EXPECT_EQ(state_of(token_a).size(), static_cast<std::size_t>((acked + 5) * kBatchSize));
}

}  // namespace
}  // namespace avsync::testing

// Servers are stateless: several avsync-server processes on one database behave as one.

#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class MultiServerTest : public SyncServerTest {
 protected:
  void SetUp() override {
    SyncServerTest::SetUp();
    second = std::make_unique<ServerProcess>(server->db_url(), serve_args());
    second->start();
  }
  void TearDown() override {
    if (second) second->stop();
    SyncServerTest::TearDown();
  }
  std::uint16_t port_of(int i) const { return i % 2 ? second->port() : server->port(); }

  std::unique_ptr<ServerProcess> second;
};

TEST_F(MultiServerTest, ConcurrentDuplicatesSpreadOverTwoServersApplyOnce) {
  std::string customer = insert_customer();
  std::string body = batch_body({operation("dup-insert", "abonos", "insert", new_uuid(),
                                           R"({"customer_id":")" + customer + R"(","amount":"50.00"})", ts(1)),
                                 operation("dup-update", "customers", "update", customer, R"({"phone":"7"})", ts(2))});
  auto before = tenant_version(business_a);
  std::vector<HttpResult> results(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&, i] { results[i] = HttpClient(port_of(i)).post_batch(token_a, body); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = parse_json_body(r.body);
    for (const auto& res : v.at("results").as_array()) EXPECT_TRUE(res.at("success").as_bool()) << r.body;
  }
  EXPECT_EQ(tenant_version(business_a) - before, 2);  // one insert, one update: applied once
}

TEST_F(MultiServerTest, TheFeedStaysExactWithWritersOnBothServers) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      HttpClient client(port_of(w));
      std::vector<std::string> mine;
      for (int b = 0; b < 20; ++b) {
        std::vector<boost::json::object> ops;
        for (int i = 0; i < 6; ++i) {
          mine.push_back(new_uuid());
          ops.push_back(operation(new_uuid(), "customers", "insert", mine.back(), R"({"name":"W"})", ts(1)));
        }
        ops.push_back(operation(new_uuid(), "customers", "update", mine[b], R"({"phone":")" + std::to_string(b) + "\"}",
                                ts(10 + b)));
        EXPECT_EQ(client.post_batch(token_a, batch_body(ops)).status, 200);
      }
    });
  FeedFollower reader(second->port(), token_a, 5);  // writers use both servers; it reads from one
  reader.follow_until_done(writers);
  expect_matches_server(reader, token_a);
}

}  // namespace
}  // namespace avsync::testing

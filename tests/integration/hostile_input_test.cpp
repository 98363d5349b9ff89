// docs/protocol.md §1: bad input never crashes or wedges the server and never changes data.

#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class HostileInputTest : public SyncServerTest {
 protected:
  void expect_still_serving() {
    HttpClient fresh(server->port());
    EXPECT_EQ(fresh.request("GET", "/healthz").status, 200) << server->log();
    EXPECT_EQ(fresh.get_changes(token_a).status, 200);
  }
  std::string post_with_body(const std::string& body) {
    return "POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }
};

TEST_F(HostileInputTest, GarbageBytesGetA400OrACloseAndTheServerKeepsAnswering) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919) % 256));
  std::string answer = send_raw(server->port(), garbage);
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 400")) << answer.substr(0, 80);
  send_raw(server->port(), "GET / HTTP/1.1\r\n\r\n\0\0\0\r\n");
  send_raw(server->port(), "\r\n\r\n\r\n");
  expect_still_serving();
}

TEST_F(HostileInputTest, InvalidUtf8AndGarbageBodiesAre400) {
  for (const std::string& body : {std::string("\xc3\x28"), std::string("{\"operations\":[\"\xed\xa0\x80\"]}"),
                                  std::string("\x00\x01\x02", 3), std::string("{\"operations\": [")}) {
    std::string answer = send_raw(server->port(), post_with_body(body));
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer.substr(0, 200);
    EXPECT_NE(answer.find("BAD_REQUEST"), std::string::npos);
  }
  EXPECT_TRUE(pull_all(token_a).empty());
  expect_still_serving();
}

TEST_F(HostileInputTest, NulCharactersAnywhereFailOnlyTheirOperation) {
  std::string body = R"({"operations":[)"
                     R"({"operationId":"n1","entity":"cust\u0000omers","action":"insert","entityId":")" + new_uuid() +
                     R"(","clientTimestamp":")" + ts(1) + R"(","payload":{"name":"A"}},)"
                     R"({"operationId":"n2","entity":"customers","action":"in\u0000sert","entityId":"\u0000",)"
                     R"("clientTimestamp":"2026\u0000","payload":{"na\u0000me":"A\u0000"}},)"
                     R"({"operationId":"n3","entity":"customers","action":"insert","entityId":")" + new_uuid() +
                     R"(","clientTimestamp":")" + ts(1) + R"(","payload":{"name":"fine"}}]})";
  auto res = http->post_batch(token_a, body);
  ASSERT_EQ(res.status, 200) << res.body;
  auto results = parse_json_body(res.body).at("results").as_array();
  EXPECT_EQ(results.at(0).at("error"), "VALIDATION_ERROR");
  EXPECT_EQ(results.at(1).at("error"), "VALIDATION_ERROR");
  EXPECT_TRUE(results.at(2).at("success").as_bool());
  auto nul_id = http->post_batch(token_a, R"({"operations":[{"operationId":"a\u0000"}]})");
  EXPECT_EQ(nul_id.status, 400);
  expect_still_serving();
}

TEST_F(HostileInputTest, SixtyFourLevelsAreAcceptedDeeperIsA400) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  // 64 levels in all: the envelope object, operations array, operation, payload, 60 arrays.
  std::string ok = R"({"operations":[{"operationId":"deep","entity":"customers","action":"insert","entityId":")" +
                   new_uuid() + R"(","clientTimestamp":")" + ts(1) + R"(","payload":{"name":)" + nested(60) + "}}]}";
  auto res = http->post_batch(token_a, ok);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse_json_body(res.body).at("results").at(0).at("error"), "VALIDATION_ERROR");
  std::string deep = R"({"operations":[)" + nested(200000) + "]}";
  res = http->post_batch(token_a, deep);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(parse_json_body(res.body).at("error").at("code"), "BAD_REQUEST");
  expect_still_serving();
}

TEST_F(HostileInputTest, OversizedHeadersAreRejected) {
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n";
  std::string answer = send_raw(server->port(), request);
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 400")) << answer.substr(0, 80);
  expect_still_serving();
}

TEST_F(HostileInputTest, ChunkedBodiesAreAcceptedAndCountAgainstTheSizeLimit) {
  std::string body = batch_body({operation("chunked", "customers", "insert", new_uuid(), R"({"name":"A"})", ts(1))});
  std::string head = "POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  auto hex = [](std::size_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return std::string(buf);
  };
  std::string half = body.substr(0, body.size() / 2), rest = body.substr(body.size() / 2);
  std::string answer = send_raw(server->port(), head + hex(half.size()) + "\r\n" + half + "\r\n" + hex(rest.size()) +
                                                    "\r\n" + rest + "\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;

  std::string chunk(1 << 20, ' ');
  std::string big = head;
  for (int i = 0; i < 5; ++i) big += hex(chunk.size()) + "\r\n" + chunk + "\r\n";
  big += "0\r\n\r\n";
  answer = send_raw(server->port(), big);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer.substr(0, 80);
  EXPECT_NE(answer.find("PAYLOAD_TOO_LARGE"), std::string::npos);
  expect_still_serving();
}

TEST_F(HostileInputTest, ADeclaredBodyOverTheLimitIsRejectedBeforeItIsSent) {
  std::string head = "POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                     "\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n";
  std::string answer = send_raw(server->port(), head);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
}

TEST_F(HostileInputTest, SlowHalfSentRequestsDoNotDelayOthers) {
  // Twenty connections each send half a request and stall.
  std::vector<std::thread> stalled;
  for (int i = 0; i < 20; ++i)
    stalled.emplace_back([&] { send_raw(server->port(), "POST /sync/batch HTTP/1.1\r\nHost: x\r\nContent-Le", std::chrono::milliseconds(3000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Meanwhile everyone else is served (the client's 60 s timeout would trip otherwise).
  for (int i = 0; i < 20; ++i) insert_customer("while stalled " + std::to_string(i));
  EXPECT_EQ(state_of(token_a).size(), 20u);
  for (auto& t : stalled) t.join();
  expect_still_serving();
}

TEST(ReadTimeoutTest, AStalledHeadIsClosedAfterTheHeaderTimeout) {
  ServerProcess server({"--header-timeout", "1"});
  server.start();
  auto start = std::chrono::steady_clock::now();
  std::string answer = send_raw(server.port(), "GET /healthz HTTP/1.1\r\nHost:", std::chrono::milliseconds(10000));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(answer.empty());
  EXPECT_LT(waited, std::chrono::seconds(8)) << "the server closed the stalled connection itself";
  server.stop();
}

TEST(ReadTimeoutTest, AStalledBodyIsClosedAfterTheReadTimeout) {
  ServerProcess server({"--read-timeout", "1"});
  std::string token = server.create_token(server.create_business("Stalled"), "ana");
  server.start();
  auto start = std::chrono::steady_clock::now();
  std::string answer = send_raw(server.port(),
                                "POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                                    "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"oper",
                                std::chrono::milliseconds(10000));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(answer.empty()) << answer;
  EXPECT_LT(waited, std::chrono::seconds(8)) << "the server closed the stalled connection itself";
  server.stop();
}

}  // namespace
}  // namespace avsync::testing

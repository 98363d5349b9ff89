// Server limits (docs/protocol.md §9): per-token rate limit with Retry-After, the cap on
// concurrent connections and the flags' validation. Header, body and read-time limits are
// in hostile_input_test.cpp; the rest of the hostile-load limits in hostile_load_test.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "avsync/client.hpp"
#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;

class RateLimitTest : public SyncServerTest {
 protected:
  std::vector<std::string> serve_args() const override { return {"--rate-limit", "2", "--rate-burst", "3"}; }
};

TEST_F(RateLimitTest, ATokenOverItsRateGets429WithRetryAfterAndNothingApplies) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http->get_changes(token_a).status, 200) << "within the burst";
  std::string id = new_uuid();
  auto refused = http->post_batch(token_a, batch_body({operation(new_uuid(), "customers", "insert", id,
                                                                 R"({"name":"Too fast"})", ts(1))}));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(parse_json_body(refused.body).at("error").at("code"), "RATE_LIMITED");
  ASSERT_TRUE(refused.headers.count("retry-after"));
  EXPECT_EQ(refused.headers.at("retry-after"), "1");

  EXPECT_EQ(http->get_changes(token_b).status, 200) << "another token has its own budget";
  std::this_thread::sleep_for(600ms);  // 2 per second: one request's worth refilled
  auto later = http->get_changes(token_a);
  ASSERT_EQ(later.status, 200);
  EXPECT_EQ(state_of(token_b).size(), 0u);
  EXPECT_EQ(parse_json_body(later.body).at("changes").as_array().size(), 0u) << "the refused batch applied nothing";
}

TEST_F(RateLimitTest, TheClientWaitsAtLeastRetryAfter) {
  ClientOptions options;
  options.data_path = (server->dir() / "device.db").string();
  options.retry.base = 10ms;
  options.retry.cap = 20ms;
  auto client = Client::open(options);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->configure("http://127.0.0.1:" + std::to_string(server->port()), token_a));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http->get_changes(token_a).status, 200);
  auto result = (*client)->sync_once();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::rate_limited);
  SyncStatus status = (*client)->status();
  EXPECT_EQ(status.state, SyncState::error);
  ASSERT_TRUE(status.retry_in);
  EXPECT_GE(*status.retry_in, 1000ms) << "Retry-After: 1 outweighs a 20 ms backoff cap";
}

// A TCP connection to the server that sends `bytes` and stays open.
class RawConnection {
 public:
  RawConnection(std::uint16_t port, const std::string& bytes) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (connected_ && !bytes.empty()) connected_ = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

TEST(MaxConnectionsTest, ConnectionsPastTheCapGet503AndServingResumesBelowIt) {
  ServerProcess server({"--max-connections", "3"});
  server.start();
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    ASSERT_TRUE(held.back()->connected());
  }
  std::this_thread::sleep_for(200ms);  // the server registers them
  std::string answer = send_raw(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1000ms);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 503")) << "three requests in progress fill the cap: " << answer;
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
  held.clear();
  std::this_thread::sleep_for(200ms);
  HttpClient http(server.port());
  EXPECT_EQ(http.request("GET", "/healthz").status, 200);
}

TEST(LimitFlagsTest, BadLimitValuesAreUsageErrors) {
  for (std::vector<std::string> flags : {std::vector<std::string>{"--rate-limit", "-1"},
                                         {"--rate-limit", "5", "--rate-burst", "0"},
                                         {"--rate-limit", "fast"},
                                         {"--max-connections", "0"},
                                         {"--max-connections", "many"},
                                         {"--max-connections-per-address", "0"},
                                         {"--header-timeout", "0"},
                                         {"--workers", "0"},
                                         {"--tenant-concurrency", "0"},
                                         {"--tenant-queue", "-3"},
                                         {"--op-rate-limit", "-1"},
                                         {"--op-rate-limit", "5", "--op-rate-burst", "0"},
                                         {"--auth-failure-limit", "x"},
                                         {"--log-retention-days", "-1"}}) {
    std::vector<std::string> args{"serve", "--db", "sqlite:/nonexistent/never-opened.db"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto out = run_server_command(args);
    EXPECT_EQ(out.exit_code, 2) << flags[0] << " " << flags[1] << ": " << out.err;
    EXPECT_NE(out.err.find("usage"), std::string::npos) << flags[0];
  }
}

}  // namespace
}  // namespace avsync::testing

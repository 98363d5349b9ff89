// Hostile load (docs/security.md): no client, signed in or not, can starve the others.
// Idle connections, heavy pulls, unauthenticated bodies, respelled and unknown tokens,
// operation floods and smuggled requests, each against a real server on both stores.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The deadline /healthz is held to: 1 s as docs/security.md says, scaled in the sanitizer
// builds, which run the same code five to fifteen times slower.
#ifdef AVSYNC_SANITIZED
constexpr std::chrono::milliseconds kHealthDeadline = 10s;
#else
constexpr std::chrono::milliseconds kHealthDeadline = 1s;
#endif

// A TCP connection to the server on loopback, driven byte by byte.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  // False when the server closed or reset the connection.
  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // What arrives until the server closes or `wait` passes with nothing new.
  std::string receive(std::chrono::milliseconds wait = 2000ms) {
    std::string out;
    char buf[16384];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed_by_server() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

std::string health_request() { return "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"; }

// /healthz on a new connection; the time until its answer, or nullopt when none came.
std::optional<Clock::duration> time_health(std::uint16_t port, std::chrono::milliseconds wait) {
  auto start = Clock::now();
  RawSocket s(port);
  if (!s.connected() || !s.send(health_request())) return std::nullopt;
  std::string answer = s.receive(wait);
  if (!answer.starts_with("HTTP/1.1 200")) return std::nullopt;
  return Clock::now() - start;
}

std::string random_token(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string t = "avs_";
  for (int i = 0; i < 43; ++i) t.push_back(kAlphabet[rng() % 64]);
  return t;
}

class HostileLoadTest : public SyncServerTest {
 protected:
  static boost::json::object customer_op(const std::string& name) {
    return operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":")" + name + R"("})", ts(1));
  }
};

TEST_F(HostileLoadTest, HealthAnswersWithinASecondWhile2000IdleConnectionsAreOpen) {
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 2000; ++i) {
    idle.push_back(std::make_unique<RawSocket>(server->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  // Accepting them all takes a while (the kernel completed every handshake already); a
  // first answer, however slow, says the server holds all 2,000.
  ASSERT_TRUE(time_health(server->port(), 60s));
  for (int i = 0; i < 5; ++i) {
    auto took = time_health(server->port(), kHealthDeadline);
    ASSERT_TRUE(took) << "try " << i << ": no 200 within " << kHealthDeadline.count() << " ms\n"
                      << server->log().substr(0, 2000);
  }
  EXPECT_EQ(http->get_changes(token_a).status, 200);
}

class ConnectionCapTest : public HostileLoadTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = HostileLoadTest::serve_args();
    args.insert(args.end(), {"--max-connections", "40", "--max-connections-per-address", "20", "--header-timeout", "2"});
    return args;
  }
};

TEST_F(ConnectionCapTest, AtTheCapConnectionsThatSentNothingMakeRoomForARealRequest) {
  std::vector<std::unique_ptr<RawSocket>> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(std::make_unique<RawSocket>(server->port()));
  std::this_thread::sleep_for(200ms);  // accepted and registered
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(time_health(server->port(), kHealthDeadline)) << i;
  // The oldest silent connection was closed to make that room (each /healthz closes after
  // its answer, so one was enough); the newest is still open.
  silent.front()->receive(500ms);
  EXPECT_TRUE(silent.front()->closed_by_server());
  silent.back()->receive(50ms);
  EXPECT_FALSE(silent.back()->closed_by_server());
}

TEST_F(ConnectionCapTest, PastEveryCapANewConnectionGetsAnImmediate503WithRetryAfter) {
  std::vector<std::unique_ptr<RawSocket>> busy;
  for (int i = 0; i < 20; ++i) {
    busy.push_back(std::make_unique<RawSocket>(server->port()));
    ASSERT_TRUE(busy.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // a head, unfinished
  }
  std::this_thread::sleep_for(200ms);
  RawSocket extra(server->port());
  ASSERT_TRUE(extra.connected());
  std::string answer = extra.receive(kHealthDeadline);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 503")) << answer;
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
  EXPECT_TRUE(extra.closed_by_server());
  busy.clear();
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(time_health(server->port(), kHealthDeadline)) << "serving resumes below the cap";
}

TEST_F(ConnectionCapTest, AConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout) {
  RawSocket silent(server->port());
  RawSocket half(server->port());
  ASSERT_TRUE(half.send("GET /healthz HTTP/1.1\r\nHo"));
  auto start = Clock::now();
  silent.receive(5000ms);
  half.receive(5000ms);
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_TRUE(half.closed_by_server());
  EXPECT_LT(Clock::now() - start, 4500ms) << "a 2 s header timeout, not the 30 s body one";
}

TEST_F(HostileLoadTest, HealthAnswersWithinASecondWhileTwentyHeavyPullsRun) {
  // 5,000 rows, pulled whole by 20 clients at once.
  for (int b = 0; b < 10; ++b) {
    std::vector<boost::json::object> ops;
    for (int i = 0; i < 500; ++i) ops.push_back(customer_op("Customer " + std::to_string(b * 500 + i)));
    ASSERT_EQ(push(ops).size(), 500u);
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> pulls;
  for (int i = 0; i < 20; ++i)
    pulls.emplace_back([&] {
      HttpClient client(server->port());
      if (client.get_changes(token_a, "limit=10000").status == 200) ++ok;
    });
  std::vector<Clock::duration> health;
  for (int i = 0; i < 5; ++i) {
    auto took = time_health(server->port(), kHealthDeadline);
    EXPECT_TRUE(took) << "try " << i;
    std::this_thread::sleep_for(20ms);
  }
  for (auto& t : pulls) t.join();
  EXPECT_EQ(ok, 20) << "the pulls queue for their tenant's turn; none is refused";
}

TEST_F(HostileLoadTest, AnUnauthenticatedBodyIsRefusedUnreadAndCostsNoMemory) {
  const long before = status_kib(server->pid(), "VmHWM");
  ASSERT_GT(before, 0);
  const std::string head = "POST /sync/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: 4194304\r\nExpect: 100-continue\r\n";
  std::vector<std::unique_ptr<RawSocket>> senders;
  for (int i = 0; i < 200; ++i) {
    senders.push_back(std::make_unique<RawSocket>(server->port()));
    std::string auth = i % 2 ? "Authorization: Bearer avs_not_a_token_" + std::to_string(i) + "\r\n" : "";
    ASSERT_TRUE(senders.back()->send(head + auth + "\r\n"));
  }
  const std::string chunk(64 << 10, 'x');
  for (auto& s : senders) {
    std::string answer = s->receive(2000ms);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 401")) << answer.substr(0, 200);
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << "no invitation to send the body";
    for (int i = 0; i < 4 && s->send(chunk); ++i) {
    }
  }
  senders.clear();
  const long after = status_kib(server->pid(), "VmHWM");
  EXPECT_LT(after - before, 64 * 1024) << "peak RSS grew from " << before << " KiB to " << after
                                       << " KiB; 200 bodies of 4 MiB would be 800 MiB";
  EXPECT_EQ(http->get_changes(token_a).status, 200);
}

TEST_F(HostileLoadTest, ARequestSmuggledInAnUnknownTransferCodingIsNeverAnswered) {
  const std::string smuggled = "GET /sync/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a + "\r\n\r\n";
  for (std::string coding : {"xchunked", "gzip", "chunked, identity", "gzip, chunked", "chunked, chunked"}) {
    RawSocket s(server->port());
    ASSERT_TRUE(s.send("POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                       "\r\nContent-Type: application/json\r\nTransfer-Encoding: " + coding + "\r\n\r\n" + smuggled));
    std::string answer = s.receive(2000ms);
    const bool unknown = coding == "xchunked" || coding == "gzip, chunked";
    EXPECT_TRUE(answer.starts_with(unknown ? "HTTP/1.1 501" : "HTTP/1.1 400")) << coding << ": " << answer;
    EXPECT_EQ(answer.find("HTTP/1.1", 8), std::string::npos) << coding << ": a second answer\n" << answer;
    EXPECT_EQ(answer.find("changes"), std::string::npos) << coding;
    EXPECT_TRUE(s.closed_by_server()) << coding;
  }
  RawSocket both(server->port());
  ASSERT_TRUE(both.send("POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                        "\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n\r\n" + smuggled));
  std::string answer = both.receive(2000ms);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 8), std::string::npos) << answer;
}

TEST_F(HostileLoadTest, ChunkedBodiesStillWork) {
  std::string body = batch_body({customer_op("Chunked")});
  std::ostringstream hex;
  hex << std::hex << body.size();
  RawSocket s(server->port());
  ASSERT_TRUE(s.send("POST /sync/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                     hex.str() + "\r\n" + body + "\r\n0\r\n\r\n"));
  std::string answer = s.receive(2000ms);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("\"success\":true"), std::string::npos) << answer;
}

TEST_F(HostileLoadTest, DuplicateAuthorizationHeadersAreA400AndTheRequestLineIsNeverEchoed) {
  RawSocket dup(server->port());
  ASSERT_TRUE(dup.send("GET /sync/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_a +
                       "\r\nAuthorization: Bearer " + token_b + "\r\n\r\n"));
  std::string answer = dup.receive(2000ms);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_EQ(answer.find("\"changes\""), std::string::npos);

  RawSocket probe(server->port());
  ASSERT_TRUE(probe.send("GET /%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string not_found = probe.receive(2000ms);
  EXPECT_TRUE(not_found.starts_with("HTTP/1.1 404")) << not_found;
  EXPECT_EQ(not_found.find("script"), std::string::npos) << not_found;
}

class TokenLimitTest : public HostileLoadTest {
 protected:
  std::vector<std::string> serve_args() const override {
    // Production defaults for failed authentications; a small per-token budget.
    return {"--rate-limit", "1", "--rate-burst", "10", "--op-rate-limit", "1", "--op-rate-burst", "20"};
  }
};

TEST_F(TokenLimitTest, EverySpellingOfBearerSharesTheTokensBucket) {
  int admitted = 0, limited = 0;
  const auto start = Clock::now();
  for (int mask = 0; mask < 64; ++mask) {
    std::string scheme = "bearer";
    for (int i = 0; i < 6; ++i)
      if (mask & (1 << i)) scheme[i] = static_cast<char>(std::toupper(scheme[i]));
    auto r = http->request("GET", "/sync/changes", "", {{"Authorization", scheme + " " + token_a}});
    if (r.status == 200) ++admitted;
    if (r.status == 429) ++limited;
  }
  // A burst of 10, plus what 1/s refills while the requests run: about a second in the
  // plain build, up to 20 s in the sanitizer builds on a loaded machine.
  const auto took = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
  EXPECT_LE(admitted, 10 + took + 2) << "a burst of 10, plus 1/s over " << took << " s";
  EXPECT_LT(admitted, 64) << "the token's bucket never ran dry";
  EXPECT_EQ(admitted + limited, 64);
}

TEST_F(TokenLimitTest, OperationsOverTheTokensRateAre429AndNothingApplies) {
  std::vector<boost::json::object> first, second;
  for (int i = 0; i < 15; ++i) first.push_back(customer_op("First " + std::to_string(i)));
  for (int i = 0; i < 15; ++i) second.push_back(customer_op("Second " + std::to_string(i)));
  ASSERT_EQ(http->post_batch(token_a, batch_body(first)).status, 200);
  auto refused = http->post_batch(token_a, batch_body(second));
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("operations"), std::string::npos) << refused.body;
  ASSERT_TRUE(refused.headers.count("retry-after"));
  EXPECT_GE(std::stoi(refused.headers.at("retry-after")), 1);
  EXPECT_EQ(state_of(token_a).size(), 15u) << "the refused batch applied nothing";
}

TEST_F(TokenLimitTest, AFloodOfUnknownTokensGets429WhileAKnownTokenFromTheSameAddressGoesOn) {
  ASSERT_EQ(http->get_changes(token_b).status, 200);  // token_b is known good from this address
  std::mt19937_64 rng(std::random_device{}());
  int unauthenticated = 0, limited = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    auto r = http->request("GET", "/sync/changes", "", {{"Authorization", "Bearer " + random_token(rng)}});
    if (r.status == 401) ++unauthenticated;
    if (r.status == 429) {
      ++limited;
      EXPECT_TRUE(r.headers.count("retry-after"));
    }
  }
  // The bucket holds 50 failures and refills 10 a second, for as long as the flood lasted
  // (seconds here, more under a sanitizer on a loaded machine).
  const auto elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int allowed = 50 + static_cast<int>(std::ceil(10 * elapsed)) + 1;
  EXPECT_GE(limited, 300 - allowed)
      << unauthenticated << " answered 401: the store was asked each time";
  EXPECT_LE(unauthenticated, allowed)
      << "a burst of 50 failures, plus 10/s over " << elapsed << " s";
  EXPECT_EQ(http->get_changes(token_b).status, 200);
}

}  // namespace
}  // namespace avsync::testing

// CurlTransport against a loopback socket that accepts and never answers: what a server
// holding a long-poll looks like from the client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "client/transport.hpp"

namespace avsync::client {
namespace {

using namespace std::chrono_literals;

// Listens on a free loopback port; the kernel completes connections without accept(), and
// nothing is ever sent back.
class SilentServer {
 public:
  SilentServer() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "no loopback socket";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

TEST(CurlTransport, ARaisedCancelFlagEndsAWaitingRequestWithinMoments) {
  SilentServer server;
  std::atomic<bool> cancel{false};
  auto transport = make_curl_transport({server.url(), "token", 10s, 60s, "", &cancel});
  std::chrono::steady_clock::time_point raised;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);  // the request is sent and waits for an answer
    raised = std::chrono::steady_clock::now();
    cancel = true;
  });
  auto reply = transport->get("/sync/changes?limit=1&wait=25");
  const auto ended = std::chrono::steady_clock::now();
  canceller.join();
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::cancelled);
  // About 50 ms by design; the bound is generous for sanitizer builds on a busy machine.
  EXPECT_LT(ended - raised, 2s);
}

TEST(CurlTransport, ARequestThatOutlivesItsTimeoutIsATimeout) {
  SilentServer server;
  auto transport = make_curl_transport({server.url(), "token", 10s, 300ms, "", nullptr});
  auto reply = transport->get("/sync/changes?limit=1");
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::timeout);
}

}  // namespace
}  // namespace avsync::client

#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace avsync::testing {
namespace {

constexpr int kIoTimeoutMs = 10'000;

enum class Fault { none, delay, drop_request, drop_response, reset_mid_body, throttle };

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one HTTP/1.1 message (headers, then a Content-Length body) from `fd`. `pending`
// carries bytes read past the message into the next call. nullopt on EOF, error or timeout.
std::optional<std::string> read_message(int fd, std::string& pending) {
  std::string data = std::move(pending);
  pending.clear();
  auto read_more = [&]() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kIoTimeoutMs) <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > (1 << 20) || !read_more()) return std::nullopt;
  }
  header_end += 4;
  std::string headers = data.substr(0, header_end);
  std::string lower = headers;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t length = 0;
  if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    length = std::stoul(lower.substr(at + 17));
  }
  while (data.size() < header_end + length) {
    if (!read_more()) return std::nullopt;
  }
  pending = data.substr(header_end + length);
  data.resize(header_end + length);
  return data;
}

void close_with_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct FaultProxy::Impl {
  FaultRates rates;
  std::mutex mutex;  // guards random, connections, threads
  std::mt19937_64 random;
  std::atomic<bool> faulty{true};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint16_t> upstream_port;
  int listener = -1;
  std::uint16_t port = 0;
  std::set<int> connections;
  std::size_t active = 0;  // connection threads still running (they are detached)
  std::condition_variable all_done;
  std::thread acceptor;
  FaultCounters counters;

  Impl(std::uint16_t upstream, std::uint64_t seed, FaultRates r) : rates(r), random(seed), upstream_port(upstream) {}

  std::pair<Fault, int> draw() {
    std::lock_guard lock(mutex);
    if (!faulty) return {Fault::none, 0};
    int roll = static_cast<int>(random() % 100);
    int delay_ms = 10 + static_cast<int>(random() % 290);
    const std::pair<int, Fault> table[] = {{rates.delay, Fault::delay},
                                           {rates.drop_request, Fault::drop_request},
                                           {rates.drop_response, Fault::drop_response},
                                           {rates.reset_mid_body, Fault::reset_mid_body},
                                           {rates.throttle, Fault::throttle}};
    for (const auto& [percent, fault] : table) {
      if (roll < percent) return {fault, delay_ms};
      roll -= percent;
    }
    return {Fault::none, 0};
  }

  void serve(int client) {
    std::string pending;
    while (!stopping) {
      auto request = read_message(client, pending);
      if (!request) break;
      ++counters.requests;
      auto [fault, delay_ms] = draw();
      if (fault == Fault::drop_request) {
        ++counters.dropped_requests;
        break;
      }
      if (fault == Fault::delay) {
        ++counters.delayed;
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      }
      int upstream = connect_loopback(upstream_port);
      if (upstream < 0) {
        ++counters.upstream_down;
        break;
      }
      if (fault == Fault::reset_mid_body) {
        ++counters.resets;
        std::size_t body_at = request->find("\r\n\r\n") + 4;
        std::size_t cut = body_at + (request->size() - body_at) / 2;
        send_all(upstream, request->data(), cut);
        close_with_reset(upstream);
        break;
      }
      std::string upstream_pending;
      std::optional<std::string> response;
      if (send_all(upstream, request->data(), request->size())) response = read_message(upstream, upstream_pending);
      ::close(upstream);
      if (!response) break;
      if (fault == Fault::drop_response) {
        ++counters.dropped_responses;
        break;
      }
      bool sent = true;
      if (fault == Fault::throttle) {
        ++counters.throttled;
        for (std::size_t at = 0; sent && at < response->size(); at += 512) {
          sent = send_all(client, response->data() + at, std::min<std::size_t>(512, response->size() - at));
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      } else {
        sent = send_all(client, response->data(), response->size());
      }
      if (!sent) break;
    }
    close_with_reset(client);
    std::lock_guard lock(mutex);
    connections.erase(client);
    if (--active == 0) all_done.notify_all();
  }

  void accept_loop() {
    while (!stopping) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard lock(mutex);
      connections.insert(client);
      ++active;
      std::thread([this, client] { serve(client); }).detach();
    }
  }
};

FaultProxy::FaultProxy(std::uint16_t upstream_port, std::uint64_t seed, FaultRates rates)
    : impl_(std::make_unique<Impl>(upstream_port, seed, rates)) {
  impl_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(impl_->listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl_->listener, 128) != 0 ||
      ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("fault proxy: cannot listen");
  }
  impl_->port = ntohs(addr.sin_port);
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

FaultProxy::~FaultProxy() {
  impl_->stopping = true;
  impl_->acceptor.join();
  std::unique_lock lock(impl_->mutex);
  for (int fd : impl_->connections) ::shutdown(fd, SHUT_RDWR);
  impl_->all_done.wait(lock, [&] { return impl_->active == 0; });
  ::close(impl_->listener);
}

std::uint16_t FaultProxy::port() const { return impl_->port; }
void FaultProxy::set_faulty(bool faulty) { impl_->faulty = faulty; }
void FaultProxy::set_upstream_port(std::uint16_t port) { impl_->upstream_port = port; }
const FaultCounters& FaultProxy::counters() const { return impl_->counters; }

}  // namespace avsync::testing

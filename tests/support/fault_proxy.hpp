#pragma once
// A fault-injecting HTTP proxy for tests: sits between clients and a server on loopback
// and, by a seeded schedule, delays requests, drops the connection before the request
// reaches the server, drops the response after the server processed the request (the
// retry idempotency exists for), resets the connection in the middle of the request
// body, and throttles responses. Healthy mode passes everything through.
//
// One upstream connection per request; the server's port may go away (server killed) and
// come back: requests meanwhile fail like a dead network.

#include <atomic>
#include <cstdint>
#include <memory>

namespace avsync::testing {

struct FaultRates {  // percent of requests, drawn in this order
  int delay = 10;          // 10..300 ms before forwarding
  int drop_request = 5;    // closed before the server sees it
  int drop_response = 5;   // the server applies it; the client never hears back
  int reset_mid_body = 3;  // half the request reaches the server, then RST both ways
  int throttle = 5;        // the response trickles back in small chunks
};

struct FaultCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> delayed{0};
  std::atomic<std::uint64_t> dropped_requests{0};
  std::atomic<std::uint64_t> dropped_responses{0};
  std::atomic<std::uint64_t> resets{0};
  std::atomic<std::uint64_t> throttled{0};
  std::atomic<std::uint64_t> upstream_down{0};  // the server was not listening
};

class FaultProxy {
 public:
  // Listens on a free loopback port, forwarding to 127.0.0.1:`upstream_port`.
  FaultProxy(std::uint16_t upstream_port, std::uint64_t seed, FaultRates rates = {});
  ~FaultProxy();  // stops accepting, closes every connection, joins its threads
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;
  void set_faulty(bool faulty);  // false: a clean network
  void set_upstream_port(std::uint16_t port);
  const FaultCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avsync::testing

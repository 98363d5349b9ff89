#pragma once
// Per-token request rate limit (PROTOCOL.md §1: 429 RATE_LIMITED with Retry-After): a
// token bucket per bearer token, refilled continuously. One server's view only: several
// servers behind a load balancer each allow the rate (docs/scaling.md).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace avsync::server {

struct RateLimit {
  double per_second = 100;  // sustained requests per token; 0 turns the limit off
  double burst = 200;       // requests a quiet token may send at once
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes one request from the bucket of `token` at `now`. nullopt: admitted. Otherwise
  // the request is refused and the value is how long until the bucket holds one again.
  // Thread-safe. Tokens are kept only as a hash, never as text.
  std::optional<std::chrono::milliseconds> admit(std::string_view token, TimePoint now);

  bool enabled() const { return limit_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    TimePoint refilled_at;
  };
  void forget_full_buckets(TimePoint now);  // Requires: mutex_ held

  RateLimit limit_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Bucket> buckets_;
};

}  // namespace avsync::server

#pragma once
// Rate limits (docs/protocol.md §9: 429 RATE_LIMITED with Retry-After): token buckets refilled
// continuously, and the Throttle that combines the server's three limits (requests and
// operations per token, failed authentications per client address) with a short memory of
// unknown tokens. One server's view only: several servers behind a load balancer each
// allow the rate (docs/scaling.md).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace avsync::server {

struct RateLimit {
  double per_second = 100;  // sustained rate; 0 turns the limit off
  double burst = 200;       // what a quiet key may spend at once
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes `cost` from the bucket of `key` at `now`. nullopt: admitted. Otherwise nothing is
  // taken and the value is how long until the bucket holds `cost` (a cost above the burst
  // is admitted from a full bucket, which it empties, so one large request is never
  // refused forever). Thread-safe. Keys are kept only as a hash, never as text.
  std::optional<std::chrono::milliseconds> admit(std::string_view key, TimePoint now, double cost = 1);
  // True when `key` has nothing left to spend at `now` (takes nothing).
  bool exhausted(std::string_view key, TimePoint now);

  bool enabled() const { return limit_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    TimePoint refilled_at;
  };
  Bucket& refill(std::string_view key, TimePoint now);  // Requires: mutex_ held
  void forget_full_buckets(TimePoint now);                // Requires: mutex_ held

  RateLimit limit_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Bucket> buckets_;
};

// Keys remembered for a while: bounded in size (the oldest are dropped first when full).
// Thread-safe.
class ExpiringSet {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  ExpiringSet(std::chrono::milliseconds ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}

  void insert(std::string_view key, TimePoint now);
  bool contains(std::string_view key, TimePoint now);
  void erase(std::string_view key);

 private:
  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, TimePoint> expires_;
};

struct ThrottleOptions {
  RateLimit requests{100, 200};    // per token
  RateLimit operations{1000, 2000};  // per token, operations in batches
  RateLimit failed_auth{10, 50};   // per client address: unknown, revoked, expired, malformed
  std::chrono::milliseconds unknown_token_ttl{std::chrono::seconds(30)};
};

// The limits every /sync request passes before its body is read (and, for batches, once
// its operations are counted). Keyed by what cannot be respelled: the token's SHA-256
// (so "Bearer", "bearer" and "BEARER" share a bucket) and the client's address.
// Thread-safe.
class Throttle {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit Throttle(ThrottleOptions options);

  enum class Verdict {
    go_on,             // look the token up
    unknown_token,     // seen unknown moments ago: answer 401 without asking the store
    too_many_requests, // the token is over its request rate: 429
    too_many_failures, // the address failed authentication too often: 429
  };
  struct Decision {
    Verdict verdict;
    std::chrono::milliseconds retry_after{0};  // for the 429s
  };
  // Before the token is looked up. Takes one request from the token's bucket.
  Decision before_lookup(std::string_view token_hash, std::string_view address, TimePoint now);

  enum class Outcome { known, unknown, refused /* revoked or expired */ };
  // After the lookup: a failure counts against the address; an unknown token is
  // remembered for unknown_token_ttl; a known one marks the token as good, so its requests
  // still get through from an address that is over its failure limit (a NAT shared with
  // whoever is guessing).
  void after_lookup(std::string_view token_hash, std::string_view address, Outcome outcome, TimePoint now);
  // A malformed Authorization header: counts against the address. Returns the wait when
  // the address is over its limit (answer 429 rather than 401).
  std::optional<std::chrono::milliseconds> malformed(std::string_view address, TimePoint now);

  // Takes `count` operations from the token's operation bucket: nullopt, or the wait.
  std::optional<std::chrono::milliseconds> take_operations(std::string_view token_hash, std::size_t count,
                                                           TimePoint now);

 private:
  RateLimiter requests_;
  RateLimiter operations_;
  RateLimiter failures_;
  ExpiringSet unknown_;
  ExpiringSet good_;
};

}  // namespace avsync::server

#include "server/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace avsync::server {
namespace {

// Buckets of keys that went quiet are dropped past this many, so memory stays bounded
// however many tokens or addresses a server sees.
constexpr std::size_t kMaxBuckets = 100'000;

std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

}  // namespace

RateLimiter::Bucket& RateLimiter::refill(std::string_view key, TimePoint now) {
  if (buckets_.size() >= kMaxBuckets) forget_full_buckets(now);
  auto [it, inserted] = buckets_.try_emplace(key_hash(key), Bucket{limit_.burst, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
  b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, elapsed) * limit_.per_second);
  b.refilled_at = now;
  return b;
}

std::optional<std::chrono::milliseconds> RateLimiter::admit(std::string_view key, TimePoint now, double cost) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  Bucket& b = refill(key, now);
  const double needed = std::min(cost, limit_.burst);
  if (b.tokens >= needed) {
    b.tokens -= needed;
    return std::nullopt;
  }
  const double wait_s = (needed - b.tokens) / limit_.per_second;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000)));
}

bool RateLimiter::exhausted(std::string_view key, TimePoint now) {
  if (!enabled()) return false;
  std::lock_guard lock(mutex_);
  return refill(key, now).tokens < 1;
}

void RateLimiter::forget_full_buckets(TimePoint now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
    return b.tokens + elapsed * limit_.per_second >= limit_.burst;
  });
  // Still full of active keys (a flood of distinct ones): start over rather than grow.
  if (buckets_.size() >= kMaxBuckets) buckets_.clear();
}

void ExpiringSet::insert(std::string_view key, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (expires_.size() >= capacity_) {
    std::erase_if(expires_, [&](const auto& entry) { return entry.second <= now; });
    if (expires_.size() >= capacity_) expires_.clear();
  }
  expires_[key_hash(key)] = now + ttl_;
}

bool ExpiringSet::contains(std::string_view key, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = expires_.find(key_hash(key));
  if (it == expires_.end()) return false;
  if (it->second > now) return true;
  expires_.erase(it);
  return false;
}

void ExpiringSet::erase(std::string_view key) {
  std::lock_guard lock(mutex_);
  expires_.erase(key_hash(key));
}

Throttle::Throttle(ThrottleOptions options)
    : requests_(options.requests), operations_(options.operations), failures_(options.failed_auth),
      unknown_(options.unknown_token_ttl, 100'000), good_(std::chrono::minutes(10), 100'000) {}

Throttle::Decision Throttle::before_lookup(std::string_view token_hash, std::string_view address, TimePoint now) {
  if (auto wait = requests_.admit(token_hash, now)) return {Verdict::too_many_requests, *wait};
  if (unknown_.contains(token_hash, now)) {
    if (auto wait = failures_.admit(address, now)) return {Verdict::too_many_failures, *wait};
    return {Verdict::unknown_token, {}};
  }
  // An address that keeps failing is refused before its tokens cost a lookup, unless the
  // token has authenticated recently.
  if (failures_.exhausted(address, now) && !good_.contains(token_hash, now)) {
    auto wait = failures_.admit(address, now).value_or(std::chrono::milliseconds(1000));
    return {Verdict::too_many_failures, wait};
  }
  return {Verdict::go_on, {}};
}

void Throttle::after_lookup(std::string_view token_hash, std::string_view address, Outcome outcome,
                            TimePoint now) {
  switch (outcome) {
    case Outcome::known:
      good_.insert(token_hash, now);
      return;
    case Outcome::unknown:
      unknown_.insert(token_hash, now);
      [[fallthrough]];
    case Outcome::refused:
      good_.erase(token_hash);
      (void)failures_.admit(address, now);
      return;
  }
}

std::optional<std::chrono::milliseconds> Throttle::malformed(std::string_view address, TimePoint now) {
  return failures_.admit(address, now);
}

std::optional<std::chrono::milliseconds> Throttle::take_operations(std::string_view token_hash, std::size_t count,
                                                                   TimePoint now) {
  return operations_.admit(token_hash, now, static_cast<double>(count));
}

}  // namespace avsync::server

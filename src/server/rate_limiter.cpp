#include "server/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace avsync::server {
namespace {

// Buckets of tokens that went quiet are dropped past this many, so memory stays bounded
// however many tokens a server sees.
constexpr std::size_t kMaxBuckets = 100'000;

}  // namespace

std::optional<std::chrono::milliseconds> RateLimiter::admit(std::string_view token, TimePoint now) {
  if (!enabled()) return std::nullopt;
  const std::uint64_t key = std::hash<std::string_view>{}(token);
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= kMaxBuckets) forget_full_buckets(now);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{limit_.burst, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
  b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, elapsed) * limit_.per_second);
  b.refilled_at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const double wait_s = (1 - b.tokens) / limit_.per_second;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000)));
}

void RateLimiter::forget_full_buckets(TimePoint now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
    return b.tokens + elapsed * limit_.per_second >= limit_.burst;
  });
}

}  // namespace avsync::server

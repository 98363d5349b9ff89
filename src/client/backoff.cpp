#include "client/backoff.hpp"

#include <algorithm>

namespace avsync::client {

std::chrono::milliseconds Backoff::window(int failures) const {
  const std::int64_t base = std::max<std::int64_t>(1, policy_.base.count());
  const std::int64_t cap = std::max<std::int64_t>(base, policy_.cap.count());
  std::int64_t w = base;
  for (int i = 1; i < failures && w < cap; ++i) w *= 2;  // doubling stops at the cap: no overflow
  return std::chrono::milliseconds(std::min(w, cap));
}

std::chrono::milliseconds Backoff::next_delay(int failures) {
  std::uniform_int_distribution<std::int64_t> pick(1, window(failures).count());
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace avsync::client

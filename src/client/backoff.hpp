#pragma once
// Exponential backoff with full jitter, as a small pure state machine: the random engine
// is injected, so tests pin every delay.

#include <chrono>
#include <cstdint>
#include <random>

#include "avsync/client.hpp"

namespace avsync::client {

class Backoff {
 public:
  Backoff(RetryPolicy policy, std::uint64_t seed) : policy_(policy), random_(seed) {}

  // The largest delay after `failures` consecutive failures (>= 1):
  // min(cap, base * 2^(failures - 1)).
  std::chrono::milliseconds window(int failures) const;
  // A delay drawn uniformly from [1 ms, window(failures)] ("full jitter": clients that
  // failed together do not retry together).
  std::chrono::milliseconds next_delay(int failures);

 private:
  RetryPolicy policy_;
  std::mt19937_64 random_;
};

}  // namespace avsync::client

#pragma once
// For unit tests: a Clock that says what the test sets, so time-based rules are tested
// without sleeping. Thread-safe: a test may advance it while another thread reads it.

#include <atomic>

#include "core/clock.hpp"

namespace avsync::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixMillis start) : now_(start) {}
  UnixMillis now() const override { return now_; }
  void advance(UnixMillis ms) { now_ += ms; }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace avsync::testing

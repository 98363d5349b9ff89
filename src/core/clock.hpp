#pragma once
// Time comes through this interface so the server's clamping of client clocks and every
// timestamp it writes can be tested with a clock the test controls.

#include "core/timestamp.hpp"

namespace avsync {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual UnixMillis now() const = 0;
};

// The wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  UnixMillis now() const override;
};

}  // namespace avsync

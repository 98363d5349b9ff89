#pragma once
// The line `avsync sync` keeps up to date on a terminal while it runs: rows pulled so far
// and the rate, rewritten in place (a carriage return, then spaces over what the last one
// left), at most every kInterval. Pure: the caller passes the time and writes the text, so
// the tests need no terminal and no clock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace avsync::cli {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kInterval{250};

  explicit ProgressLine(Clock::time_point start) : start_(start) {}

  // The text to write for these counts at `now`: empty while the last line shown is less
  // than kInterval old, or when nothing was pushed or pulled yet.
  std::string update(std::uint64_t pushed, std::uint64_t pulled, Clock::time_point now);
  // The text that clears the line, before the command prints its result; empty when no
  // line was shown.
  std::string clear() const;

 private:
  Clock::time_point start_;
  std::optional<Clock::time_point> shown_at_;
  std::size_t width_ = 0;  // of the line shown last
};

// "pulled 1,234,567 rows, 250,000 rows/s" (with "pushed N, " first once anything was
// pushed); the rate is over the whole run so far, 0 before any time has passed.
std::string format_progress(std::uint64_t pushed, std::uint64_t pulled,
                            std::chrono::duration<double> elapsed);

// 1234567 -> "1,234,567".
std::string with_thousands(std::uint64_t n);

}  // namespace avsync::cli

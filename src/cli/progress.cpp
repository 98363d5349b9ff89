#include "cli/progress.hpp"

namespace avsync::cli {

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_progress(std::uint64_t pushed, std::uint64_t pulled,
                            std::chrono::duration<double> elapsed) {
  std::string line;
  if (pushed > 0) line = "pushed " + with_thousands(pushed) + ", ";
  const double seconds = elapsed.count();
  const auto rate =
      seconds > 0 ? static_cast<std::uint64_t>(static_cast<double>(pulled) / seconds) : 0;
  line += "pulled " + with_thousands(pulled) + " rows, " + with_thousands(rate) + " rows/s";
  return line;
}

std::string ProgressLine::update(std::uint64_t pushed, std::uint64_t pulled,
                                 Clock::time_point now) {
  if (pushed == 0 && pulled == 0) return {};
  if (shown_at_ && now - *shown_at_ < kInterval) return {};
  shown_at_ = now;
  std::string line = format_progress(pushed, pulled, now - start_);
  const std::size_t width = line.size();
  // Spaces over the rest of a longer line shown before (no terminal escapes: a dumb
  // terminal shows this right too).
  if (width < width_) line.append(width_ - width, ' ');
  width_ = width;
  return "\r" + line;
}

std::string ProgressLine::clear() const {
  if (width_ == 0) return {};
  return "\r" + std::string(width_, ' ') + "\r";
}

}  // namespace avsync::cli

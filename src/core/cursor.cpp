#include "core/cursor.hpp"

#include <charconv>

namespace avsync {
namespace {
constexpr std::string_view kPrefix = "v1.";
}

std::string encode_cursor(std::uint64_t version) {
  return std::string(kPrefix) + std::to_string(version);
}

std::optional<std::uint64_t> decode_cursor(std::string_view text) {
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::uint64_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (version > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return version;
}

}  // namespace avsync

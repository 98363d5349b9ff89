#pragma once
// UUID text (docs/protocol.md §1): any version, case-insensitive on input, lower-case out.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avsync {

// The canonical lower-case 8-4-4-4-12 form, or nullopt when `text` is not a UUID.
std::optional<std::string> normalize_uuid(std::string_view text);

// Formats 16 random bytes as a version-4 UUID (sets the version and variant bits).
std::string format_uuid_v4(std::array<std::uint8_t, 16> random_bytes);

// Number of Unicode code points in valid UTF-8 text.
std::size_t count_code_points(std::string_view utf8);

}  // namespace avsync

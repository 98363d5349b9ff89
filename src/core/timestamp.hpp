#pragma once
// ISO-8601 timestamps (docs/protocol.md §1): parsed with any UTC offset, kept as milliseconds
// since the Unix epoch, always written as UTC with milliseconds: 2026-11-25T08:00:00.000Z.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace avsync {

// Milliseconds since 1970-01-01T00:00:00Z.
using UnixMillis = std::int64_t;

// Accepts YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z or ±HH:MM / ±HHMM / ±HH.
// The offset is required (a local time without one is ambiguous). Fractions finer than a
// millisecond are truncated. Years 0001..9999.
Result<UnixMillis> parse_timestamp(std::string_view text);

// "2026-11-25T08:00:00.000Z". Sorts lexicographically in time order.
std::string format_timestamp(UnixMillis ms);

// The same text written into `buf`, with no allocation (the change feed formats two or
// more per row). Returns the text, a view of `buf`.
inline constexpr std::size_t kTimestampBufferSize = 32;
std::string_view format_timestamp(UnixMillis ms, char (&buf)[kTimestampBufferSize]);

}  // namespace avsync

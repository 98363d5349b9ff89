// Fuzz target: the query string of GET /sync/changes (limit, since as cursor or ISO
// timestamp, percent-encoding) and the cursor and timestamp decoders on their own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/codec.hpp"
#include "core/cursor.hpp"
#include "core/timestamp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)avsync::decode_changes_query(text);
  if (auto version = avsync::decode_cursor(text)) {
    if (avsync::decode_cursor(avsync::encode_cursor(*version)) != version) __builtin_trap();  // round trip
  }
  if (auto ms = avsync::parse_timestamp(text)) {
    auto again = avsync::parse_timestamp(avsync::format_timestamp(*ms));
    if (!again || *again != *ms) __builtin_trap();  // canonical form parses back to itself
  }
  return 0;
}

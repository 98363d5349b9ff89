#pragma once
// The change feed's cursor (docs/protocol.md §4). Clients treat it as opaque; inside it is the
// tenant's change version after which the next page starts: "v1.<version>".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avsync {

std::string encode_cursor(std::uint64_t version);
// nullopt when `text` is not a cursor this server issued (a malformed `since`).
std::optional<std::uint64_t> decode_cursor(std::string_view text);

}  // namespace avsync

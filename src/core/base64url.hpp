#pragma once
// Unpadded base64url (RFC 4648 §5), the alphabet and form JOSE and our device tokens use.

#include <optional>
#include <string>
#include <string_view>

namespace avsync {

std::string encode_base64url(std::string_view bytes);
// nullopt for a character outside the alphabet (padding and whitespace included), a length
// of 4n+1, or non-zero bits after the last byte (so every byte string has exactly one
// spelling).
std::optional<std::string> decode_base64url(std::string_view text);

}  // namespace avsync

#pragma once
// SHA-256 through OpenSSL, for what the server names by a hash: device tokens (auth.cpp)
// and the demo's files (static_files.cpp).

#include <string>
#include <string_view>

namespace avsync::server {

// The SHA-256 of `bytes`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace avsync::server

#include "server/auth.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "core/ids.hpp"

namespace avsync::server {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> random_bytes() {
  std::array<std::uint8_t, N> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return bytes;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

Error unauthenticated(std::string message) {
  return Error{ErrorCode::unauthenticated, std::move(message)};
}

}  // namespace

std::string generate_token() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto bytes = random_bytes<32>();
  std::string out = "avs_";
  // base64url without padding: 32 bytes -> 43 characters.
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::string hash_token(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string generate_uuid() { return format_uuid_v4(random_bytes<16>()); }

Result<std::string_view> bearer_token(std::string_view header) {
  if (header.empty()) return unauthenticated("missing Authorization header");
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = header.size() > kScheme.size();
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(header[i])) == kScheme[i];
  if (!scheme_ok) return unauthenticated("Authorization must be 'Bearer <token>'");
  std::string_view token = header.substr(kScheme.size());
  if (token.empty() || token.size() > 512)
    return unauthenticated("Authorization must be 'Bearer <token>'");
  for (char c : token)
    if (!is_token_char(c)) return unauthenticated("Authorization must be 'Bearer <token>'");
  return token;
}

Authenticator::Identity Authenticator::identify(std::string_view token_hash) const {
  using Status = Identity::Status;
  auto record = store_.find_token(token_hash);
  if (!record) return {Status::unknown, {}};
  if (record->revoked) return {Status::revoked, {}};
  if (record->expires_at <= clock_.now()) return {Status::expired, {}};
  return {Status::valid, RequestContext{record->business_id, record->user_id}};
}

}  // namespace avsync::server

#include "server/auth.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "core/base64url.hpp"
#include "core/ids.hpp"
#include "server/digest.hpp"
#include "server/jwt.hpp"

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
  const auto bytes = random_bytes<32>();
  // 32 bytes -> 43 characters.
  return "avs_" + encode_base64url({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::string hash_token(std::string_view token) { return sha256_hex(token); }

std::string generate_uuid() { return format_uuid_v4(random_bytes<16>()); }

bool is_business_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

IssuedToken issue_token(store::Store& store, const Clock& clock, std::string_view business_id,
                        std::string_view user_id, std::int64_t ttl_hours) {
  IssuedToken issued;
  issued.token = generate_token();
  const UnixMillis now = clock.now();
  issued.expires_at = now + ttl_hours * 3600 * 1000;
  std::string hash = hash_token(issued.token);
  issued.id = hash.substr(0, store::kTokenIdLength);
  store.create_token({std::move(hash), std::string(business_id), std::string(user_id), issued.expires_at, false},
                     format_timestamp(now));
  return issued;
}

Result<std::string_view> bearer_token(std::string_view header) {
  if (header.empty()) return unauthenticated("missing Authorization header");
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = header.size() > kScheme.size();
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(header[i])) == kScheme[i];
  if (!scheme_ok) return unauthenticated("Authorization must be 'Bearer <token>'");
  std::string_view token = header.substr(kScheme.size());
  if (token.size() > kMaxTokenLength) return unauthenticated("the token is over 8 KiB");
  if (token.empty()) return unauthenticated("Authorization must be 'Bearer <token>'");
  for (char c : token)
    if (!is_token_char(c)) return unauthenticated("Authorization must be 'Bearer <token>'");
  return token;
}

struct Authenticator::KnownBusinesses {
  static constexpr std::size_t kCapacity = 100'000;  // then forgotten at once, and relearned
  std::mutex mutex;
  std::unordered_set<std::string> ids;

  bool contains(const std::string& id) {
    std::lock_guard lock(mutex);
    return ids.count(id) > 0;
  }
  void insert(std::string id) {
    std::lock_guard lock(mutex);
    if (ids.size() >= kCapacity) ids.clear();
    ids.insert(std::move(id));
  }
};

Authenticator::Authenticator(store::Store& store, const Clock& clock, const JwtVerifier* jwt)
    : store_(store), clock_(clock), jwt_(jwt), known_(std::make_unique<KnownBusinesses>()) {}

Authenticator::~Authenticator() = default;

Authenticator::Identity Authenticator::identify_jwt(std::string_view token) const {
  using Status = Identity::Status;
  if (!jwt_)
    return {Status::invalid, {},
            "JWTs are not accepted here: the server has no --jwks-file, --jwks-url or --jwt-secret-file"};
  auto claims = jwt_->verify(token);
  if (!claims)
    return {claims.error().code == ErrorCode::unavailable ? Status::unavailable : Status::invalid, {},
            claims.error().message};
  if (!known_->contains(claims->business_id)) {
    store_.ensure_business(claims->business_id, claims->business_id, format_timestamp(clock_.now()));
    known_->insert(claims->business_id);
  }
  return {Status::valid, RequestContext{std::move(claims->business_id), std::move(claims->user_id)}, {}};
}

Authenticator::Identity Authenticator::identify(std::string_view token_hash) const {
  using Status = Identity::Status;
  auto record = store_.find_token(token_hash);
  if (!record) return {Status::unknown, {}};
  if (record->revoked) return {Status::revoked, {}};
  if (record->expires_at <= clock_.now()) return {Status::expired, {}};
  return {Status::valid, RequestContext{record->business_id, record->user_id}, {}};
}

}  // namespace avsync::server

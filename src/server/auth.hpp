#pragma once
// Bearer tokens (docs/protocol.md §2). A token is 32 random bytes, shown once; the store keeps
// only its SHA-256. Every /sync/* request gets a RequestContext from Authenticator and
// reaches tenant data only through it.

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace avsync::server {

// Who is calling. The tenant comes from here and nowhere else.
struct RequestContext {
  std::string business_id;
  std::string user_id;
};

// "avs_" followed by 43 base64url characters (32 bytes from OpenSSL's CSPRNG).
std::string generate_token();
// Lower-case hex SHA-256 of the token text.
std::string hash_token(std::string_view token);
// A random version-4 UUID.
std::string generate_uuid();

// A business id: 1 to 128 printable ASCII characters (0x20 to 0x7E). The app's own id for
// an organization (a JWT's business claim) need not be a UUID.
bool is_business_id(std::string_view id);

// Default and bounds of a device token's lifetime, in hours.
inline constexpr std::int64_t kDefaultTokenTtlHours = 720;
inline constexpr std::int64_t kMaxTokenTtlHours = 24 * 365 * 100;

struct IssuedToken {
  std::string token;  // shown once, never stored
  std::string id;     // its public id (store::TokenInfo::id)
  UnixMillis expires_at;
};
// Mints an opaque device token for a business that exists, storing only its hash.
IssuedToken issue_token(store::Store& store, const Clock& clock, std::string_view business_id,
                        std::string_view user_id, std::int64_t ttl_hours);

// The longest bearer token accepted (a JWT with many claims; opaque tokens are 47).
inline constexpr std::size_t kMaxTokenLength = 8192;

// The token of an Authorization header value: exactly "Bearer <token>" (the scheme in any
// case), the token 1 to kMaxTokenLength characters of the token68 alphabet.
// unauthenticated otherwise. The view points into `authorization`.
Result<std::string_view> bearer_token(std::string_view authorization);

class JwtVerifier;

class Authenticator {
 public:
  // `jwt`: verifies JWT bearer tokens; nullptr refuses them. Not owned.
  Authenticator(store::Store& store, const Clock& clock, const JwtVerifier* jwt = nullptr);
  ~Authenticator();

  struct Identity {
    enum class Status {
      valid, unknown, revoked, expired,
      invalid,      // a JWT refused
      unavailable,  // a JWT whose key is still being fetched: retry
    };
    Status status;
    RequestContext context;  // when valid
    std::string reason;      // when invalid or unavailable: why, for the answer's message
  };
  // Looks an opaque token up by its hash (hash_token). Reads the store on every call, so
  // a revocation applies to the very next request. Throws when the store fails.
  Identity identify(std::string_view token_hash) const;
  // Verifies a JWT (any token with a dot; device tokens have none). The business its claim names
  // is created on first use: the signature is the proof. Throws when the store fails.
  Identity identify_jwt(std::string_view token) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  const JwtVerifier* jwt_;
  // Businesses known to exist, so a JWT's business costs one store write per process.
  struct KnownBusinesses;
  std::unique_ptr<KnownBusinesses> known_;
};

}  // namespace avsync::server

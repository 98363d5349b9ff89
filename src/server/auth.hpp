#pragma once
// Bearer tokens (docs/protocol.md §2). A token is 32 random bytes, shown once; the store keeps
// only its SHA-256. Every /sync/* request gets a RequestContext from Authenticator and
// reaches tenant data only through it.

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

// The token of an Authorization header value: exactly "Bearer <token>" (the scheme in any
// case), the token 1 to 512 characters of the token68 alphabet. unauthenticated otherwise.
// The view points into `authorization`.
Result<std::string_view> bearer_token(std::string_view authorization);

class Authenticator {
 public:
  Authenticator(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  struct Identity {
    enum class Status { valid, unknown, revoked, expired };
    Status status;
    RequestContext context;  // when valid
  };
  // Looks a token up by its hash (hash_token). Reads the store on every call, so a
  // revocation applies to the very next request. Throws when the store fails.
  Identity identify(std::string_view token_hash) const;

 private:
  store::Store& store_;
  const Clock& clock_;
};

}  // namespace avsync::server

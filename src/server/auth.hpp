#pragma once
// Bearer tokens (PROTOCOL.md §2). A token is 32 random bytes, shown once; the store keeps
// only its SHA-256. Every /sync/* handler gets a RequestContext from authenticate() and
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

class Authenticator {
 public:
  Authenticator(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Resolves an Authorization header value. unauthenticated when it is missing or
  // malformed (exactly "Bearer <token>"), or the token is unknown, revoked or expired.
  // Reads the store on every call, so a revocation applies to the very next request.
  Result<RequestContext> authenticate(std::string_view authorization) const;

 private:
  store::Store& store_;
  const Clock& clock_;
};

}  // namespace avsync::server

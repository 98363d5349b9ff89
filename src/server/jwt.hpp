#pragma once
// JWT bearer tokens (RFC 7519, compact JWS of RFC 7515), accepted beside the server's own
// opaque tokens (docs/protocol.md §2): any token with a dot is judged as a JWT. The verifier
// checks the signature with a key from a KeySource (jwks.hpp) and turns the claims into
// the caller's identity: a business id and a user id.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "server/jwks.hpp"

namespace avsync::server {

// Tokens longer than this are refused before anything is decoded.
inline constexpr std::size_t kMaxJwtBytes = 8192;

struct JwtOptions {
  std::optional<std::string> issuer;    // when set, "iss" must equal it
  std::optional<std::string> audience;  // when set, "aud" (a string or an array) must hold it
  std::string business_claim = "businessId";
  std::string user_claim = "sub";
  std::chrono::seconds leeway{60};  // allowed clock skew for exp and nbf
};

struct JwtClaims {
  std::string business_id;
  std::string user_id;
  UnixMillis expires_at;  // exp
};

// True when `token` has exactly two dots: the shape of a compact JWS. Opaque tokens have none.
bool looks_like_jwt(std::string_view token);

// Verifies JWTs. Thread-safe; verify() never waits on I/O for a known key (it may wait up
// to KeySourceOptions::unknown_kid_wait when the token names a kid the source lacks).
class JwtVerifier {
 public:
  // Keeps references to `keys` and `clock`, which must outlive the verifier.
  JwtVerifier(KeySource& keys, JwtOptions options, const Clock& clock)
      : keys_(keys), options_(std::move(options)), clock_(clock) {}

  // The claims of a valid token, or unauthenticated with a message that says why not:
  // - shape: longer than kMaxJwtBytes; not three parts; a part that is not base64url; a
  //   header or payload that is not a JSON object, or repeats a member; a "crit" header.
  // - algorithm: "none" (any case); one other than EdDSA, ES256, RS256, HS256; one the key
  //   does not verify (an EdDSA token naming an RSA key) or that differs from the key's own
  //   "alg". HS256 is verified only with the KeySource's secret, never with JWKS material:
  //   an HS256 token whose kid names a JWKS key is refused (the RSA-public-key-as-HMAC-
  //   secret attack), as is any HS256 token when no secret is configured.
  // - key: a kid unknown even after a refresh (KeySource::refresh_for_unknown_kid); a kid
  //   naming a key the set skipped; no kid and not exactly one key of the algorithm's type.
  // - signature: does not verify (ES256: JOSE's 64-byte r||s only).
  // - claims: exp missing, not a number, or at least `leeway` in the past; nbf more than
  //   `leeway` in the future; iss or aud not the configured one; the business claim
  //   missing, not a string, or not 1 to 128 printable ASCII characters (0x20..0x7E); the
  //   user claim missing, not a string, or empty.
  // Keys come only from the KeySource: header members that offer one (jwk, jku, x5u, x5c)
  // are ignored. When the token's key is not known and the KeySource's answer is not
  // settled (the JWKS URL has not answered yet, or a refresh is under way), the error is
  // unavailable instead: retry, the token may be good. Throws only when OpenSSL fails.
  Result<JwtClaims> verify(std::string_view token) const;

 private:
  KeySource& keys_;
  JwtOptions options_;
  const Clock& clock_;
};

}  // namespace avsync::server

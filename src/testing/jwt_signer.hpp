#pragma once
// For tests: key pairs made with OpenSSL and compact JWS tokens signed with them, so the
// JWT verifier's unit tests (server/jwt_test.cpp) and the integration tests hold real
// tokens. Broken tokens are made from good ones by string surgery in the tests.
//
//   auto signer = JwtSigner::ed25519("key-1");
//   write_file(jwks_path, jwks_json({signer.jwk()}));
//   std::string token = signer.sign({{"sub", "user-1"}, {"businessId", "b1"}, {"exp",
//   2000000000}});

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64url.hpp"

namespace avsync::testing {

using avsync::encode_base64url;  // core/base64url.hpp: JOSE's encoding, for tests that build tokens by hand

// A key pair, or an HMAC secret, that signs tokens. Move-only. Key generation throws when
// OpenSSL fails.
class JwtSigner {
 public:
  // A fresh key pair. With an empty kid, the JWK and the default header have no kid.
  // rs256's first keys of each size in a process are fixed ones (generating RSA keys is
  // slow); every key a process gets is still distinct from the others.
  static JwtSigner ed25519(std::string kid);
  static JwtSigner es256(std::string kid);
  static JwtSigner rs256(std::string kid, int bits = 2048);
  // HS256 with `secret` as the HMAC key, of any length (the verifier's minimum is for the
  // server's own secret file). `kid`, when not empty, goes into the default header.
  static JwtSigner hs256(std::string secret, std::string kid = {});

  JwtSigner(JwtSigner&&) noexcept;
  JwtSigner& operator=(JwtSigner&&) noexcept;
  ~JwtSigner();

  const std::string& kid() const { return kid_; }
  // "EdDSA", "ES256", "RS256" or "HS256".
  const std::string& alg() const { return alg_; }

  // The public JWK: kty, crv and x (and y), or n and e; "kid" when the kid is not empty;
  // "alg" when `alg` is given (it may differ from alg(), to test that case). Throws for
  // HS256, which has no public key.
  boost::json::object jwk(std::optional<std::string> alg = std::nullopt) const;
  // The public key as PEM (SubjectPublicKeyInfo): what an attacker would try as an HMAC
  // secret. Throws for HS256.
  std::string public_pem() const;

  // {"alg": alg(), "kid": kid()}, without "kid" when it is empty.
  boost::json::object header() const;
  // header() and `payload`, signed.
  std::string sign(const boost::json::object& payload) const;
  // Any header, signed with this key whatever its "alg" says.
  std::string sign(const boost::json::object& header, const boost::json::object& payload) const;
  // Header and payload as raw bytes (invalid JSON, an array), base64url-encoded and signed.
  std::string sign_raw(std::string_view header_bytes, std::string_view payload_bytes) const;
  // This key's signature of `input`, as JOSE writes it (ES256: r||s, 64 bytes).
  std::string signature(std::string_view input) const;

 private:
  struct Key;  // the OpenSSL key (jwt_signer.cpp)
  JwtSigner(std::string alg, std::string kid, std::unique_ptr<Key> key);

  std::string alg_;
  std::string kid_;
  std::unique_ptr<Key> key_;
};

// A JWKS document, {"keys": [...]}, as JSON text.
std::string jwks_json(const std::vector<boost::json::object>& keys);

}  // namespace avsync::testing

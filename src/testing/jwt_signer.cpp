#include "testing/jwt_signer.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <mutex>
#include <span>
#include <stdexcept>

#include "core/openssl_ptr.hpp"
#include "testing/rsa_test_keys.hpp"

namespace avsync::testing {
namespace {

using ssl::BioPtr;
using ssl::BnPtr;
using ssl::EcdsaSigPtr;
using ssl::MdCtxPtr;
using ssl::PkeyPtr;

[[noreturn]] void fail(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL: ") + what);
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string bn_bytes(const BIGNUM* bn, int width = 0) {
  int size = width ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size) != size)
    fail("BN_bn2binpad");
  return out;
}

std::string bn_param(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) fail("EVP_PKEY_get_bn_param");
  BnPtr bn(raw);
  return bn_bytes(bn.get(), width);
}

// DER ECDSA signature to JOSE's r||s (RFC 7518 §3.4).
std::string es256_raw(std::string_view der) {
  const unsigned char* p = bytes(der);
  EcdsaSigPtr sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) fail("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return bn_bytes(r, 32) + bn_bytes(s, 32);
}

// Generating an RSA key takes a good part of a second (more under the sanitizers), and
// every test is a process of its own, so the first keys of a size that a process asks for
// are fixed ones (testing/rsa_test_keys.hpp); later ones are generated. The keys of one
// process are still distinct from one another. Null when the fixed ones are used up.
PkeyPtr fixed_rsa_key(int bits) {
  static std::mutex mutex;
  static std::size_t used_2048 = 0;
  static std::size_t used_1024 = 0;
  std::span<const char* const> keys;
  std::size_t* used = nullptr;
  if (bits == 2048) {
    keys = rsa_test_keys::k2048;
    used = &used_2048;
  } else if (bits == 1024) {
    keys = rsa_test_keys::k1024;
    used = &used_1024;
  } else {
    return nullptr;
  }
  std::lock_guard lock(mutex);
  if (*used == keys.size()) return nullptr;
  const char* pem = keys[(*used)++];
  BioPtr bio(BIO_new_mem_buf(pem, static_cast<int>(std::strlen(pem))));
  if (!bio) fail("BIO_new_mem_buf");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("reading a fixed RSA key");
  return key;
}

}  // namespace

struct JwtSigner::Key {
  PkeyPtr pkey;        // the key pair, or null for HS256
  std::string secret;  // HS256
};


JwtSigner::JwtSigner(std::string alg, std::string kid, std::unique_ptr<Key> key)
    : alg_(std::move(alg)), kid_(std::move(kid)), key_(std::move(key)) {}
JwtSigner::JwtSigner(JwtSigner&&) noexcept = default;
JwtSigner& JwtSigner::operator=(JwtSigner&&) noexcept = default;
JwtSigner::~JwtSigner() = default;

JwtSigner JwtSigner::ed25519(std::string kid) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) fail("Ed25519 key generation");
  return JwtSigner("EdDSA", std::move(kid), std::make_unique<Key>(Key{std::move(key), {}}));
}

JwtSigner JwtSigner::es256(std::string kid) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("P-256 key generation");
  return JwtSigner("ES256", std::move(kid), std::make_unique<Key>(Key{std::move(key), {}}));
}

JwtSigner JwtSigner::rs256(std::string kid, int bits) {
  PkeyPtr key = fixed_rsa_key(bits);
  if (!key) key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!key) fail("RSA key generation");
  return JwtSigner("RS256", std::move(kid), std::make_unique<Key>(Key{std::move(key), {}}));
}

JwtSigner JwtSigner::hs256(std::string secret, std::string kid) {
  return JwtSigner("HS256", std::move(kid), std::make_unique<Key>(Key{nullptr, std::move(secret)}));
}

boost::json::object JwtSigner::jwk(std::optional<std::string> alg) const {
  EVP_PKEY* key = key_->pkey.get();
  if (!key) throw std::logic_error("an HS256 signer has no public JWK");
  boost::json::object out;
  if (alg_ == "EdDSA") {
    unsigned char x[32];
    std::size_t length = sizeof x;
    if (EVP_PKEY_get_raw_public_key(key, x, &length) != 1) fail("EVP_PKEY_get_raw_public_key");
    out["kty"] = "OKP";
    out["crv"] = "Ed25519";
    out["x"] = encode_base64url({reinterpret_cast<const char*>(x), length});
  } else if (alg_ == "ES256") {
    out["kty"] = "EC";
    out["crv"] = "P-256";
    out["x"] = encode_base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    out["y"] = encode_base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  } else {
    out["kty"] = "RSA";
    out["n"] = encode_base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_N));
    out["e"] = encode_base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_E));
  }
  if (!kid_.empty()) out["kid"] = kid_;
  if (alg) out["alg"] = *alg;
  return out;
}

std::string JwtSigner::public_pem() const {
  if (!key_->pkey) throw std::logic_error("an HS256 signer has no public key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_->pkey.get()) != 1) fail("PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

boost::json::object JwtSigner::header() const {
  boost::json::object h{{"alg", alg_}};
  if (!kid_.empty()) h["kid"] = kid_;
  return h;
}

std::string JwtSigner::sign(const boost::json::object& payload) const {
  return sign(header(), payload);
}

std::string JwtSigner::sign(const boost::json::object& header,
                            const boost::json::object& payload) const {
  return sign_raw(boost::json::serialize(header), boost::json::serialize(payload));
}

std::string JwtSigner::sign_raw(std::string_view header_bytes,
                                std::string_view payload_bytes) const {
  std::string input = encode_base64url(header_bytes) + "." + encode_base64url(payload_bytes);
  return input + "." + encode_base64url(signature(input));
}

std::string JwtSigner::signature(std::string_view input) const {
  if (!key_->pkey) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_->secret.data(),
                   key_->secret.size(), bytes(input), input.size(), mac, sizeof mac, &length))
      fail("HMAC-SHA256");
    return std::string(reinterpret_cast<const char*>(mac), length);
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* digest = alg_ == "EdDSA" ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest, nullptr, key_->pkey.get()) != 1)
    fail("EVP_DigestSignInit");
  std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key_->pkey.get()));
  std::string out(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, bytes(input),
                     input.size()) != 1)
    fail("EVP_DigestSign");
  out.resize(length);
  return alg_ == "ES256" ? es256_raw(out) : out;
}

std::string jwks_json(const std::vector<boost::json::object>& keys) {
  boost::json::array list;
  for (const auto& key : keys) list.push_back(key);
  return boost::json::serialize(boost::json::object{{"keys", std::move(list)}});
}

}  // namespace avsync::testing

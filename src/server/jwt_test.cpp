#include "server/jwt.hpp"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "testing/fake_clock.hpp"
#include "testing/jwt_signer.hpp"
#include "testing/test_dir.hpp"

namespace avsync::server {
namespace {

using avsync::encode_base64url;
using avsync::testing::FakeClock;
using avsync::testing::jwks_json;
using avsync::testing::JwtSigner;
using avsync::testing::TestDir;
using boost::json::object;

constexpr UnixMillis kNow = 1'800'000'000'000;
constexpr std::int64_t kNowSeconds = kNow / 1000;
constexpr std::string_view kSecret = "an-hs256-secret-of-more-than-32-bytes";

// Key generation costs milliseconds (RSA far more), so each test process makes these once.
const JwtSigner& ed_key() {
  static const JwtSigner key = JwtSigner::ed25519("ed-1");
  return key;
}
const JwtSigner& ec_key() {
  static const JwtSigner key = JwtSigner::es256("ec-1");
  return key;
}
const JwtSigner& rsa_key() {
  static const JwtSigner key = JwtSigner::rs256("rsa-1");
  return key;
}
const JwtSigner& hs_key() {
  static const JwtSigner key = JwtSigner::hs256(std::string(kSecret));
  return key;
}

// A payload the default options accept.
object claims() {
  return {{"sub", "user-1"},
          {"businessId", "biz-1"},
          {"iat", kNowSeconds},
          {"exp", kNowSeconds + 3600}};
}

object with(object base, std::string_view name, boost::json::value value) {
  base[name] = std::move(value);
  return base;
}

// A JSON string of any bytes (boost::json::value takes std::string only as a string_view).
boost::json::value text(std::string_view s) { return boost::json::value(s); }

object without(object base, std::string_view name) {
  base.erase(name);
  return base;
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream(path + ".tmp", std::ios::binary) << text;
  std::filesystem::rename(path + ".tmp", path);
}

// The token with its third part replaced by `signature` (raw bytes).
std::string with_signature(const std::string& token, std::string_view signature) {
  return token.substr(0, token.rfind('.') + 1) + encode_base64url(signature);
}

::testing::AssertionResult refused(const Result<JwtClaims>& result, std::string_view why) {
  if (result)
    return ::testing::AssertionFailure() << "accepted, expected a refusal saying \"" << why << "\"";
  if (result.error().code != ErrorCode::unauthenticated)
    return ::testing::AssertionFailure()
           << "code " << static_cast<int>(result.error().code) << ": " << result.error().message;
  if (result.error().message.find(why) == std::string::npos)
    return ::testing::AssertionFailure()
           << "refused with \"" << result.error().message << "\", expected \"" << why << "\"";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult accepted(const Result<JwtClaims>& result) {
  if (result) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "refused: " << result.error().message;
}

// A JWKS file holding the Ed25519, P-256 and RSA keys, and an HS256 secret file. Tests
// change jwks_ or the options before the first verify() opens the key source.
class JwtVerify : public ::testing::Test {
 protected:
  Result<JwtClaims> verify(std::string_view token) {
    if (!source_) {
      write_file(dir_.file("jwks.json"), jwks_json(jwks_));
      write_file(dir_.file("secret"), secret_);
      KeySourceOptions o;
      o.jwks_file = dir_.file("jwks.json");
      if (!secret_.empty()) o.hs256_secret_file = dir_.file("secret");
      o.unknown_kid_wait = std::chrono::milliseconds(500);
      auto opened = KeySource::open(o);
      if (!opened) ADD_FAILURE() << opened.error().message;
      source_ = std::move(*opened);
    }
    return JwtVerifier(*source_, options_, clock_).verify(token);
  }

  TestDir dir_;
  FakeClock clock_{kNow};
  std::vector<object> jwks_{ed_key().jwk(), ec_key().jwk(), rsa_key().jwk()};
  std::string secret_{kSecret};
  JwtOptions options_;
  std::unique_ptr<KeySource> source_;
};

TEST(JwtShape, ATokenWithExactlyTwoDotsLooksLikeAJwt) {
  EXPECT_TRUE(looks_like_jwt("a.b.c"));
  EXPECT_TRUE(looks_like_jwt(".."));
  EXPECT_FALSE(looks_like_jwt("avs_3q2-7wEjY6kQ0lR7Gx1yE9u1p6Y_tbZmlWc0v1f8xJk"));
  EXPECT_FALSE(looks_like_jwt("a.b"));
  EXPECT_FALSE(looks_like_jwt("a.b.c.d"));
}

TEST_F(JwtVerify, AValidTokenOfEachAlgorithmYieldsItsClaims) {
  for (const JwtSigner* key : {&ed_key(), &ec_key(), &rsa_key(), &hs_key()}) {
    auto result = verify(key->sign(claims()));
    ASSERT_TRUE(accepted(result)) << key->alg();
    EXPECT_EQ(result->business_id, "biz-1") << key->alg();
    EXPECT_EQ(result->user_id, "user-1") << key->alg();
    EXPECT_EQ(result->expires_at, (kNowSeconds + 3600) * 1000) << key->alg();
  }
}

TEST_F(JwtVerify, ATokenShapedLikeBetterAuthsJwtPluginIsAccepted) {
  // Better Auth's JWT plugin: EdDSA, the kid in the header, a JWKS whose keys carry "alg",
  // iss and aud both the app's base URL, the user's fields beside sub, and the active
  // organization added to the payload by the app.
  JwtSigner better_auth = JwtSigner::ed25519("Rk9xWm5hY0tFbGpXbXZ1UQ");
  jwks_ = {better_auth.jwk("EdDSA")};
  options_.issuer = "https://app.example.com";
  options_.audience = "https://app.example.com";
  options_.business_claim = "activeOrganizationId";
  object header{{"alg", "EdDSA"}, {"kid", better_auth.kid()}};
  object payload{{"iat", kNowSeconds - 5},
                 {"iss", "https://app.example.com"},
                 {"aud", "https://app.example.com"},
                 {"exp", kNowSeconds + 900},
                 {"sub", "usr_Q2m8TzK1vX"},
                 {"name", "Ada"},
                 {"email", "ada@example.com"},
                 {"emailVerified", true},
                 {"image", nullptr},
                 {"createdAt", "2026-11-01T08:00:00.000Z"},
                 {"activeOrganizationId", "org_8fJk2LmQ"}};
  auto result = verify(better_auth.sign(header, payload));
  ASSERT_TRUE(accepted(result));
  EXPECT_EQ(result->business_id, "org_8fJk2LmQ");
  EXPECT_EQ(result->user_id, "usr_Q2m8TzK1vX");
  EXPECT_EQ(result->expires_at, (kNowSeconds + 900) * 1000);
}

TEST_F(JwtVerify, AnUnsignedTokenIsRefusedInAnySpellingOfNone) {
  for (std::string none : {"none", "None", "NONE"}) {
    std::string token = encode_base64url(R"({"alg":")" + none + R"("})") + "." +
                        encode_base64url(boost::json::serialize(claims())) + ".";
    EXPECT_TRUE(refused(verify(token), "alg 'none' is refused")) << none;
  }
}

TEST_F(JwtVerify, AnUnsupportedAlgorithmIsRefused) {
  for (std::string alg : {"HS512", "RS512", "PS256", "ES384", "Ed25519"}) {
    object header{{"alg", alg}, {"kid", rsa_key().kid()}};
    EXPECT_TRUE(refused(verify(rsa_key().sign(header, claims())), "unsupported alg '" + alg + "'"))
        << alg;
  }
  EXPECT_TRUE(refused(verify(ed_key().sign(object{{"kid", "ed-1"}}, claims())), "no \"alg\""));
}

TEST_F(JwtVerify, AnHs256TokenNamingAnRsaKeyIsRefusedNotCheckedWithThePublicKeyAsSecret) {
  // The classic attack: sign with HMAC, using the server's RSA public key as the secret.
  for (const JwtSigner* key : {&rsa_key(), &ed_key(), &ec_key()}) {
    JwtSigner forger = JwtSigner::hs256(key->public_pem(), key->kid());
    EXPECT_TRUE(refused(verify(forger.sign(claims())),
                        "alg HS256 does not match the key '" + key->kid() + "'"));
    EXPECT_TRUE(refused(verify(forger.sign(claims())), "verified only with the configured secret"));
  }
}

TEST_F(JwtVerify, AnHs256TokenIsNeverCheckedWithASecretFromTheJwks) {
  std::string published = "a-symmetric-key-someone-put-in-the-jwks";
  jwks_.push_back(object{{"kty", "oct"}, {"kid", "shared"}, {"k", encode_base64url(published)}});
  JwtSigner holder = JwtSigner::hs256(published, "shared");
  EXPECT_TRUE(refused(verify(holder.sign(claims())), "verified only with the configured secret"));
  EXPECT_TRUE(accepted(verify(hs_key().sign(claims())))) << "the configured secret still works";
}

TEST_F(JwtVerify, AnHs256TokenIsRefusedWhenNoSecretIsConfigured) {
  secret_.clear();
  EXPECT_TRUE(refused(verify(hs_key().sign(claims())), "no HS256 secret is configured"));
}

TEST_F(JwtVerify, AnHs256TokenSignedWithAnotherSecretIsRefused) {
  JwtSigner other = JwtSigner::hs256("another-secret-that-is-also-32-bytes-long");
  EXPECT_TRUE(refused(verify(other.sign(claims())), "signature does not verify"));
}

TEST_F(JwtVerify, AnAlgorithmTheNamedKeyDoesNotVerifyIsRefused) {
  struct Case {
    const JwtSigner* signer;
    std::string alg;
    const JwtSigner* named;
  };
  for (const Case& c :
       {Case{&ed_key(), "EdDSA", &rsa_key()}, Case{&ec_key(), "ES256", &ed_key()},
        Case{&rsa_key(), "RS256", &ec_key()}, Case{&ed_key(), "EdDSA", &ec_key()}}) {
    object header{{"alg", c.alg}, {"kid", c.named->kid()}};
    EXPECT_TRUE(refused(verify(c.signer->sign(header, claims())),
                        "alg " + c.alg + " does not match the key '" + c.named->kid() + "'"))
        << c.alg << " naming " << c.named->kid();
  }
}

TEST_F(JwtVerify, AKeyWhoseOwnAlgDiffersRefusesTokens) {
  jwks_ = {rsa_key().jwk("PS256"), ed_key().jwk("EdDSA")};
  EXPECT_TRUE(refused(verify(rsa_key().sign(claims())), "whose own alg is 'PS256'"));
  EXPECT_TRUE(accepted(verify(ed_key().sign(claims())))) << "a matching own alg is fine";
}

TEST_F(JwtVerify, ATamperedPayloadOrSignatureDoesNotVerify) {
  for (const JwtSigner* key : {&ed_key(), &ec_key(), &rsa_key(), &hs_key()}) {
    std::string token = key->sign(claims());
    std::string forged = key->sign(with(claims(), "businessId", "someone-else"));
    std::size_t dot1 = token.find('.');
    std::size_t dot2 = token.rfind('.');
    std::string spliced =
        token.substr(0, dot1) + forged.substr(dot1, forged.rfind('.') - dot1) + token.substr(dot2);
    EXPECT_TRUE(refused(verify(spliced), "signature does not verify")) << key->alg();
    std::string signature = key->signature(token.substr(0, dot2));
    signature[5] ^= 0x01;
    EXPECT_TRUE(refused(verify(with_signature(token, signature)), "signature does not verify"))
        << key->alg();
  }
}

TEST_F(JwtVerify, ATokenSignedByAnotherKeyWithTheSameKidDoesNotVerify) {
  JwtSigner impostor = JwtSigner::ed25519(ed_key().kid());
  EXPECT_TRUE(refused(verify(impostor.sign(claims())), "signature does not verify"));
}

TEST_F(JwtVerify, AnEs256SignatureMustBeTheRaw64ByteForm) {
  std::string token = ec_key().sign(claims());
  std::string raw = ec_key().signature(token.substr(0, token.rfind('.')));
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_TRUE(accepted(verify(with_signature(token, raw))));
  EXPECT_TRUE(refused(verify(with_signature(token, raw + std::string(1, '\0'))),
                      "signature does not verify"));
  EXPECT_TRUE(
      refused(verify(with_signature(token, raw.substr(0, 63))), "signature does not verify"));
  // DER is what OpenSSL produces natively (30 len 02 len r 02 len s); JOSE never sends it.
  std::string der = std::string("\x30\x44\x02\x20", 4) + raw.substr(0, 32) +
                    std::string("\x02\x20", 2) + raw.substr(32);
  EXPECT_TRUE(refused(verify(with_signature(token, der)), "signature does not verify"));
}

TEST_F(JwtVerify, ExpIsRequiredAndMustBeANumber) {
  EXPECT_TRUE(refused(verify(ed_key().sign(without(claims(), "exp"))), "has no exp"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign(with(claims(), "exp", "1800003600"))), "exp is not a date"));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "exp", 1e300))), "exp is not a date"));
}

TEST_F(JwtVerify, AnExpiredTokenIsAcceptedWithinTheLeewayAndRefusedBeyondIt) {
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "exp", kNowSeconds - 59)))));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "exp", kNowSeconds - 60))),
                      "the token expired at"));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "exp", kNowSeconds - 61))),
                      "the token expired at"));
  clock_.advance(10'000);
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "exp", kNowSeconds - 51))), "expired"))
      << "the clock is the injected one";
}

TEST_F(JwtVerify, WithoutLeewayATokenExpiresAtItsExp) {
  options_.leeway = std::chrono::seconds(0);
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "exp", kNowSeconds + 1)))));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "exp", kNowSeconds))), "expired"));
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "exp", kNowSeconds + 0.5)))))
      << "a NumericDate may have a fraction";
}

TEST_F(JwtVerify, ATokenNotYetValidIsAcceptedWithinTheLeewayAndRefusedBeyondIt) {
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "nbf", kNowSeconds + 60)))));
  EXPECT_TRUE(
      refused(verify(ed_key().sign(with(claims(), "nbf", kNowSeconds + 61))), "not valid before"));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "nbf", "soon"))), "nbf is not a date"));
}

TEST_F(JwtVerify, TheIssuerMustBeTheConfiguredOne) {
  options_.issuer = "https://auth.example.com";
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "iss", "https://auth.example.com")))));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "iss", "https://evil.example.com"))),
                      "is not the expected issuer"));
  EXPECT_TRUE(refused(verify(ed_key().sign(claims())), "has no iss"));
}

TEST_F(JwtVerify, TheAudienceMayBeAStringOrAnArrayHoldingTheConfiguredOne) {
  options_.audience = "avsync";
  EXPECT_TRUE(accepted(verify(ed_key().sign(with(claims(), "aud", "avsync")))));
  EXPECT_TRUE(accepted(
      verify(ed_key().sign(with(claims(), "aud", boost::json::array{"billing", "avsync"})))));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "aud", "billing"))),
                      "aud does not include 'avsync'"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign(with(claims(), "aud", boost::json::array{"billing", 7}))),
              "aud does not include"));
  EXPECT_TRUE(refused(verify(ed_key().sign(claims())), "has no aud"));
}

TEST_F(JwtVerify, AnUnknownKidIsRefusedAfterARefresh) {
  object header{{"alg", "EdDSA"}, {"kid", "not-a-key"}};
  EXPECT_TRUE(refused(verify(ed_key().sign(header, claims())), "unknown kid 'not-a-key'"));
  EXPECT_TRUE(refused(verify(ed_key().sign(header, claims())), "after a refresh"));
  EXPECT_GE(source_->refreshes(), 1u) << "the file was read again before the refusal";
  EXPECT_TRUE(refused(verify(ed_key().sign(object{{"alg", "EdDSA"}, {"kid", 7}}, claims())),
                      "\"kid\" is not a string"));
}

TEST_F(JwtVerify, AKidNamingASkippedKeyIsRefusedWithTheReason) {
  JwtSigner weak = JwtSigner::rs256("weak-1", 1024);
  jwks_ = {ed_key().jwk(), weak.jwk()};
  EXPECT_TRUE(
      refused(verify(weak.sign(claims())), "an RSA key of 1024 bits (at least 2048 are required)"));
}

TEST_F(JwtVerify, WithoutAKidTheOnlyKeyOfTheAlgorithmsTypeIsUsed) {
  JwtSigner ed_no_kid = JwtSigner::ed25519("");
  JwtSigner rsa_no_kid = JwtSigner::rs256("");
  jwks_ = {ed_no_kid.jwk(), rsa_no_kid.jwk()};
  EXPECT_TRUE(accepted(verify(ed_no_kid.sign(claims()))));
  EXPECT_TRUE(accepted(verify(rsa_no_kid.sign(claims()))));
  EXPECT_TRUE(refused(verify(ec_key().sign(object{{"alg", "ES256"}}, claims())),
                      "the token has no kid and the key set has no key for ES256"));
}

TEST_F(JwtVerify, WithoutAKidSeveralKeysOfTheTypeAreRefused) {
  JwtSigner second = JwtSigner::ed25519("ed-2");
  jwks_ = {ed_key().jwk(), second.jwk()};
  EXPECT_TRUE(refused(verify(ed_key().sign(object{{"alg", "EdDSA"}}, claims())),
                      "token has no kid and the key set has several keys"));
}

TEST_F(JwtVerify, TheBusinessClaimMustBeOneTo128PrintableAsciiCharacters) {
  EXPECT_TRUE(
      refused(verify(ed_key().sign(without(claims(), "businessId"))), "has no businessId claim"));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "businessId", 42))),
                      "businessId claim is not a string"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign(with(claims(), "businessId", nullptr))), "is not a string"));
  for (std::string bad : {std::string(), std::string(129, 'b'), std::string("biz\n1"),
                          std::string("biz\x7f"), std::string("caf\xc3\xa9")}) {
    EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "businessId", text(bad)))),
                        "1 to 128 printable ASCII"))
        << bad;
  }
  for (std::string good : {std::string(128, 'b'), std::string("a"), std::string(" ~ org 1 ~ ")}) {
    auto result = verify(ed_key().sign(with(claims(), "businessId", text(good))));
    ASSERT_TRUE(accepted(result)) << good;
    EXPECT_EQ(result->business_id, good);
  }
}

TEST_F(JwtVerify, TheBusinessAndUserClaimsAreReadFromTheConfiguredNames) {
  options_.business_claim = "org";
  options_.user_claim = "uid";
  auto result = verify(ed_key().sign(with(with(claims(), "org", "org-9"), "uid", "u-9")));
  ASSERT_TRUE(accepted(result));
  EXPECT_EQ(result->business_id, "org-9");
  EXPECT_EQ(result->user_id, "u-9");
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "org", "org-9"))), "has no uid claim"));
}

TEST_F(JwtVerify, TheUserClaimMustBeANonEmptyString) {
  EXPECT_TRUE(refused(verify(ed_key().sign(without(claims(), "sub"))), "has no sub claim"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign(with(claims(), "sub", 12))), "sub claim is not a string"));
  EXPECT_TRUE(refused(verify(ed_key().sign(with(claims(), "sub", ""))), "sub claim is empty"));
}

TEST_F(JwtVerify, ATokenWithoutThreePartsIsRefused) {
  std::string token = ed_key().sign(claims());
  EXPECT_TRUE(refused(verify(token.substr(0, token.rfind('.'))), "three parts"));
  EXPECT_TRUE(refused(verify(token + ".e30"), "three parts"));
  EXPECT_TRUE(refused(verify(""), "three parts"));
}

TEST_F(JwtVerify, APartThatIsNotBase64UrlIsRefused) {
  std::string token = ed_key().sign(claims());
  std::size_t dot1 = token.find('.');
  EXPECT_TRUE(refused(verify("e30=" + token.substr(dot1)), "header is not base64url"));
  EXPECT_TRUE(refused(verify(token + "!"), "signature is not base64url"));
  EXPECT_TRUE(refused(verify(token + "="), "signature is not base64url"))
      << "padding is not JOSE's form";
  // A payload that is not base64url, under a valid signature, so only the decoding refuses it.
  std::string input = token.substr(0, dot1) + ".eyJzdWIiOiJ1In0+";
  EXPECT_TRUE(refused(verify(input + "." + encode_base64url(ed_key().signature(input))),
                      "payload is not base64url"));
}

TEST_F(JwtVerify, AHeaderOrPayloadThatIsNotAJsonObjectIsRefused) {
  std::string header = boost::json::serialize(ed_key().header());
  std::string payload = boost::json::serialize(claims());
  EXPECT_TRUE(refused(verify(ed_key().sign_raw("{\"alg\":", payload)), "header is not valid JSON"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign_raw("[\"EdDSA\"]", payload)), "header is not a JSON object"));
  EXPECT_TRUE(refused(verify(ed_key().sign_raw(header, "{\"sub\":")), "payload is not valid JSON"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign_raw(header, "\"user-1\"")), "payload is not a JSON object"));
  EXPECT_TRUE(
      refused(verify(ed_key().sign_raw(header, payload + "x")), "payload is not valid JSON"));
}

TEST_F(JwtVerify, ARepeatedMemberIsRefused) {
  std::string header = boost::json::serialize(ed_key().header());
  std::string payload = R"({"sub":"user-1","businessId":"biz-1","businessId":"biz-2","exp":)" +
                        std::to_string(kNowSeconds + 60) + "}";
  EXPECT_TRUE(refused(verify(ed_key().sign_raw(header, payload)),
                      "payload has the member 'businessId' twice"));
  EXPECT_TRUE(refused(verify(ed_key().sign_raw(R"({"alg":"EdDSA","kid":"ed-1","kid":"ec-1"})",
                                               boost::json::serialize(claims()))),
                      "header has the member 'kid' twice"));
}

TEST_F(JwtVerify, ACritHeaderIsRefused) {
  object header = ed_key().header();
  header["crit"] = boost::json::array{"b64"};
  header["b64"] = false;
  EXPECT_TRUE(refused(verify(ed_key().sign(header, claims())), "\"crit\""));
}

TEST_F(JwtVerify, ATokenOver8KiBIsRefusedBeforeItIsDecoded) {
  std::string near = ed_key().sign(with(claims(), "pad", text(std::string(5800, 'p'))));
  ASSERT_LE(near.size(), kMaxJwtBytes);
  ASSERT_GT(near.size(), 7900u);
  EXPECT_TRUE(accepted(verify(near)));
  std::string over = ed_key().sign(with(claims(), "pad", text(std::string(6200, 'p'))));
  ASSERT_GT(over.size(), kMaxJwtBytes);
  EXPECT_TRUE(refused(verify(over), "longer than 8192 bytes"));
}

}  // namespace
}  // namespace avsync::server

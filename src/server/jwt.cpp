#include "server/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/base64url.hpp"
#include "core/json.hpp"
#include "core/timestamp.hpp"
#include "server/auth.hpp"

namespace avsync::server {
namespace {

enum class Alg { eddsa, es256, rs256, hs256 };

std::optional<Alg> alg_from_name(std::string_view name) {
  if (name == "EdDSA") return Alg::eddsa;
  if (name == "ES256") return Alg::es256;
  if (name == "RS256") return Alg::rs256;
  if (name == "HS256") return Alg::hs256;
  return std::nullopt;
}

Error unauthenticated(std::string message) {
  return Error{ErrorCode::unauthenticated, std::move(message)};
}

// A value from the token, fit for a message and a log line: at most 64 characters,
// anything but printable ASCII shown as '?'.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 64)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  if (text.size() > 64) out += "...";
  return out + "'";
}

// A base64url part decoded and parsed as a JSON object whose member names are unique (a
// repeated "sub" would mean whatever the last parser to read it decides).
Result<JsonValue> decode_object(std::string_view part, const char* name) {
  auto bytes = decode_base64url(part);
  if (!bytes) return unauthenticated(std::string("the JWT ") + name + " is not base64url");
  JsonLimits limits;
  limits.max_depth = 16;
  limits.max_values = 2048;
  auto json = parse_json(*bytes, limits);
  if (!json)
    return unauthenticated(std::string("the JWT ") + name +
                           " is not valid JSON: " + json.error().message);
  if (!json->is_object())
    return unauthenticated(std::string("the JWT ") + name + " is not a JSON object");
  std::vector<std::string_view> names;
  for (const auto& member : json->members) names.push_back(member.first);
  std::sort(names.begin(), names.end());
  auto repeated = std::adjacent_find(names.begin(), names.end());
  if (repeated != names.end())
    return unauthenticated(std::string("the JWT ") + name + " has the member " + quoted(*repeated) +
                           " twice");
  return json;
}

// A NumericDate (RFC 7519 §2) as milliseconds, or nullopt when it is not a number between
// 1970 and 9999.
std::optional<UnixMillis> numeric_date(const JsonValue& value) {
  if (value.kind != JsonValue::Kind::number) return std::nullopt;
  double seconds = 0;
  const char* end = value.text.data() + value.text.size();
  auto [ptr, ec] = std::from_chars(value.text.data(), end, seconds);
  if (ec != std::errc() || ptr != end || !std::isfinite(seconds)) return std::nullopt;
  if (seconds < 0 || seconds > 253402300799.0) return std::nullopt;
  return static_cast<UnixMillis>(std::floor(seconds * 1000));
}

bool hs256_matches(std::string_view secret, std::string_view signing_input,
                   std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                 reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                 mac, sizeof mac, &length)) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
}

// The keys may hold the token's key in a moment: a retry, not a refusal.
Error keys_pending() {
  return Error{ErrorCode::unavailable, "the JWT keys are being fetched from the JWKS URL; retry in a moment"};
}

}  // namespace

bool looks_like_jwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

Result<JwtClaims> JwtVerifier::verify(std::string_view token) const {
  if (token.size() > kMaxJwtBytes)
    return unauthenticated("the JWT is longer than " + std::to_string(kMaxJwtBytes) + " bytes");
  if (!looks_like_jwt(token)) return unauthenticated("a JWT has three parts separated by two dots");
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = token.find('.', dot1 + 1);
  std::string_view signing_input = token.substr(0, dot2);

  // The header: which algorithm, which key.
  auto header = decode_object(token.substr(0, dot1), "header");
  if (!header) return std::move(header).error();
  const JsonValue* alg_member = header->find("alg");
  if (!alg_member || !alg_member->is_string())
    return unauthenticated("the JWT header has no \"alg\" string");
  std::string alg_name = alg_member->text;
  std::string lower = alg_name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "none") return unauthenticated("alg 'none' is refused: the token is not signed");
  std::optional<Alg> alg = alg_from_name(alg_name);
  if (!alg)
    return unauthenticated("unsupported alg " + quoted(alg_name) +
                           " (accepted: EdDSA, ES256, RS256, HS256)");
  if (header->find("crit"))
    return unauthenticated("the JWT header has \"crit\": no JWS extension is supported");
  const JsonValue* kid_member = header->find("kid");
  if (kid_member && !kid_member->is_string())
    return unauthenticated("the JWT header's \"kid\" is not a string");
  std::optional<std::string> kid;
  if (kid_member) kid = kid_member->text;

  auto signature = decode_base64url(token.substr(dot2 + 1));
  if (!signature) return unauthenticated("the JWT signature is not base64url");

  std::shared_ptr<const JwtKeys> keys = keys_.keys();
  if (*alg == Alg::hs256) {
    // HS256 never uses JWKS material: an RSA public key is public, so taking it as an HMAC
    // secret would let anyone sign.
    if (kid && (keys->find(*kid) || keys->find_skipped(*kid))) {
      const Jwk* named = keys->find(*kid);
      return unauthenticated(
          "alg HS256 does not match the key " + quoted(*kid) +
          (named ? " (" + std::string(named->description()) + ")" : std::string()) +
          ": HS256 is verified only with the configured secret");
    }
    const std::string* secret = keys_.hs256_secret();
    if (!secret)
      return unauthenticated("HS256 tokens are not accepted: no HS256 secret is configured");
    if (!hs256_matches(*secret, signing_input, *signature))
      return unauthenticated("the JWT signature does not verify");
  } else {
    std::string_view wanted = alg_name;
    const Jwk* key = nullptr;
    if (kid) {
      key = keys->find(*kid);
      if (!key && !keys->find_skipped(*kid)) {
        auto refreshed = keys_.refresh_for_unknown_kid();
        keys = refreshed.keys;
        key = keys->find(*kid);
        if (!key && !refreshed.settled) return keys_pending();
      }
      if (!key) {
        if (const SkippedJwk* skipped = keys->find_skipped(*kid))
          return unauthenticated("the kid " + quoted(*kid) +
                                 " names a key this server does not use: " + skipped->reason);
        return unauthenticated("unknown kid " + quoted(*kid) +
                               ": not in the key set, even after a refresh");
      }
    } else {
      std::size_t matching = 0;
      for (const Jwk& k : keys->keys())
        if (k.algorithm() == wanted) {
          key = &k;
          ++matching;
        }
      if (matching > 1)
        return unauthenticated("the token has no kid and the key set has several keys for " +
                               alg_name);
      if (matching == 0) {
        // The key may be on its way: a token without a kid asks for a refresh too.
        auto refreshed = keys_.refresh_for_unknown_kid();
        keys = refreshed.keys;
        for (const Jwk& k : keys->keys())
          if (k.algorithm() == wanted) {
            key = &k;
            ++matching;
          }
        if (matching == 0 && !refreshed.settled) return keys_pending();
        if (matching != 1)
          return unauthenticated("the token has no kid and the key set has " +
                                 std::string(matching ? "several keys" : "no key") + " for " + alg_name);
      }
    }
    if (key->algorithm() != wanted)
      return unauthenticated("alg " + alg_name + " does not match the key " + quoted(key->kid()) +
                             " (" + std::string(key->description()) + ", for " +
                             std::string(key->algorithm()) + ")");
    if (key->declared_alg() && *key->declared_alg() != wanted)
      return unauthenticated("alg " + alg_name + " does not match the key " + quoted(key->kid()) +
                             ", whose own alg is " + quoted(*key->declared_alg()));
    if (!key->verify(signing_input, *signature))
      return unauthenticated("the JWT signature does not verify");
  }

  // The claims, read only once the signature holds.
  auto payload = decode_object(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!payload) return std::move(payload).error();
  const UnixMillis now = clock_.now();
  const UnixMillis leeway =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.leeway).count();

  const JsonValue* exp_member = payload->find("exp");
  if (!exp_member) return unauthenticated("the token has no exp");
  std::optional<UnixMillis> exp = numeric_date(*exp_member);
  if (!exp) return unauthenticated("the token's exp is not a date in seconds since 1970");
  if (now >= *exp + leeway)
    return unauthenticated("the token expired at " + format_timestamp(*exp));
  if (const JsonValue* nbf_member = payload->find("nbf")) {
    std::optional<UnixMillis> nbf = numeric_date(*nbf_member);
    if (!nbf) return unauthenticated("the token's nbf is not a date in seconds since 1970");
    if (*nbf > now + leeway)
      return unauthenticated("the token is not valid before " + format_timestamp(*nbf));
  }

  if (options_.issuer) {
    const JsonValue* iss = payload->find("iss");
    if (!iss || !iss->is_string())
      return unauthenticated("the token has no iss string (expected " + quoted(*options_.issuer) +
                             ")");
    if (iss->text != *options_.issuer)
      return unauthenticated("the token's iss " + quoted(iss->text) +
                             " is not the expected issuer " + quoted(*options_.issuer));
  }
  if (options_.audience) {
    const JsonValue* aud = payload->find("aud");
    if (!aud)
      return unauthenticated("the token has no aud (expected " + quoted(*options_.audience) + ")");
    auto is_ours = [&](const JsonValue& v) {
      return v.is_string() && v.text == *options_.audience;
    };
    bool ours = aud->is_array() ? std::any_of(aud->items.begin(), aud->items.end(), is_ours)
                                : is_ours(*aud);
    if (!ours)
      return unauthenticated("the token's aud does not include " + quoted(*options_.audience));
  }

  const std::string& business_claim = options_.business_claim;
  const JsonValue* business = payload->find(business_claim);
  if (!business) return unauthenticated("the token has no " + business_claim + " claim");
  if (!business->is_string())
    return unauthenticated("the token's " + business_claim + " claim is not a string");
  if (!is_business_id(business->text))
    return unauthenticated("the token's " + business_claim +
                           " claim must be 1 to 128 printable ASCII characters");

  const std::string& user_claim = options_.user_claim;
  const JsonValue* user = payload->find(user_claim);
  if (!user) return unauthenticated("the token has no " + user_claim + " claim");
  if (!user->is_string())
    return unauthenticated("the token's " + user_claim + " claim is not a string");
  if (user->text.empty()) return unauthenticated("the token's " + user_claim + " claim is empty");

  return JwtClaims{business->text, user->text, *exp};
}

}  // namespace avsync::server

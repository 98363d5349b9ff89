#include "server/jwks.hpp"

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include "core/base64url.hpp"
#include "core/openssl_ptr.hpp"
#include "core/json.hpp"

namespace avsync::server {
namespace {

using ssl::BnPtr;
using ssl::EcdsaSigPtr;
using ssl::MdCtxPtr;
using ssl::ParamBldPtr;
using ssl::ParamPtr;
using ssl::PkeyCtxPtr;
using ssl::PkeyPtr;

}  // namespace

struct Jwk::PublicKey {
  explicit PublicKey(PkeyPtr k) : key(std::move(k)) {}
  PkeyPtr key;
};

namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Error bad(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

// JOSE's ES256 signature is r||s, 32 bytes each (RFC 7518 §3.4); OpenSSL wants DER.
std::optional<std::string> es256_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  BnPtr r(BN_bin2bn(bytes(raw), 32, nullptr));
  BnPtr s(BN_bin2bn(bytes(raw) + 32, 32, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) throw std::runtime_error("OpenSSL could not allocate an ECDSA signature");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
    throw std::runtime_error("OpenSSL ECDSA_SIG_set0 failed");
  r.release();  // owned by sig now
  s.release();
  int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return std::nullopt;
  return der;
}

// Runs OpenSSL's public-key validation (on the curve, not the identity; RSA modulus and
// exponent odd and in range).
bool passes_public_check(EVP_PKEY* key) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  bool ok = ctx && EVP_PKEY_public_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

PkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* build) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(build));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return PkeyPtr(key);
}

// A supported key, or a key skipped with a reason (an error for the whole set travels as
// the Result's Error).
struct ParsedJwk {
  std::shared_ptr<const Jwk::PublicKey> key;
  JwkType type = JwkType::rsa;
  std::string skipped;
};

ParsedJwk usable(JwkType type, PkeyPtr key) {
  return ParsedJwk{std::make_shared<const Jwk::PublicKey>(std::move(key)), type, {}};
}
ParsedJwk skip(std::string reason) { return ParsedJwk{nullptr, JwkType::rsa, std::move(reason)}; }

const JsonValue* string_member(const JsonValue& jwk, std::string_view name, std::string& problem) {
  const JsonValue* v = jwk.find(name);
  if (v && !v->is_string()) problem = std::string(name) + " is not a string";
  return v;
}

// The base64url member `name` decoded, or an error naming the key.
Result<std::string> decoded_member(const JsonValue& jwk, std::string_view name,
                                   std::string_view label) {
  const JsonValue* v = jwk.find(name);
  if (!v || !v->is_string())
    return bad(std::string(label) + " has no \"" + std::string(name) + "\" string");
  auto decoded = decode_base64url(v->text);
  if (!decoded) return bad(std::string(label) + ": \"" + std::string(name) + "\" is not base64url");
  return std::move(*decoded);
}

Result<ParsedJwk> parse_okp(const JsonValue& jwk, std::string_view crv, const std::string& label) {
  if (crv != "Ed25519")
    return skip("an OKP key on curve '" + std::string(crv) + "' (only Ed25519 is supported)");
  auto x = decoded_member(jwk, "x", label);
  if (!x) return std::move(x).error();
  if (x->size() != 32)
    return bad(label + ": an Ed25519 \"x\" must be 32 bytes, not " + std::to_string(x->size()));
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(*x), x->size()));
  ERR_clear_error();
  if (!key) return bad(label + ": OpenSSL refused the Ed25519 key");
  return usable(JwkType::ed25519, std::move(key));
}

Result<ParsedJwk> parse_ec(const JsonValue& jwk, std::string_view crv, const std::string& label) {
  if (crv != "P-256")
    return skip("an EC key on curve '" + std::string(crv) + "' (only P-256 is supported)");
  auto x = decoded_member(jwk, "x", label);
  if (!x) return std::move(x).error();
  auto y = decoded_member(jwk, "y", label);
  if (!y) return std::move(y).error();
  if (x->size() != 32 || y->size() != 32)
    return bad(label + ": a P-256 key's \"x\" and \"y\" must be 32 bytes each");
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  ParamBldPtr build(OSSL_PARAM_BLD_new());
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1)
    throw std::runtime_error("OpenSSL could not build EC key parameters");
  PkeyPtr key = key_from_params("EC", build.get());
  if (!key || !passes_public_check(key.get()))
    return bad(label + ": the point is not on the P-256 curve");
  return usable(JwkType::p256, std::move(key));
}

Result<ParsedJwk> parse_rsa(const JsonValue& jwk, const std::string& label) {
  auto n = decoded_member(jwk, "n", label);
  if (!n) return std::move(n).error();
  auto e = decoded_member(jwk, "e", label);
  if (!e) return std::move(e).error();
  BnPtr modulus(BN_bin2bn(bytes(*n), static_cast<int>(n->size()), nullptr));
  BnPtr exponent(BN_bin2bn(bytes(*e), static_cast<int>(e->size()), nullptr));
  if (!modulus || !exponent) throw std::runtime_error("OpenSSL could not allocate a BIGNUM");
  int bits = BN_num_bits(modulus.get());
  if (bits < 2048)
    return skip("an RSA key of " + std::to_string(bits) + " bits (at least 2048 are required)");
  if (bits > 16384)
    return skip("an RSA key of " + std::to_string(bits) + " bits (at most 16384 are accepted)");
  ParamBldPtr build(OSSL_PARAM_BLD_new());
  if (!build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1)
    throw std::runtime_error("OpenSSL could not build RSA key parameters");
  PkeyPtr key = key_from_params("RSA", build.get());
  if (!key || !passes_public_check(key.get())) return bad(label + ": not a valid RSA public key");
  return usable(JwkType::rsa, std::move(key));
}

Result<ParsedJwk> parse_jwk(const JsonValue& jwk, std::size_t index) {
  std::string label = "JWKS key " + std::to_string(index);
  if (!jwk.is_object()) return bad(label + " is not a JSON object");
  std::string problem;
  const JsonValue* kid = string_member(jwk, "kid", problem);
  if (kid && kid->is_string()) label += " ('" + kid->text + "')";
  const JsonValue* kty = string_member(jwk, "kty", problem);
  const JsonValue* crv = string_member(jwk, "crv", problem);
  string_member(jwk, "alg", problem);
  const JsonValue* use = string_member(jwk, "use", problem);
  if (!problem.empty()) return bad(label + ": " + problem);
  if (!kty) return bad(label + " has no \"kty\"");

  if (use && use->text != "sig") return skip("a key for use '" + use->text + "', not 'sig'");
  if (const JsonValue* ops = jwk.find("key_ops")) {
    bool verify = ops->is_array() &&
                  std::any_of(ops->items.begin(), ops->items.end(), [](const JsonValue& op) {
                    return op.is_string() && op.text == "verify";
                  });
    if (!verify) return skip("a key whose key_ops do not include 'verify'");
  }
  if (kty->text == "oct")
    return skip("a symmetric (oct) key: HS256 is verified only with the configured secret");

  if (kty->text == "RSA") return parse_rsa(jwk, label);
  if (kty->text != "OKP" && kty->text != "EC")
    return skip("a key of kty '" + kty->text + "' (supported: OKP, EC, RSA)");
  if (!crv) return bad(label + " has no \"crv\"");
  return kty->text == "OKP" ? parse_okp(jwk, crv->text, label) : parse_ec(jwk, crv->text, label);
}

void log(const std::string& line) { std::cerr << ("avsync-server: " + line + "\n") << std::flush; }

Result<std::shared_ptr<const JwtKeys>> read_jwks_file(const std::string& path,
                                                      std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot read the JWKS file " + path);
  std::string text;
  text.resize(max_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return bad("cannot read the JWKS file " + path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes)
    return bad("the JWKS file " + path + " is larger than " + std::to_string(max_bytes) + " bytes");
  auto keys = parse_jwks(text);
  if (!keys) return bad("the JWKS file " + path + ": " + keys.error().message);
  return keys;
}

Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot read the HS256 secret file " + path);
  std::string secret{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return bad("cannot read the HS256 secret file " + path);
  if (secret.ends_with('\n')) secret.pop_back();
  if (secret.ends_with('\r')) secret.pop_back();
  if (secret.size() < 32)
    return bad("the HS256 secret in " + path + " is " + std::to_string(secret.size()) +
               " bytes; at least 32 are required");
  return secret;
}

}  // namespace

Jwk::Jwk(std::string kid, JwkType type, std::optional<std::string> declared_alg,
         std::shared_ptr<const PublicKey> key)
    : kid_(std::move(kid)),
      type_(type),
      declared_alg_(std::move(declared_alg)),
      key_(std::move(key)) {}

std::string_view Jwk::algorithm() const {
  switch (type_) {
    case JwkType::ed25519:
      return "EdDSA";
    case JwkType::p256:
      return "ES256";
    case JwkType::rsa:
      return "RS256";
  }
  return "";
}

std::string_view Jwk::description() const {
  switch (type_) {
    case JwkType::ed25519:
      return "an Ed25519 key";
    case JwkType::p256:
      return "a P-256 key";
    case JwkType::rsa:
      return "an RSA key";
  }
  return "";
}

bool Jwk::verify(std::string_view signing_input, std::string_view signature) const {
  std::optional<std::string> der;
  const EVP_MD* digest = EVP_sha256();
  if (type_ == JwkType::ed25519) {
    digest = nullptr;  // EdDSA hashes internally (one-shot only)
  } else if (type_ == JwkType::p256) {
    der = es256_der(signature);
    if (!der) return false;
    signature = *der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::runtime_error("OpenSSL could not allocate a digest context");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = EVP_DigestVerifyInit(ctx.get(), &pctx, digest, nullptr, key_->key.get()) == 1 &&
            (type_ != JwkType::rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
            EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(signing_input),
                             signing_input.size()) == 1;
  ERR_clear_error();  // a bad signature leaves errors on this thread's queue
  return ok;
}

const Jwk* JwtKeys::find(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const Jwk& k : keys_)
    if (k.kid() == kid) return &k;
  return nullptr;
}

const SkippedJwk* JwtKeys::find_skipped(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const SkippedJwk& k : skipped_)
    if (k.kid == kid) return &k;
  return nullptr;
}

std::shared_ptr<const JwtKeys> JwtKeys::merge(const JwtKeys& first, const JwtKeys& second) {
  auto merged = std::make_shared<JwtKeys>(first);
  auto known = [&](const std::string& kid) {
    return !kid.empty() && (first.find(kid) || first.find_skipped(kid));
  };
  for (const Jwk& k : second.keys_)
    if (!known(k.kid())) merged->keys_.push_back(k);
  for (const SkippedJwk& k : second.skipped_)
    if (!known(k.kid)) merged->skipped_.push_back(k);
  return merged;
}

Result<std::shared_ptr<const JwtKeys>> parse_jwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes)
    return bad("the JWKS is larger than " + std::to_string(kMaxJwksBytes) + " bytes");
  JsonLimits limits;
  limits.max_depth = 16;
  limits.max_string_bytes = 64 * 1024;
  auto document = parse_json(json, limits);
  if (!document) return bad("the JWKS is not valid JSON: " + document.error().message);
  const JsonValue* list = document->is_object() ? document->find("keys") : nullptr;
  if (!list || !list->is_array())
    return bad("the JWKS must be a JSON object with a \"keys\" array");

  auto keys = std::make_shared<JwtKeys>();
  std::vector<std::string> kids;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    auto parsed = parse_jwk(list->items[i], i);
    if (!parsed) return std::move(parsed).error();
    const JsonValue* kid = list->items[i].find("kid");
    const JsonValue* alg = list->items[i].find("alg");
    std::string id = kid ? kid->text : std::string();
    if (!id.empty()) {
      if (std::find(kids.begin(), kids.end(), id) != kids.end())
        return bad("the JWKS has the kid '" + id + "' twice");
      kids.push_back(id);
    }
    if (parsed->key) {
      std::optional<std::string> declared =
          alg ? std::optional<std::string>(alg->text) : std::nullopt;
      keys->keys_.emplace_back(id, parsed->type, std::move(declared), std::move(parsed->key));
    } else {
      keys->skipped_.push_back(SkippedJwk{id, std::move(parsed->skipped)});
    }
  }
  if (keys->keys_.empty()) {
    std::string why;
    for (const SkippedJwk& k : keys->skipped_)
      why += (why.empty() ? " (skipped: " : "; ") + (k.kid.empty() ? "a key" : "'" + k.kid + "'") +
             " is " + k.reason;
    return bad("the JWKS has no usable key" + (why.empty() ? std::string() : why + ")"));
  }
  return std::shared_ptr<const JwtKeys>(std::move(keys));
}

// One JWKS fetch at a time, on the background thread; abort() (any thread) ends it at once.
struct KeySource::Fetcher {
  Fetcher() {
    static std::once_flag once;
    std::call_once(once, [] {
      if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        throw std::runtime_error("curl_global_init failed");
    });
    multi = curl_multi_init();
    if (!multi) throw std::runtime_error("curl_multi_init failed");
  }
  ~Fetcher() { curl_multi_cleanup(multi); }

  void abort() {
    aborted = true;
    curl_multi_wakeup(multi);
  }

  struct Body {
    std::string text;
    std::size_t limit;
    bool too_large = false;
  };
  static std::size_t write(char* data, std::size_t, std::size_t n, void* user) {
    auto* body = static_cast<Body*>(user);
    if (body->text.size() + n > body->limit) {
      body->too_large = true;
      return 0;  // makes libcurl abort the transfer
    }
    body->text.append(data, n);
    return n;
  }

  // The body of a 200 answer, or why there is none.
  Result<std::string> fetch(const std::string& url, std::chrono::milliseconds timeout,
                            std::size_t limit) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
    if (!easy) throw std::runtime_error("curl_easy_init failed");
    Body body{{}, limit};
    CURL* h = easy.get();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limit));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Fetcher::write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
        curl_slist_append(nullptr, "Accept: application/jwk-set+json, application/json"),
        &curl_slist_free_all);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    curl_multi_add_handle(multi, h);
    CURLcode code = CURLE_OK;
    bool done = false;
    while (!done && !aborted) {
      int running = 0;
      if (curl_multi_perform(multi, &running) != CURLM_OK) break;
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
          code = msg->data.result;
          done = true;
        }
      }
      if (!done && running == 0) break;
      if (!done) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    curl_multi_remove_handle(multi, h);
    if (aborted) return Error{ErrorCode::cancelled, "the key source is stopping"};
    if (!done) return Error{ErrorCode::network, "libcurl stopped without finishing the transfer"};
    if (body.too_large)
      return Error{ErrorCode::payload_too_large,
                   "the JWKS is larger than " + std::to_string(limit) + " bytes"};
    if (code != CURLE_OK) return Error{ErrorCode::network, curl_easy_strerror(code)};
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
      return Error{ErrorCode::server_error, "HTTP status " + std::to_string(status)};
    return std::move(body.text);
  }

  CURLM* multi = nullptr;
  std::atomic<bool> aborted{false};
};

KeySource::KeySource(KeySourceOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<KeySource>> KeySource::open(KeySourceOptions options) {
  if (!options.jwks_file && !options.jwks_url && !options.hs256_secret_file)
    return bad("JWT verification needs a JWKS file, a JWKS URL or an HS256 secret file");
  if (options.jwks_url && !options.jwks_url->starts_with("http://") &&
      !options.jwks_url->starts_with("https://"))
    return bad("the JWKS URL must start with http:// or https://, not '" + *options.jwks_url + "'");
  std::unique_ptr<KeySource> source(new KeySource(std::move(options)));
  const KeySourceOptions& o = source->options_;
  if (o.hs256_secret_file) {
    auto secret = read_secret_file(*o.hs256_secret_file);
    if (!secret) return std::move(secret).error();
    source->hs256_secret_ = std::move(*secret);
  }
  source->file_keys_ = std::make_shared<const JwtKeys>();
  source->url_keys_ = source->file_keys_;
  if (o.jwks_file) {
    auto keys = read_jwks_file(*o.jwks_file, o.max_jwks_bytes);
    if (!keys) return std::move(keys).error();
    source->file_keys_ = std::move(*keys);
  }
  source->keys_ = JwtKeys::merge(*source->file_keys_, *source->url_keys_);
  if (o.jwks_url) {
    source->fetcher_ = std::make_unique<Fetcher>();
    source->asked_ = 1;  // the first fetch, at once
  }
  if (o.jwks_file || o.jwks_url) source->thread_ = std::thread([s = source.get()] { s->run(); });
  return source;
}

KeySource::~KeySource() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  finished_.notify_all();
  if (fetcher_) fetcher_->abort();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const JwtKeys> KeySource::keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

std::uint64_t KeySource::refreshes() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

KeySource::Refreshed KeySource::refresh_for_unknown_kid() {
  std::unique_lock lock(mutex_);
  if (!options_.jwks_file && !options_.jwks_url) return {keys_, true};
  auto now = std::chrono::steady_clock::now();
  const bool granted = !last_granted_ || now - *last_granted_ >= options_.min_refresh_gap;
  if (!granted) return {keys_, asked_ == answered_ && (!fetcher_ || url_answered_)};
  last_granted_ = now;
  const std::uint64_t target = ++asked_;
  wake_.notify_one();
  finished_.wait_for(lock, options_.unknown_kid_wait, [&] { return stopping_ || answered_ >= target; });
  return {keys_, answered_ >= target && (!fetcher_ || url_answered_)};
}

void KeySource::run() {
  std::unique_lock lock(mutex_);
  auto next = std::chrono::steady_clock::now() + options_.refresh_interval;
  while (true) {
    wake_.wait_until(lock, next, [&] { return stopping_ || asked_ != answered_; });
    if (stopping_) return;
    std::uint64_t starting_at = asked_;
    lock.unlock();
    refresh_once();
    lock.lock();
    answered_ = starting_at;
    ++refreshes_;
    next = std::chrono::steady_clock::now() + options_.refresh_interval;
    finished_.notify_all();
  }
}

// Reads and fetches without the lock, so requests keep reading the previous keys.
void KeySource::refresh_once() {
  std::shared_ptr<const JwtKeys> file, url;
  if (options_.jwks_file) {
    auto keys = read_jwks_file(*options_.jwks_file, options_.max_jwks_bytes);
    if (keys) {
      file = std::move(*keys);
    } else {
      log(keys.error().message + "; keeping the keys read before");
    }
  }
  if (fetcher_) {
    auto body =
        fetcher_->fetch(*options_.jwks_url, options_.fetch_timeout, options_.max_jwks_bytes);
    auto keys =
        body ? parse_jwks(*body) : Result<std::shared_ptr<const JwtKeys>>(std::move(body).error());
    if (keys) {
      url = std::move(*keys);
    } else if (keys.error().code != ErrorCode::cancelled) {
      log("the JWKS URL " + *options_.jwks_url + ": " + keys.error().message +
          "; keeping the keys fetched before");
    }
  }
  std::lock_guard lock(mutex_);
  if (file) file_keys_ = std::move(file);
  if (url) {
    url_keys_ = std::move(url);
    url_answered_ = true;
  }
  keys_ = JwtKeys::merge(*file_keys_, *url_keys_);
}

}  // namespace avsync::server

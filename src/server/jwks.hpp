#pragma once
// The keys JWT bearer tokens are verified with (docs/protocol.md §2): a JSON Web Key Set
// (RFC 7517) read from a file and/or fetched from a URL, and an HS256 secret read from a
// file. KeySource keeps them fresh on a background thread; the verifier (jwt.hpp) only
// reads an immutable snapshot, so a request never waits on I/O for a key it knows.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace avsync::server {


// The key types a set may hold, each verifying exactly one JOSE algorithm.
enum class JwkType {
  ed25519,  // kty OKP, crv Ed25519: EdDSA
  p256,     // kty EC, crv P-256: ES256
  rsa,      // kty RSA, at least 2048 bits: RS256
};

// One public key of a set. Immutable; copies share the OpenSSL key; thread-safe.
class Jwk {
 public:
  struct PublicKey;  // the OpenSSL key (jwks.cpp)

  Jwk(std::string kid, JwkType type, std::optional<std::string> declared_alg,
      std::shared_ptr<const PublicKey> key);

  // Empty when the JWK has no "kid".
  const std::string& kid() const { return kid_; }
  JwkType type() const { return type_; }
  // The one algorithm this type of key verifies: "EdDSA", "ES256" or "RS256".
  std::string_view algorithm() const;
  // The JWK's own "alg" member, when it has one. It may differ from algorithm() (an RSA key
  // marked "PS256"); the verifier then refuses every token for this key.
  const std::optional<std::string>& declared_alg() const { return declared_alg_; }
  // "an Ed25519 key", "a P-256 key", "an RSA key": for messages.
  std::string_view description() const;

  // True when `signature` (the decoded third part of a token) is this key's signature of
  // `signing_input` under algorithm(). For ES256 the signature is JOSE's raw r||s of
  // exactly 64 bytes; any other length is false.
  bool verify(std::string_view signing_input, std::string_view signature) const;

 private:
  std::string kid_;
  JwkType type_;
  std::optional<std::string> declared_alg_;
  std::shared_ptr<const PublicKey> key_;
};

// A JWK of a set that is not used, and why ("an RSA key of 1024 bits (at least 2048 are
// required)"). Kept so a token naming it is refused with the reason, not as an unknown kid.
struct SkippedJwk {
  std::string kid;  // may be empty
  std::string reason;
};

// An immutable parsed key set. Thread-safe (shared between requests by shared_ptr).
class JwtKeys {
 public:
  JwtKeys() = default;  // the empty set

  // The usable key with this kid, or nullptr (an empty kid matches nothing).
  const Jwk* find(std::string_view kid) const;
  // The skipped key with this kid, or nullptr.
  const SkippedJwk* find_skipped(std::string_view kid) const;
  const std::vector<Jwk>& keys() const { return keys_; }
  const std::vector<SkippedJwk>& skipped() const { return skipped_; }
  bool empty() const { return keys_.empty(); }

  // `first`'s keys, then those of `second` whose kid `first` does not have.
  static std::shared_ptr<const JwtKeys> merge(const JwtKeys& first, const JwtKeys& second);

 private:
  friend Result<std::shared_ptr<const JwtKeys>> parse_jwks(std::string_view json);
  std::vector<Jwk> keys_;
  std::vector<SkippedJwk> skipped_;
};

inline constexpr std::size_t kMaxJwksBytes = 1 << 20;

// Parses a JWKS document: a JSON object whose "keys" member is an array of JWK objects.
// Keys of an unknown kty, an unsupported curve (P-384, X25519, ...), "use" other than "sig",
// "key_ops" without "verify", and RSA keys under 2048 bits (or over 16384) are skipped with
// a reason; "oct" (symmetric) keys are skipped too: HS256 is verified only with the
// configured secret, never with JWKS material. Errors (bad_request, the message says
// which): not JSON, more than kMaxJwksBytes, no "keys" array, an entry that is not an
// object or has a non-string kty/kid/crv/alg, a duplicate kid, a key of a supported type
// whose coordinates or modulus are malformed (wrong length, not base64url, not on the
// curve), and a set with no usable key at all.
Result<std::shared_ptr<const JwtKeys>> parse_jwks(std::string_view json);

struct KeySourceOptions {
  std::optional<std::string> jwks_file;          // a JWKS document on disk
  std::optional<std::string> jwks_url;           // http:// or https://, fetched with libcurl
  std::optional<std::string> hs256_secret_file;  // the HS256 secret, at least 32 bytes
  // How often the background thread re-reads the file and refetches the URL.
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(10)};
  // Refreshes asked for by tokens with an unknown kid are granted at most this often,
  // across all requests (a stream of made-up kids cannot hammer the key server).
  std::chrono::milliseconds min_refresh_gap{std::chrono::seconds(30)};
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(5)};
  std::size_t max_jwks_bytes = kMaxJwksBytes;
  // How long a request with an unknown kid waits for the refresh it asked for.
  std::chrono::milliseconds unknown_kid_wait{std::chrono::seconds(1)};
};

// Where keys come from. Thread-safe: any number of request threads may call keys() and
// refresh_for_unknown_kid() while the background thread refreshes.
//
// The background thread (running when a file or a URL is configured) does every read and
// fetch: the URL's first fetch right after open(), then the file and the URL every
// refresh_interval and whenever refresh_for_unknown_kid() is granted. A failed read or
// fetch, or a bad document, keeps the previous keys of that source and is logged on
// stderr. Keys from the file come first: a kid the file has is never taken from the URL.
class KeySource {
 public:
  // Reads the HS256 secret file (its bytes, less one trailing "\n" or "\r\n", so a file
  // written by echo works) and the JWKS file synchronously, and starts the background
  // thread, which fetches the URL. Errors (bad_request, naming the file and the problem):
  // none of the three sources set, an unreadable or bad JWKS file, an unreadable secret
  // file or a secret under 32 bytes, a URL that is not http(s). A URL that does not answer
  // is not an error: it is logged and fetched again on the refresh schedule.
  static Result<std::unique_ptr<KeySource>> open(KeySourceOptions options);

  // Stops the background thread and waits for it; a fetch under way is abandoned at once.
  ~KeySource();
  KeySource(const KeySource&) = delete;
  KeySource& operator=(const KeySource&) = delete;

  // The keys now (the file's, then the URL's). Never waits on I/O.
  std::shared_ptr<const JwtKeys> keys() const;
  // The HS256 secret, or nullptr when none is configured. Fixed for the source's life.
  const std::string* hs256_secret() const { return hs256_secret_ ? &*hs256_secret_ : nullptr; }

  struct Refreshed {
    std::shared_ptr<const JwtKeys> keys;  // the keys then current, which may still lack the kid
    // False when the answer may still change soon: the URL has never answered yet, or a
    // refresh is under way that this call did not see finish. The caller answers "retry"
    // (503), not "unknown kid" (401), so a client does not drop a token that is good.
    bool settled = true;
  };
  // For a token whose kid is not in keys() (or with no kid and no key of its type). When no
  // refresh was granted for min_refresh_gap, asks the background thread for one and waits
  // up to unknown_kid_wait for it; otherwise returns at once, without waiting: only one
  // request at a time holds a worker on the key server.
  Refreshed refresh_for_unknown_kid();

  // Refreshes the background thread has finished (successful or not), the URL's first
  // fetch included. For tests and logs.
  std::uint64_t refreshes() const;

 private:
  struct Fetcher;  // libcurl (jwks.cpp)

  explicit KeySource(KeySourceOptions options);
  void run();
  void refresh_once();

  const KeySourceOptions options_;
  std::optional<std::string> hs256_secret_;
  std::unique_ptr<Fetcher> fetcher_;  // when a URL is configured

  mutable std::mutex mutex_;
  std::condition_variable wake_;      // to the background thread: a refresh is asked, or stop
  std::condition_variable finished_;  // to waiting requests: a refresh finished
  std::shared_ptr<const JwtKeys> file_keys_;  // Guarded by mutex_, like everything below
  std::shared_ptr<const JwtKeys> url_keys_;
  std::shared_ptr<const JwtKeys> keys_;  // file_keys_ merged with url_keys_
  std::uint64_t asked_ = 0;     // refreshes asked for (on demand, or the URL's first fetch)
  std::uint64_t answered_ = 0;  // the value of asked_ the last finished refresh started at
  std::uint64_t refreshes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_granted_;
  bool url_answered_ = false;  // a fetch of the URL has succeeded at least once
  bool stopping_ = false;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace avsync::server

#include "server/jwks.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server/jwt.hpp"
#include "testing/fake_clock.hpp"
#include "testing/jwt_signer.hpp"
#include "testing/test_dir.hpp"

namespace avsync::server {
namespace {

using namespace std::chrono_literals;
using avsync::encode_base64url;
using avsync::testing::FakeClock;
using avsync::testing::jwks_json;
using avsync::testing::JwtSigner;
using avsync::testing::TestDir;
using boost::json::object;
using SteadyClock = std::chrono::steady_clock;

constexpr UnixMillis kNow = 1'800'000'000'000;

const JwtSigner& key_a() {
  static const JwtSigner key = JwtSigner::ed25519("key-a");
  return key;
}
const JwtSigner& key_b() {
  static const JwtSigner key = JwtSigner::ed25519("key-b");
  return key;
}

std::string token_for(const JwtSigner& key) {
  return key.sign(object{{"sub", "user-1"}, {"businessId", "biz-1"}, {"exp", kNow / 1000 + 3600}});
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream(path + ".tmp", std::ios::binary) << text;
  std::filesystem::rename(path + ".tmp", path);
}

// Polls `condition` until it holds or `limit` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 1500ms) {
  auto deadline = SteadyClock::now() + limit;
  while (!condition()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A JWKS server on 127.0.0.1 for the URL tests: answers every request with the current
// body, or, once told to hang, accepts and reads requests but never answers. One thread,
// raw sockets; stop() closes the port, so later fetches are refused.
class JwksServer {
 public:
  explicit JwksServer(std::string body) : body_(std::move(body)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        ::pipe(wake_) != 0)
      throw std::runtime_error("test JWKS server: cannot listen");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~JwksServer() { stop(); }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/.well-known/jwks.json";
  }
  void set_body(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }
  void hang() { hanging_ = true; }
  int requests() const { return requests_; }

  void stop() {
    if (!thread_.joinable()) return;
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
    for (int fd : {listener_, wake_[0], wake_[1]}) ::close(fd);
    for (int fd : held_) ::close(fd);
  }

 private:
  // Waits for `fd` to be readable; false when stop() was called.
  bool wait_readable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return !(fds[1].revents & POLLIN);
  }

  void serve() {
    while (wait_readable(listener_)) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        if (!wait_readable(client)) {
          ::close(client);
          return;
        }
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      ++requests_;
      if (hanging_) {
        held_.push_back(client);  // never answered; closed by stop()
        continue;
      }
      std::string body;
      {
        std::lock_guard lock(mutex_);
        body = body_;
      }
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)!::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  int listener_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::mutex mutex_;
  std::string body_;
  std::atomic<bool> hanging_{false};
  std::atomic<int> requests_{0};
  std::vector<int> held_;  // only the server thread touches it until stop() has joined it
  std::thread thread_;
};

::testing::AssertionResult parse_error(std::string_view json, std::string_view why) {
  auto keys = parse_jwks(json);
  if (keys)
    return ::testing::AssertionFailure() << "parsed, expected an error saying \"" << why << "\"";
  if (keys.error().message.find(why) == std::string::npos)
    return ::testing::AssertionFailure()
           << "error \"" << keys.error().message << "\", expected \"" << why << "\"";
  return ::testing::AssertionSuccess();
}

// ---- base64url ----

TEST(JwksBase64Url, DecodesTheUnpaddedUrlAlphabet) {
  EXPECT_EQ(decode_base64url(""), "");
  EXPECT_EQ(decode_base64url("Zg"), "f");
  EXPECT_EQ(decode_base64url("Zm8"), "fo");
  EXPECT_EQ(decode_base64url("Zm9v"), "foo");
  EXPECT_EQ(decode_base64url("-_8"), std::string("\xfb\xff", 2));
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(decode_base64url(encode_base64url(all)), all);
}

TEST(JwksBase64Url, RefusesPaddingOtherAlphabetsImpossibleLengthsAndStrayBits) {
  EXPECT_FALSE(decode_base64url("Zg=="));
  EXPECT_FALSE(decode_base64url("+/8"));
  EXPECT_FALSE(decode_base64url("Zm9v Zg"));
  EXPECT_FALSE(decode_base64url("Zm9vZ"));  // 4n+1 characters
  EXPECT_FALSE(decode_base64url("Zh"));     // "f" with a non-zero bit after it
}

// ---- parse_jwks ----

TEST(JwksParse, ReadsEd25519P256AndRsaKeys) {
  JwtSigner ed = JwtSigner::ed25519("ed");
  JwtSigner ec = JwtSigner::es256("ec");
  JwtSigner rsa = JwtSigner::rs256("rsa");
  auto keys = parse_jwks(jwks_json({ed.jwk(), ec.jwk("ES256"), rsa.jwk()}));
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ((*keys)->keys().size(), 3u);
  EXPECT_EQ((*keys)->find("ed")->type(), JwkType::ed25519);
  EXPECT_EQ((*keys)->find("ec")->type(), JwkType::p256);
  EXPECT_EQ((*keys)->find("ec")->declared_alg(), "ES256");
  EXPECT_EQ((*keys)->find("rsa")->type(), JwkType::rsa);
  EXPECT_EQ((*keys)->find("rsa")->algorithm(), "RS256");
  EXPECT_EQ((*keys)->find("nope"), nullptr);
}

TEST(JwksParse, SkipsKeysItCannotUseAndSaysWhy) {
  JwtSigner ed = JwtSigner::ed25519("ed");
  JwtSigner weak = JwtSigner::rs256("weak", 1024);
  object x25519{{"kty", "OKP"}, {"crv", "X25519"}, {"kid", "x"}, {"x", "AAAA"}};
  object p384{{"kty", "EC"}, {"crv", "P-384"}, {"kid", "p384"}, {"x", "AAAA"}, {"y", "AAAA"}};
  object oct{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  object enc = ed.jwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  object unknown{{"kty", "PQC"}, {"kid", "future"}};
  auto keys = parse_jwks(jwks_json({ed.jwk(), weak.jwk(), x25519, p384, oct, enc, unknown}));
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ((*keys)->keys().size(), 1u);
  ASSERT_EQ((*keys)->skipped().size(), 6u);
  EXPECT_NE((*keys)->find_skipped("weak")->reason.find("1024 bits"), std::string::npos);
  EXPECT_NE((*keys)->find_skipped("x")->reason.find("X25519"), std::string::npos);
  EXPECT_NE((*keys)->find_skipped("p384")->reason.find("P-384"), std::string::npos);
  EXPECT_NE((*keys)->find_skipped("hmac")->reason.find("only with the configured secret"),
            std::string::npos);
  EXPECT_NE((*keys)->find_skipped("enc")->reason.find("use 'enc'"), std::string::npos);
  EXPECT_NE((*keys)->find_skipped("future")->reason.find("kty 'PQC'"), std::string::npos);
}

TEST(JwksParse, ASetWithNoUsableKeyIsAnError) {
  JwtSigner weak = JwtSigner::rs256("weak", 1024);
  EXPECT_TRUE(parse_error(jwks_json({weak.jwk()}),
                          "no usable key (skipped: 'weak' is an RSA key of 1024 bits"));
  EXPECT_TRUE(parse_error(R"({"keys":[]})", "no usable key"));
}

TEST(JwksParse, MalformedDocumentsAreErrors) {
  JwtSigner ed = JwtSigner::ed25519("ed");
  EXPECT_TRUE(parse_error("{\"keys\":", "not valid JSON"));
  EXPECT_TRUE(parse_error("[]", "\"keys\" array"));
  EXPECT_TRUE(parse_error(R"({"keys":{}})", "\"keys\" array"));
  EXPECT_TRUE(parse_error(R"({"keys":[7]})", "key 0 is not a JSON object"));
  EXPECT_TRUE(parse_error(R"({"keys":[{"crv":"Ed25519"}]})", "no \"kty\""));
  EXPECT_TRUE(parse_error(R"({"keys":[{"kty":"OKP","kid":3}]})", "kid is not a string"));
  EXPECT_TRUE(parse_error(jwks_json({ed.jwk(), ed.jwk()}), "the kid 'ed' twice"));
  EXPECT_TRUE(parse_error(std::string(kMaxJwksBytes + 1, ' '), "larger than"));
}

TEST(JwksParse, MalformedKeyMaterialIsAnError) {
  JwtSigner ed = JwtSigner::ed25519("ed");
  JwtSigner ec = JwtSigner::es256("ec");
  JwtSigner rsa = JwtSigner::rs256("rsa");
  object short_x = ed.jwk();
  short_x["x"] = encode_base64url(std::string(31, 'x'));
  EXPECT_TRUE(parse_error(jwks_json({short_x}), "must be 32 bytes"));
  object padded = ed.jwk();
  padded["x"] = std::string(padded["x"].as_string()) + "=";
  EXPECT_TRUE(parse_error(jwks_json({padded}), "\"x\" is not base64url"));
  object off_curve = ec.jwk();
  off_curve["y"] = encode_base64url(std::string(32, '\x01'));
  EXPECT_TRUE(parse_error(jwks_json({off_curve}), "not on the P-256 curve"));
  object long_y = ec.jwk();
  long_y["y"] = encode_base64url(std::string(33, '\x01'));
  EXPECT_TRUE(parse_error(jwks_json({long_y}), "32 bytes each"));
  object no_e = rsa.jwk();
  no_e.erase("e");
  EXPECT_TRUE(parse_error(jwks_json({no_e}), "no \"e\" string"));
  object even = rsa.jwk();
  even["e"] = encode_base64url(std::string("\x01\x00\x00", 3));
  EXPECT_TRUE(parse_error(jwks_json({even}), "not a valid RSA public key"));
}

// ---- KeySource: opening ----

class JwksKeySource : public ::testing::Test {
 protected:
  std::unique_ptr<KeySource> open(const KeySourceOptions& options) {
    auto source = KeySource::open(options);
    if (!source) {
      ADD_FAILURE() << source.error().message;
      return nullptr;
    }
    return std::move(*source);
  }
  Result<JwtClaims> verify(KeySource& source, std::string_view token) {
    return JwtVerifier(source, JwtOptions{}, clock_).verify(token);
  }
  std::string file(std::string_view name) const { return dir_.file(name); }

  TestDir dir_;
  FakeClock clock_{kNow};
};

TEST_F(JwksKeySource, OpeningWithoutAnySourceIsAnError) {
  auto source = KeySource::open({});
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("needs a JWKS file, a JWKS URL or an HS256 secret file"),
            std::string::npos);
}

TEST_F(JwksKeySource, AMissingOrBadJwksFileIsAStartupErrorNamingTheFile) {
  KeySourceOptions options;
  options.jwks_file = file("missing.json");
  auto missing = KeySource::open(options);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read the JWKS file " + file("missing.json")),
            std::string::npos);

  write_file(file("bad.json"), R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"c2hvcnQ"}]})");
  options.jwks_file = file("bad.json");
  auto bad = KeySource::open(options);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("the JWKS file " + file("bad.json") + ": "),
            std::string::npos);
  EXPECT_NE(bad.error().message.find("must be 32 bytes"), std::string::npos);
}

TEST_F(JwksKeySource, AnHs256SecretUnder32BytesIsRefusedAtLoad) {
  KeySourceOptions options;
  options.hs256_secret_file = file("secret");
  write_file(file("secret"), std::string(31, 's') + "\n");
  auto short_secret = KeySource::open(options);
  ASSERT_FALSE(short_secret);
  EXPECT_NE(short_secret.error().message.find("is 31 bytes; at least 32 are required"),
            std::string::npos);

  write_file(file("secret"), std::string(32, 's') + "\r\n");
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_NE(source->hs256_secret(), nullptr);
  EXPECT_EQ(*source->hs256_secret(), std::string(32, 's'))
      << "one trailing newline is not part of the secret";

  options.hs256_secret_file = file("missing");
  EXPECT_FALSE(KeySource::open(options));
}

TEST_F(JwksKeySource, AJwksUrlMustBeHttpOrHttps) {
  KeySourceOptions options;
  options.jwks_url = "file:///etc/passwd";
  auto source = KeySource::open(options);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("must start with http:// or https://"), std::string::npos);
}

// ---- KeySource: refreshing from a file ----

TEST_F(JwksKeySource, ARotatedFileIsPickedUpWhenATokenNamesAnUnknownKid) {
  write_file(file("jwks.json"), jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_file = file("jwks.json");
  auto source = open(options);
  ASSERT_TRUE(source);
  EXPECT_TRUE(verify(*source, token_for(key_a())));
  EXPECT_FALSE(verify(*source, token_for(key_b())));

  options.min_refresh_gap = 0ms;  // so the second rotation below is not held back by the first
  source = open(options);
  write_file(file("jwks.json"), jwks_json({key_b().jwk()}));
  auto result = verify(*source, token_for(key_b()));
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_FALSE(source->keys()->find("key-a")) << "the rotation replaced the file's keys";

  write_file(file("jwks.json"), jwks_json({key_a().jwk(), key_b().jwk()}));
  EXPECT_TRUE(verify(*source, token_for(key_a())));
}

TEST_F(JwksKeySource, UnknownKidsRefreshAtMostOncePerGap) {
  write_file(file("jwks.json"), jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_file = file("jwks.json");  // the default gap: 30 s
  auto source = open(options);
  ASSERT_TRUE(source);

  JwtSigner made_up = JwtSigner::ed25519("made-up");
  auto first = verify(*source, token_for(made_up));
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("unknown kid 'made-up'"), std::string::npos);
  EXPECT_EQ(source->refreshes(), 1u);

  write_file(file("jwks.json"), jwks_json({key_a().jwk(), key_b().jwk()}));
  auto start = SteadyClock::now();
  auto second = verify(*source, token_for(key_b()));
  EXPECT_FALSE(second) << "the file changed, but the last refresh was moments ago";
  EXPECT_LT(SteadyClock::now() - start, 250ms) << "a refused refresh does not wait";
  EXPECT_EQ(source->refreshes(), 1u);
  EXPECT_TRUE(verify(*source, token_for(key_a())));
}

TEST_F(JwksKeySource, ABadFileOnRefreshKeepsThePreviousKeys) {
  write_file(file("jwks.json"), jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_file = file("jwks.json");
  options.min_refresh_gap = 0ms;
  auto source = open(options);
  ASSERT_TRUE(source);
  write_file(file("jwks.json"), "{\"keys\": [");
  EXPECT_FALSE(verify(*source, token_for(key_b())));
  EXPECT_EQ(source->refreshes(), 1u);
  EXPECT_TRUE(verify(*source, token_for(key_a())));
  std::filesystem::remove(file("jwks.json"));
  EXPECT_FALSE(verify(*source, token_for(key_b())));
  EXPECT_EQ(source->refreshes(), 2u);
  EXPECT_TRUE(verify(*source, token_for(key_a())));
}

// ---- KeySource: fetching from a URL ----

TEST_F(JwksKeySource, KeysComeFromTheUrlFetchedInTheBackground) {
  JwksServer server(jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_url = server.url();
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_TRUE(eventually([&] { return source->refreshes() >= 1; }));
  EXPECT_EQ(server.requests(), 1);
  auto result = verify(*source, token_for(key_a()));
  EXPECT_TRUE(result) << result.error().message;
}

TEST_F(JwksKeySource, ARotationAtTheUrlIsFetchedForAnUnknownKid) {
  JwksServer server(jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_url = server.url();
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_TRUE(eventually([&] { return source->refreshes() >= 1; }));
  server.set_body(jwks_json({key_b().jwk()}));
  auto result = verify(*source, token_for(key_b()));
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(JwksKeySource, FileKeysAndUrlKeysAreBothUsedAndTheFileWinsAKidBothHave) {
  JwtSigner impostor = JwtSigner::ed25519("key-a");
  JwksServer server(jwks_json({impostor.jwk(), key_b().jwk()}));
  write_file(file("jwks.json"), jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_file = file("jwks.json");
  options.jwks_url = server.url();
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_TRUE(eventually([&] { return source->refreshes() >= 1; }));
  EXPECT_TRUE(verify(*source, token_for(key_a())));
  EXPECT_TRUE(verify(*source, token_for(key_b())));
  EXPECT_FALSE(verify(*source, token_for(impostor)));
}

TEST_F(JwksKeySource, WhenTheUrlIsDownTheCachedKeysKeepWorkingWithoutWaiting) {
  JwksServer server(jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_url = server.url();
  options.min_refresh_gap = 0ms;
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_TRUE(eventually([&] { return source->refreshes() >= 1; }));
  server.stop();

  auto unknown = verify(*source, token_for(key_b()));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown kid 'key-b'"), std::string::npos);
  EXPECT_EQ(source->refreshes(), 2u) << "the refresh was tried, and failed";

  auto start = SteadyClock::now();
  auto known = verify(*source, token_for(key_a()));
  EXPECT_LT(SteadyClock::now() - start, options.fetch_timeout / 5);
  EXPECT_TRUE(known) << known.error().message;
}

TEST_F(JwksKeySource, ASlowUrlBlocksNeitherKnownKidsNorShutdown) {
  JwksServer server(jwks_json({key_a().jwk()}));
  KeySourceOptions options;
  options.jwks_url = server.url();
  options.unknown_kid_wait = 100ms;
  auto source = open(options);
  ASSERT_TRUE(source);
  ASSERT_TRUE(eventually([&] { return source->refreshes() >= 1; }));
  server.hang();

  auto start = SteadyClock::now();
  auto unknown = verify(*source, token_for(key_b()));
  auto waited = SteadyClock::now() - start;
  ASSERT_FALSE(unknown);
  EXPECT_GE(waited, 100ms) << "an unknown kid waits for its refresh, up to the bound";
  EXPECT_LT(waited, options.fetch_timeout / 5) << "but not for the fetch timeout";
  EXPECT_EQ(unknown.error().code, ErrorCode::unavailable) << "the refresh has not answered: retry, not refused";
  ASSERT_TRUE(eventually([&] { return server.requests() == 2; })) << "the fetch is under way";

  // While it hangs, other unknown kids are told to retry at once: no second worker waits.
  start = SteadyClock::now();
  auto other = verify(*source, token_for(JwtSigner::ed25519("key-c")));
  EXPECT_LT(SteadyClock::now() - start, 50ms);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::unavailable);

  start = SteadyClock::now();
  auto known = verify(*source, token_for(key_a()));
  EXPECT_LT(SteadyClock::now() - start, options.fetch_timeout / 5);
  EXPECT_TRUE(known) << known.error().message;
  EXPECT_EQ(source->refreshes(), 1u) << "the fetch is still hanging";

  start = SteadyClock::now();
  source.reset();
  EXPECT_LT(SteadyClock::now() - start, options.fetch_timeout / 5) << "shutdown abandons the fetch";
}

}  // namespace
}  // namespace avsync::server

// What authenticating a request costs (`make bench-auth`): Router::admit for GET
// /sync/changes with a device token (a SHA-256 and one store look-up, the baseline) and
// with a JWT of each algorithm (base64url and JSON decoding, one signature check, the
// claims), on a real SQLite store. Google Benchmark; medians of repetitions.

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "core/clock.hpp"
#include "server/auth.hpp"
#include "server/jwt.hpp"
#include "server/router.hpp"
#include "server/sync_service.hpp"
#include "store/store.hpp"
#include "testing/jwt_signer.hpp"

namespace {

using namespace avsync;
using avsync::testing::jwks_json;
using avsync::testing::JwtSigner;

constexpr char kSecret[] = "an-hs256-secret-of-more-than-32-bytes-for-the-bench";

// One server's worth of authentication, built once for every benchmark.
struct World {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "avsync-auth-bench";
  SystemClock clock;
  std::unique_ptr<store::Store> store;
  JwtSigner ed = JwtSigner::ed25519("ed"), ec = JwtSigner::es256("ec"), rsa = JwtSigner::rs256("rsa");
  JwtSigner hs = JwtSigner::hs256(kSecret);
  std::unique_ptr<server::KeySource> keys;
  std::optional<server::JwtVerifier> verifier;
  std::optional<server::Authenticator> auth;
  std::optional<server::SyncService> sync;
  std::optional<server::Router> router;
  std::string device_token;

  World() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = store::open_store("sqlite:" + (dir / "bench.db").string());
    store->migrate();
    store->create_business("org_bench", "Bench", format_timestamp(clock.now()));
    device_token = server::issue_token(*store, clock, "org_bench", "seller", 24).token;
    std::ofstream(dir / "jwks.json") << jwks_json({ed.jwk(), ec.jwk(), rsa.jwk()});
    std::ofstream(dir / "secret") << kSecret;
    auto opened = server::KeySource::open({.jwks_file = (dir / "jwks.json").string(),
                                           .hs256_secret_file = (dir / "secret").string()});
    if (!opened) throw std::runtime_error(opened.error().message);
    keys = std::move(*opened);
    verifier.emplace(*keys, server::JwtOptions{.issuer = "https://app.example.com", .audience = "avsync"}, clock);
    auth.emplace(*store, clock, &*verifier);
    sync.emplace(*store, clock);
    router.emplace(*sync, *auth, *store, clock, server::RouterOptions{});
  }
  ~World() { std::filesystem::remove_all(dir); }

  // A token shaped like Better Auth's, valid for an hour.
  std::string jwt(const JwtSigner& key) const {
    const std::int64_t now = clock.now() / 1000;
    return key.sign({{"iat", now},
                     {"iss", "https://app.example.com"},
                     {"aud", "avsync"},
                     {"exp", now + 3600},
                     {"sub", "usr_5Hq2ZkP9"},
                     {"businessId", "org_bench"},
                     {"email", "ana@example.com"}});
  }
};

World& world() {
  static World w;
  return w;
}

void admit(benchmark::State& state, const std::string& token) {
  server::HttpRequest request{"GET", "/sync/changes", "", "Bearer " + token, "127.0.0.1", {}};
  for (auto _ : state) {
    server::Admission admission = world().router->admit(request);
    if (admission.refusal) state.SkipWithError(admission.refusal->body.c_str());
    benchmark::DoNotOptimize(admission);
  }
}

void BM_DeviceToken(benchmark::State& state) { admit(state, world().device_token); }
void BM_JwtEdDSA(benchmark::State& state) { admit(state, world().jwt(world().ed)); }
void BM_JwtES256(benchmark::State& state) { admit(state, world().jwt(world().ec)); }
void BM_JwtRS256(benchmark::State& state) { admit(state, world().jwt(world().rsa)); }
void BM_JwtHS256(benchmark::State& state) { admit(state, world().jwt(world().hs)); }

BENCHMARK(BM_DeviceToken)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JwtEdDSA)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JwtES256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JwtRS256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JwtHS256)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

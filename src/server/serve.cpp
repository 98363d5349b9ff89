#include "server/serve.hpp"

#include <iostream>
#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "server/admin_api.hpp"
#include "server/admin_ui.hpp"
#include "server/auth.hpp"
#include "server/change_hub.hpp"
#include "server/cors.hpp"
#include "server/http/http_server.hpp"
#include "server/jwt.hpp"
#include "server/log_retention.hpp"
#include "server/metrics.hpp"
#include "server/overview.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"
#include "server/settings.hpp"
#include "server/static_files.hpp"
#include "server/sync_service.hpp"
#include "store/store.hpp"

namespace avsync::server {

int serve(const ServeSettings& settings) {
  HttpServerOptions http;
  http.host = settings.listen.host;
  http.port = settings.listen.port;
  http.io_threads = settings.threads;
  http.workers = settings.workers;
  http.body_limit = settings.body_limit;
  http.header_timeout = settings.header_timeout;
  http.read_timeout = settings.read_timeout;
  http.connections = {.max_connections = settings.max_connections,
                      .max_connections_per_address = settings.max_connections_per_address};
  http.tenant = {.max_running = settings.tenant_concurrency, .max_waiting = settings.tenant_queue};

  SystemClock clock;
  // Credentials first: a bad key file or admin credential stops the start before anything
  // listens (exit 2).
  std::unique_ptr<KeySource> keys;
  if (settings.jwks_file || settings.jwks_url || settings.jwt_secret_file) {
    auto opened = KeySource::open({.jwks_file = settings.jwks_file,
                                   .jwks_url = settings.jwks_url,
                                   .hs256_secret_file = settings.jwt_secret_file});
    if (!opened) {
      std::cerr << "avsync-server: " << opened.error().message << "\n";
      return 2;
    }
    keys = std::move(*opened);
  }
  std::optional<JwtVerifier> jwt;
  if (keys)
    jwt.emplace(*keys,
                JwtOptions{.issuer = settings.jwt_issuer,
                           .audience = settings.jwt_audience,
                           .business_claim = settings.jwt_business_claim,
                           .user_claim = settings.jwt_user_claim,
                           .leeway = settings.jwt_leeway},
                clock);
  std::optional<std::string> admin_credential;
  if (settings.admin_token_file) {
    auto loaded = load_admin_credential(*settings.admin_token_file);
    if (!loaded) {
      std::cerr << "avsync-server: " << loaded.error().message << "\n";
      return 2;
    }
    admin_credential = std::move(*loaded);
  }
  // The demo's files are read whole before anything listens; requests never touch the disk.
  std::optional<StaticFiles> demo;
  if (settings.demo) {
    auto loaded = StaticFiles::load(settings.demo_dir);
    if (!loaded) {
      std::cerr << "avsync-server: --demo: " << loaded.error().message;
      if (loaded.error().code == ErrorCode::not_found)
        std::cerr << "; the demo app is not built there: run `make web` in the checkout, or pass "
                     "--demo-dir DIR";
      std::cerr << "\n";
      return 2;
    }
    demo = std::move(*loaded);
  }
  // Counted from the start: the store's pool and group commits report to it.
  Metrics metrics(route_labels(), static_cast<double>(clock.now()) / 1000.0);
  auto store =
      store::open_store(settings.db, {.pool_size = settings.db_pool, .observer = &metrics});
  store->migrate();
  // Prunes the operation log past the window, at start and hourly (docs/security.md).
  LogRetention retention(*store, clock, settings.log_retention);
  // Long-polls wait here: this server's commits wake them at once, the store's watch
  // brings every other server's (docs/scaling.md).
  ChangeHub live;
  http.live = &live;
  auto watch = store->watch_changes(live);
  SyncService sync(*store, clock, &live, &metrics);
  Authenticator auth(*store, clock, jwt ? &*jwt : nullptr);
  std::optional<AdminApi> admin;
  if (admin_credential) admin.emplace(*store, clock, *admin_credential);
  // The operations console comes with the admin API, from the files compiled in.
  std::optional<StaticFiles> admin_ui;
  if (admin) admin_ui = StaticFiles::from_embedded(admin_ui_files());
  CorsPolicy cors(settings.cors_origins);
  ThrottleOptions throttle_options;
  throttle_options.requests = {static_cast<double>(settings.rate_limit), static_cast<double>(settings.rate_burst)};
  throttle_options.operations = {static_cast<double>(settings.op_rate_limit),
                                 static_cast<double>(settings.op_rate_burst)};
  throttle_options.failed_auth = {static_cast<double>(settings.auth_failure_limit),
                                  static_cast<double>(settings.auth_failure_burst)};
  Throttle throttle(throttle_options);
  RouterOptions router_options;
  router_options.batch.max_operations = settings.batch_limit;
  router_options.throttle = &throttle;
  router_options.admin = admin ? &*admin : nullptr;
  router_options.cors = cors.enabled() ? &cors : nullptr;
  router_options.demo = demo ? &*demo : nullptr;
  router_options.live = &live;
  router_options.admin_ui = admin_ui ? &*admin_ui : nullptr;
  // The overview's series, sampled every 10 s (docs/protocol.md §7).
  Overview overview(metrics, clock.now());
  OverviewSampler sampler(overview, clock);
  router_options.metrics = &metrics;
  router_options.overview = &overview;
  router_options.log_level = *parse_log_level(settings.log_level);
  http.metrics = &metrics;
  http.log_level = router_options.log_level;
  std::optional<Router> metrics_router;
  if (settings.metrics_listen) {
    router_options.metrics_exposure = MetricsExposure::elsewhere;
    RouterOptions only_metrics;
    only_metrics.metrics = &metrics;
    only_metrics.live = &live;
    only_metrics.log_level = router_options.log_level;
    only_metrics.metrics_exposure = MetricsExposure::metrics_only;
    metrics_router.emplace(sync, auth, *store, clock, only_metrics);
    const ListenAddress address = *parse_listen_address(*settings.metrics_listen);
    http.metrics_listener =
        MetricsListener{.host = address.host,
                        .port = address.port,
                        .router = &*metrics_router,
                        .on_listening = [host = address.host](std::uint16_t bound) {
                          std::cerr << "avsync-server: metrics at http://"
                                    << ListenAddress{host, bound}.to_string() << "/metrics\n";
                        }};
  }
  Router router(sync, auth, *store, clock, router_options);
  std::cerr << "avsync-server: bearer tokens: device tokens" << (jwt ? ", JWTs" : "")
            << (admin ? "; admin API on" : "; admin API off (no --admin-token-file)")
            << (cors.enabled() ? "; CORS for " + std::to_string(settings.cors_origins.size()) + " origin(s)" : "")
            << (demo ? "; demo: " + std::to_string(demo->file_count()) + " files from " +
                           settings.demo_dir
                     : "")
            << "\n";
  try {
    run_http_server(http, router, [&](std::uint16_t bound) {
      const std::string base = "http://" + ListenAddress{settings.listen.host, bound}.to_string();
      std::cout << "avsync-server listening on " << base;
      if (demo) std::cout << "; demo at " << base << "/demo/";
      if (admin_ui) std::cout << "; console at " << base << "/admin/";
      std::cout << std::endl;
    });
  } catch (const ListenError& e) {
    // Said plainly, with the way out: a port already taken is the first thing a newcomer meets.
    const bool metrics_address = std::string_view(e.what()).starts_with("metrics");
    std::cerr << "avsync-server: cannot listen on "
              << (metrics_address ? *settings.metrics_listen : settings.listen.to_string()) << ": "
              << e.code().message()
              << (e.code() != std::errc::address_in_use ? ""
                  : metrics_address
                      ? " (another program is listening there; choose another address with "
                        "--metrics-listen HOST:PORT or AVSYNC_METRICS_LISTEN)"
                      : " (another program is listening there; choose another address with "
                        "--listen HOST:PORT or AVSYNC_LISTEN)")
              << "\n";
    return 1;
  }
  std::cerr << "avsync-server: stopped\n";
  return 0;
}

}  // namespace avsync::server

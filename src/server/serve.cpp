#include "server/serve.hpp"

#include <iostream>

#include "core/clock.hpp"
#include "server/auth.hpp"
#include "server/http/http_server.hpp"
#include "server/log_retention.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"
#include "server/settings.hpp"
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
  auto store = store::open_store(settings.db, {.pool_size = settings.db_pool});
  store->migrate();
  // Prunes the operation log past the window, at start and hourly (docs/security.md).
  LogRetention retention(*store, clock, settings.log_retention);
  SyncService sync(*store, clock);
  Authenticator auth(*store, clock);
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
  Router router(sync, auth, *store, clock, router_options);
  run_http_server(http, router, [&](std::uint16_t bound) {
    std::cout << "avsync-server listening on http://" << ListenAddress{settings.listen.host, bound}.to_string()
              << std::endl;
  });
  std::cerr << "avsync-server: stopped\n";
  return 0;
}

}  // namespace avsync::server

#include "server/command_line.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "server/auth.hpp"
#include "server/http/http_server.hpp"
#include "server/log_retention.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"
#include "server/sync_service.hpp"
#include "store/store.hpp"

namespace avsync::server {
namespace {

constexpr std::string_view kUsage = R"(usage:
  avsync-server migrate                                   [--db URL]
  avsync-server serve [--listen HOST:PORT] [--threads N] [--workers N] [--db-pool N]
                      [--batch-limit N] [--body-limit BYTES]
                      [--header-timeout SECONDS] [--read-timeout SECONDS]
                      [--max-connections N] [--max-connections-per-address N]
                      [--tenant-concurrency N] [--tenant-queue N]
                      [--rate-limit PER_SECOND] [--rate-burst N]
                      [--op-rate-limit PER_SECOND] [--op-rate-burst N]
                      [--auth-failure-limit PER_SECOND] [--auth-failure-burst N]
                      [--log-retention-days N]                          [--db URL]
  avsync-server admin create-business --name NAME        [--db URL]
  avsync-server admin create-token --business ID --user NAME [--ttl-hours N] [--db URL]
  avsync-server admin revoke-token --token TOKEN         [--db URL]
--db defaults to $AVSYNC_DB, then sqlite:avsync.db. URLs: sqlite:PATH, postgresql://...
)";

// Defaults that are not a field of some options struct already.
struct ServeDefaults {
  ThrottleOptions throttle;
  std::uint64_t log_retention_days = 90;
};

int usage(std::string_view problem) {
  std::cerr << "avsync-server: " << problem << "\n" << kUsage;
  return 2;
}

// A positive integer flag within [min, max]; nullopt when malformed.
std::optional<std::uint64_t> positive_flag(const CommandLine& cmd, const std::string& name,
                                           std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  auto text = cmd.flag(name);
  if (!text) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max)
    return std::nullopt;
  return value;
}

// Flags each command accepts, so a typo is a usage error rather than silently ignored.
bool flags_allowed(const CommandLine& cmd, std::set<std::string> allowed) {
  allowed.insert("--db");
  for (const auto& [name, _] : cmd.flags)
    if (!allowed.count(name)) {
      usage("unknown flag " + name);
      return false;
    }
  return true;
}

int serve(const CommandLine& cmd) {
  if (!flags_allowed(cmd, {"--listen", "--threads", "--workers", "--batch-limit", "--body-limit", "--header-timeout",
                           "--read-timeout", "--db-pool", "--max-connections", "--max-connections-per-address",
                           "--tenant-concurrency", "--tenant-queue", "--rate-limit", "--rate-burst",
                           "--op-rate-limit", "--op-rate-burst", "--auth-failure-limit", "--auth-failure-burst",
                           "--log-retention-days"}))
    return 2;
  HttpServerOptions http;
  std::string listen = cmd.flag("--listen").value_or("127.0.0.1:8080");
  std::size_t colon = listen.rfind(':');
  auto port = colon == std::string::npos ? std::nullopt : std::optional<std::string>(listen.substr(colon + 1));
  std::uint16_t port_number = 0;
  if (!port || std::from_chars(port->data(), port->data() + port->size(), port_number).ec != std::errc())
    return usage("--listen must be HOST:PORT");
  http.host = listen.substr(0, colon);
  if (http.host.size() > 2 && http.host.front() == '[') http.host = http.host.substr(1, http.host.size() - 2);
  http.port = port_number;

  const std::uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const ServeDefaults defaults;
  auto threads = positive_flag(cmd, "--threads", std::max<std::uint64_t>(2, cores), 1, 256);
  auto workers = positive_flag(cmd, "--workers", std::max<std::uint64_t>(4, 2 * cores), 1, 1000);
  auto batch_limit = positive_flag(cmd, "--batch-limit", BatchLimits{}.max_operations, 1, 100000);
  auto body_limit = positive_flag(cmd, "--body-limit", http.body_limit, 1024, 1ull << 30);
  auto header_timeout = positive_flag(cmd, "--header-timeout", http.header_timeout.count(), 1, 3600);
  auto read_timeout = positive_flag(cmd, "--read-timeout", http.read_timeout.count(), 1, 3600);
  auto max_connections = positive_flag(cmd, "--max-connections", http.connections.max_connections, 1, 1'000'000);
  auto per_address = positive_flag(cmd, "--max-connections-per-address",
                                   http.connections.max_connections_per_address, 1, 1'000'000);
  auto tenant_queue = positive_flag(cmd, "--tenant-queue", http.tenant.max_waiting, 1, 100'000);
  if (!threads || !workers || !batch_limit || !body_limit || !header_timeout || !read_timeout || !max_connections ||
      !per_address || !tenant_queue)
    return usage("--threads, --workers, --batch-limit, --body-limit, --header-timeout, --read-timeout, "
                 "--max-connections, --max-connections-per-address and --tenant-queue take positive integers");
  // One database connection per worker, and one for /healthz.
  auto db_pool = positive_flag(cmd, "--db-pool", *workers + 1, 1, 1000);
  auto tenant_concurrency = positive_flag(cmd, "--tenant-concurrency", std::max<std::uint64_t>(1, *workers / 2), 1,
                                          100'000);
  if (!db_pool || !tenant_concurrency) return usage("--db-pool and --tenant-concurrency take positive integers");

  // 0 turns a rate limit off, so these accept it.
  struct Limit {
    const char* rate_flag;
    const char* burst_flag;
    RateLimit fallback;
    RateLimit value;
  };
  Limit limits[] = {{"--rate-limit", "--rate-burst", defaults.throttle.requests, {}},
                    {"--op-rate-limit", "--op-rate-burst", defaults.throttle.operations, {}},
                    {"--auth-failure-limit", "--auth-failure-burst", defaults.throttle.failed_auth, {}}};
  for (Limit& l : limits) {
    auto rate = positive_flag(cmd, l.rate_flag, static_cast<std::uint64_t>(l.fallback.per_second), 0, 1'000'000);
    // An explicit rate without a burst gets twice the rate.
    std::uint64_t burst_default = cmd.flag(l.rate_flag) && rate ? 2 * *rate : static_cast<std::uint64_t>(l.fallback.burst);
    auto burst = positive_flag(cmd, l.burst_flag, burst_default, 0, 1'000'000);
    if (!rate || !burst || (*rate > 0 && *burst < 1))
      return usage(std::string(l.rate_flag) + " and " + l.burst_flag +
                   " take integers >= 0 (a burst of at least 1 when limited)");
    l.value = {static_cast<double>(*rate), static_cast<double>(*burst)};
  }
  auto retention_days = positive_flag(cmd, "--log-retention-days", defaults.log_retention_days, 0, 36'500);
  if (!retention_days) return usage("--log-retention-days takes an integer >= 0 (0 keeps the log forever)");

  http.io_threads = *threads;
  http.workers = *workers;
  http.body_limit = *body_limit;
  http.header_timeout = std::chrono::seconds(*header_timeout);
  http.read_timeout = std::chrono::seconds(*read_timeout);
  http.connections = {.max_connections = *max_connections, .max_connections_per_address = *per_address};
  http.tenant = {.max_running = *tenant_concurrency, .max_waiting = *tenant_queue};

  SystemClock clock;
  auto store = store::open_store(cmd.database_url(), {.pool_size = *db_pool});
  store->migrate();
  // Prunes the operation log past the window, at start and hourly (docs/security.md).
  LogRetention retention(*store, clock, std::chrono::days(*retention_days));
  SyncService sync(*store, clock);
  Authenticator auth(*store, clock);
  ThrottleOptions throttle_options = defaults.throttle;
  throttle_options.requests = limits[0].value;
  throttle_options.operations = limits[1].value;
  throttle_options.failed_auth = limits[2].value;
  Throttle throttle(throttle_options);
  RouterOptions router_options;
  router_options.batch.max_operations = *batch_limit;
  router_options.throttle = &throttle;
  Router router(sync, auth, *store, clock, router_options);
  run_http_server(http, router, [&](std::uint16_t bound) {
    std::cout << "avsync-server listening on http://" << listen.substr(0, colon) << ":" << bound << std::endl;
  });
  std::cerr << "avsync-server: stopped\n";
  return 0;
}

int admin(const CommandLine& cmd) {
  if (cmd.words.size() != 2) return usage("admin needs one of create-business, create-token, revoke-token");
  const std::string& what = cmd.words[1];
  SystemClock clock;
  const std::string now = format_timestamp(clock.now());
  if (what == "create-business") {
    if (!flags_allowed(cmd, {"--name"})) return 2;
    auto name = cmd.flag("--name");
    if (!name || name->empty()) return usage("create-business needs --name NAME");
    auto store = store::open_store(cmd.database_url());
    store->migrate();
    std::string id = generate_uuid();
    store->create_business(id, *name, now);
    std::cout << id << "\n";
    return 0;
  }
  if (what == "create-token") {
    if (!flags_allowed(cmd, {"--business", "--user", "--ttl-hours"})) return 2;
    auto business = cmd.flag("--business");
    auto user = cmd.flag("--user");
    auto ttl = positive_flag(cmd, "--ttl-hours", 720, 1, 24 * 365 * 100);
    if (!business || !user || user->empty()) return usage("create-token needs --business ID and --user NAME");
    if (!ttl) return usage("--ttl-hours must be an integer >= 1");
    auto store = store::open_store(cmd.database_url());
    store->migrate();
    if (!store->business_exists(*business)) {
      std::cerr << "avsync-server: no business with id " << *business << "\n";
      return 1;
    }
    std::string token = generate_token();
    store->create_token({hash_token(token), *business, *user,
                         clock.now() + static_cast<UnixMillis>(*ttl) * 3600 * 1000, false},
                        now);
    std::cout << token << "\n";
    return 0;
  }
  if (what == "revoke-token") {
    if (!flags_allowed(cmd, {"--token"})) return 2;
    auto token = cmd.flag("--token");
    if (!token || token->empty()) return usage("revoke-token needs --token TOKEN");
    auto store = store::open_store(cmd.database_url());
    store->migrate();
    if (!store->revoke_token(hash_token(*token), now)) {
      std::cerr << "avsync-server: no such token\n";
      return 1;
    }
    std::cerr << "avsync-server: token revoked\n";
    return 0;
  }
  return usage("unknown admin command '" + what + "'");
}

}  // namespace

std::optional<std::string> CommandLine::flag(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::database_url() const {
  if (auto db = flag("--db")) return *db;
  if (const char* env = std::getenv("AVSYNC_DB"); env && *env) return env;
  return "sqlite:avsync.db";
}

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CommandLine out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.words = {"help"};
      return out;
    }
    if (!arg.starts_with("--")) {
      out.words.push_back(arg);
      continue;
    }
    std::size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      out.flags[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      out.flags[arg] = argv[++i];
    } else {
      return Error{ErrorCode::bad_request, arg + " needs a value"};
    }
  }
  return out;
}

int run_command(const CommandLine& cmd) {
  if (cmd.words.empty()) return usage("missing command");
  const std::string& first = cmd.words[0];
  if (first == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (first == "migrate") {
    if (cmd.words.size() != 1 || !flags_allowed(cmd, {})) return 2;
    store::open_store(cmd.database_url())->migrate();
    std::cerr << "avsync-server: migrations applied\n";
    return 0;
  }
  if (first == "serve") {
    if (cmd.words.size() != 1) return usage("serve takes no arguments besides flags");
    return serve(cmd);
  }
  if (first == "admin") return admin(cmd);
  return usage("unknown command '" + first + "'");
}

}  // namespace avsync::server

#include "server/command_line.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "server/auth.hpp"
#include "server/http/http_server.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"
#include "server/sync_service.hpp"
#include "store/store.hpp"

namespace avsync::server {
namespace {

constexpr std::string_view kUsage = R"(usage:
  avsync-server migrate                                   [--db URL]
  avsync-server serve [--listen HOST:PORT] [--threads N] [--batch-limit N] [--db-pool N]
                      [--body-limit BYTES] [--read-timeout SECONDS] [--max-connections N]
                      [--rate-limit PER_SECOND] [--rate-burst N]        [--db URL]
  avsync-server admin create-business --name NAME        [--db URL]
  avsync-server admin create-token --business ID --user NAME [--ttl-hours N] [--db URL]
  avsync-server admin revoke-token --token TOKEN         [--db URL]
--db defaults to $AVSYNC_DB, then sqlite:avsync.db. URLs: sqlite:PATH, postgresql://...
)";

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
  if (!flags_allowed(cmd, {"--listen", "--threads", "--batch-limit", "--body-limit", "--read-timeout", "--db-pool",
                           "--max-connections", "--rate-limit", "--rate-burst"}))
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
  auto threads = positive_flag(cmd, "--threads", 0, 1, 256);
  auto batch_limit = positive_flag(cmd, "--batch-limit", 500, 1, 100000);
  auto body_limit = positive_flag(cmd, "--body-limit", 4 << 20, 1024, 1ull << 30);
  auto read_timeout = positive_flag(cmd, "--read-timeout", 30, 1, 3600);
  const std::uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
  auto db_pool = positive_flag(cmd, "--db-pool", std::max<std::uint64_t>(4, 2 * cores), 1, 1000);
  auto max_connections = positive_flag(cmd, "--max-connections", 1024, 1, 1'000'000);
  if (!threads || !batch_limit || !body_limit || !read_timeout || !db_pool || !max_connections)
    return usage("--threads, --batch-limit, --body-limit, --read-timeout, --db-pool and --max-connections "
                 "take positive integers");
  // 0 turns the rate limit off, so these accept it.
  auto rate = positive_flag(cmd, "--rate-limit", 100, 0, 1'000'000);
  auto burst = positive_flag(cmd, "--rate-burst", rate ? 2 * *rate : 0, 0, 1'000'000);
  if (!rate || !burst || (*rate > 0 && *burst < 1))
    return usage("--rate-limit and --rate-burst take integers >= 0 (a burst of at least 1 when limited)");
  http.max_connections = *max_connections;
  http.threads = *threads;
  http.body_limit = *body_limit;
  http.read_timeout = std::chrono::seconds(*read_timeout);

  SystemClock clock;
  auto store = store::open_store(cmd.database_url(), {.pool_size = *db_pool});
  store->migrate();
  SyncService sync(*store, clock);
  Authenticator auth(*store, clock);
  RouterOptions router_options;
  router_options.batch.max_operations = *batch_limit;
  RateLimiter rate_limiter({.per_second = static_cast<double>(*rate), .burst = static_cast<double>(*burst)});
  router_options.rate_limiter = &rate_limiter;
  Router router(sync, auth, *store, clock, router_options);
  run_http_server(http, [&](const HttpRequest& r) { return router.handle(r); },
                  [&](std::uint16_t bound) {
                    std::cout << "avsync-server listening on http://" << listen.substr(0, colon) << ":"
                              << bound << std::endl;
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

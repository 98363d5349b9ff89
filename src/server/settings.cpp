#include "server/settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/codec.hpp"
#include "server/command_line.hpp"
#include "server/config_file.hpp"
#include "server/http/http_server.hpp"
#include "server/rate_limiter.hpp"

namespace avsync::server {
namespace {

Error usage_error(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

// ---- Checks of text values ------------------------------------------------------------

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  if (!is_digits(text)) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// HOST:PORT, the host of an IPv6 address in brackets ([::1]:8080). As before the table
// existed, an unbracketed IPv6 host is split at its last colon.
std::optional<ListenAddress> parse_listen(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  auto port = parse_unsigned(text.substr(colon + 1));
  if (!port || *port > 65535) return std::nullopt;
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']')) return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return std::nullopt;
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(*port)};
}

std::optional<std::string> check_listen(std::string_view value) {
  if (parse_listen(value)) return std::nullopt;
  return "must be HOST:PORT, the port from 0 to 65535 and an IPv6 host in brackets ([::1]:8080)";
}

std::optional<std::string> check_log_level(std::string_view value) {
  if (value == "error" || value == "warn" || value == "info" || value == "debug")
    return std::nullopt;
  return "must be error, warn, info or debug";
}

std::optional<std::string> check_http_url(std::string_view value) {
  for (std::string_view scheme : {"http://", "https://"})
    if (value.starts_with(scheme) && value.size() > scheme.size()) return std::nullopt;
  return "must be an http:// or https:// URL";
}

// What browsers send in Origin: scheme://host[:port], lower case, nothing after.
std::optional<std::string> check_origin(std::string_view value) {
  if (value.find('*') != std::string_view::npos)
    return "takes exact origins only: * (any origin) is refused; name each origin, e.g. https://app.example.com";
  const std::string rule =
      "must be an exact origin scheme://host[:port]: scheme http or https, lower case, no path and no trailing "
      "slash, e.g. https://app.example.com";
  std::string_view rest;
  if (value.starts_with("http://")) {
    rest = value.substr(7);
  } else if (value.starts_with("https://")) {
    rest = value.substr(8);
  } else {
    return rule;
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 2) return rule;
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return rule;
    if (!after.empty()) port = after.substr(1);
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
        }))
      return rule;
  } else {
    if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return rule;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        }))
      return rule;
  }
  if (!port.empty()) {
    auto number = parse_unsigned(port);
    if (!number || *number < 1 || *number > 65535) return rule;
  }
  return std::nullopt;
}

// ---- The table ----------------------------------------------------------------------------

// Where `make web` writes the demo app in the checkout this binary was built from, so
// `make run` needs no flag; an installed server is given --demo-dir.
std::string built_demo_dir() { return AVSYNC_DEMO_DIR; }

// Limits that the server's options structs do not already carry a default for.
constexpr std::uint64_t kLogRetentionDays = 90;
constexpr std::uint64_t kJwtLeewaySeconds = 60;

using Ctx = DefaultContext;

const SettingSpec kServeSettings[] = {
    {.name = "config",
     .kind = ValueKind::text,
     .value_name = "FILE",
     .help =
         "TOML file of settings: keys are these flags without their dashes (docs/configuration.md)",
     .field = &ServeSettings::config_file,
     .allowed_in_file = false},
    {.name = "listen",
     .kind = ValueKind::address,
     .value_name = "HOST:PORT",
     .help =
         "address to listen on; an IPv6 host in brackets ([::1]:8080); port 0 picks a free port",
     .field = &ServeSettings::listen,
     .default_rule = "127.0.0.1:8080",
     .check = check_listen},
    {.name = "db",
     .kind = ValueKind::text,
     .value_name = "URL",
     .help = "the database: sqlite:PATH or postgresql://...",
     .field = &ServeSettings::db,
     .default_rule = "sqlite:avsync.db"},
    {.name = "threads",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "I/O threads: accepting, reading and writing connections",
     .field = &ServeSettings::threads,
     .min = 1,
     .max = 256,
     .default_rule = "max(2, cores)",
     .integer_default = [](const Ctx& c) { return std::max<std::uint64_t>(2, c.cores); }},
    {.name = "workers",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "threads running store calls and encoding answers",
     .field = &ServeSettings::workers,
     .min = 1,
     .max = 1000,
     .default_rule = "max(4, 2 × cores)",
     .integer_default = [](const Ctx& c) { return std::max<std::uint64_t>(4, 2 * c.cores); }},
    {.name = "db-pool",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "database connections (the PostgreSQL pool; SQLite's readers)",
     .field = &ServeSettings::db_pool,
     .min = 1,
     .max = 1000,
     .default_rule = "workers + 1 (one per worker, one for /healthz)",
     .integer_default = [](const Ctx& c) { return c.resolved.workers + 1; }},
    {.name = "batch-limit",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "operations one POST /sync/batch may carry (docs/protocol.md §3)",
     .field = &ServeSettings::batch_limit,
     .min = 1,
     .max = 100'000,
     .integer_default = [](const Ctx&) -> std::uint64_t { return BatchLimits{}.max_operations; }},
    {.name = "body-limit",
     .kind = ValueKind::integer,
     .value_name = "BYTES",
     .help = "largest request body, chunked bodies included",
     .field = &ServeSettings::body_limit,
     .min = 1024,
     .max = 1ull << 30,
     .integer_default = [](const Ctx&) -> std::uint64_t { return HttpServerOptions{}.body_limit; }},
    {.name = "header-timeout",
     .kind = ValueKind::integer,
     .value_name = "SECONDS",
     .help = "time for a request's first byte, then for its whole head",
     .field = &ServeSettings::header_timeout,
     .min = 1,
     .max = 3600,
     .integer_default = [](const Ctx&) -> std::uint64_t {
       return HttpServerOptions{}.header_timeout.count();
     }},
    {.name = "read-timeout",
     .kind = ValueKind::integer,
     .value_name = "SECONDS",
     .help = "time for a request's body once its head is in",
     .field = &ServeSettings::read_timeout,
     .min = 1,
     .max = 3600,
     .integer_default = [](const Ctx&) -> std::uint64_t {
       return HttpServerOptions{}.read_timeout.count();
     }},
    {.name = "max-connections",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "open connections, all client addresses together",
     .field = &ServeSettings::max_connections,
     .min = 1,
     .max = 1'000'000,
     .integer_default = [](const Ctx&) -> std::uint64_t {
       return ConnectionLimits{}.max_connections;
     }},
    {.name = "max-connections-per-address",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "open connections from one client address",
     .field = &ServeSettings::max_connections_per_address,
     .min = 1,
     .max = 1'000'000,
     .integer_default = [](const Ctx&) -> std::uint64_t {
       return ConnectionLimits{}.max_connections_per_address;
     }},
    {.name = "tenant-concurrency",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "requests of one tenant running at once",
     .field = &ServeSettings::tenant_concurrency,
     .min = 1,
     .max = 100'000,
     .default_rule = "max(1, workers / 2)",
     .integer_default =
         [](const Ctx& c) { return std::max<std::uint64_t>(1, c.resolved.workers / 2); }},
    {.name = "tenant-queue",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "requests of one tenant waiting behind those; more are answered 429",
     .field = &ServeSettings::tenant_queue,
     .min = 1,
     .max = 100'000,
     .integer_default = [](const Ctx&) -> std::uint64_t { return TenantLimits{}.max_waiting; }},
    // 0 turns a rate limit off. A rate that is given without its burst gets twice the rate.
    {.name = "rate-limit",
     .kind = ValueKind::integer,
     .value_name = "PER_SECOND",
     .help = "requests per second of one token; 0 turns the limit off",
     .field = &ServeSettings::rate_limit,
     .min = 0,
     .max = 1'000'000,
     .integer_default =
         [](const Ctx&) {
           return static_cast<std::uint64_t>(ThrottleOptions{}.requests.per_second);
         }},
    {.name = "rate-burst",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "requests one token may send at once above its rate (at least 1 while limited)",
     .field = &ServeSettings::rate_burst,
     .min = 0,
     .max = 1'000'000,
     .default_rule = "2 × rate-limit when rate-limit is given, else 200",
     .integer_default =
         [](const Ctx& c) {
           return c.is_given("rate-limit")
                      ? 2 * c.resolved.rate_limit
                      : static_cast<std::uint64_t>(ThrottleOptions{}.requests.burst);
         }},
    {.name = "op-rate-limit",
     .kind = ValueKind::integer,
     .value_name = "PER_SECOND",
     .help = "operations per second of one token, counted in batches; 0 turns the limit off",
     .field = &ServeSettings::op_rate_limit,
     .min = 0,
     .max = 1'000'000,
     .integer_default =
         [](const Ctx&) {
           return static_cast<std::uint64_t>(ThrottleOptions{}.operations.per_second);
         }},
    {.name = "op-rate-burst",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "operations one token may send at once above its rate (at least 1 while limited)",
     .field = &ServeSettings::op_rate_burst,
     .min = 0,
     .max = 1'000'000,
     .default_rule = "2 × op-rate-limit when op-rate-limit is given, else 2000",
     .integer_default =
         [](const Ctx& c) {
           return c.is_given("op-rate-limit")
                      ? 2 * c.resolved.op_rate_limit
                      : static_cast<std::uint64_t>(ThrottleOptions{}.operations.burst);
         }},
    {.name = "auth-failure-limit",
     .kind = ValueKind::integer,
     .value_name = "PER_SECOND",
     .help = "failed authentications per second of one client address; 0 turns the limit off",
     .field = &ServeSettings::auth_failure_limit,
     .min = 0,
     .max = 1'000'000,
     .integer_default =
         [](const Ctx&) {
           return static_cast<std::uint64_t>(ThrottleOptions{}.failed_auth.per_second);
         }},
    {.name = "auth-failure-burst",
     .kind = ValueKind::integer,
     .value_name = "N",
     .help = "failed authentications one address may have at once above its rate (at least 1 while "
             "limited)",
     .field = &ServeSettings::auth_failure_burst,
     .min = 0,
     .max = 1'000'000,
     .default_rule = "2 × auth-failure-limit when auth-failure-limit is given, else 50",
     .integer_default =
         [](const Ctx& c) {
           return c.is_given("auth-failure-limit")
                      ? 2 * c.resolved.auth_failure_limit
                      : static_cast<std::uint64_t>(ThrottleOptions{}.failed_auth.burst);
         }},
    {.name = "log-retention-days",
     .kind = ValueKind::integer,
     .value_name = "DAYS",
     .help = "days the operation log keeps processed operations; 0 keeps it forever",
     .field = &ServeSettings::log_retention,
     .min = 0,
     .max = 36'500,
     .integer_default = [](const Ctx&) { return kLogRetentionDays; }},
    {.name = "jwks-file",
     .kind = ValueKind::text,
     .value_name = "PATH",
     .help = "JSON Web Key Set file: the public keys of accepted JWTs",
     .field = &ServeSettings::jwks_file},
    {.name = "jwks-url",
     .kind = ValueKind::text,
     .value_name = "URL",
     .help = "http:// or https:// URL of the JSON Web Key Set of accepted JWTs",
     .field = &ServeSettings::jwks_url,
     .check = check_http_url},
    {.name = "jwt-secret-file",
     .kind = ValueKind::text,
     .value_name = "PATH",
     .help = "file holding the shared secret of accepted HMAC-signed JWTs",
     .field = &ServeSettings::jwt_secret_file},
    {.name = "jwt-issuer",
     .kind = ValueKind::text,
     .value_name = "STRING",
     .help = "the issuer (iss) an accepted JWT must carry",
     .field = &ServeSettings::jwt_issuer},
    {.name = "jwt-audience",
     .kind = ValueKind::text,
     .value_name = "STRING",
     .help = "an audience (aud) an accepted JWT must carry",
     .field = &ServeSettings::jwt_audience},
    {.name = "jwt-business-claim",
     .kind = ValueKind::text,
     .value_name = "NAME",
     .help = "the JWT claim holding the business (tenant) id",
     .field = &ServeSettings::jwt_business_claim,
     .default_rule = "businessId"},
    {.name = "jwt-user-claim",
     .kind = ValueKind::text,
     .value_name = "NAME",
     .help = "the JWT claim holding the user id",
     .field = &ServeSettings::jwt_user_claim,
     .default_rule = "sub"},
    {.name = "jwt-leeway",
     .kind = ValueKind::integer,
     .value_name = "SECONDS",
     .help = "clock skew allowed when checking a JWT's exp and nbf",
     .field = &ServeSettings::jwt_leeway,
     .min = 0,
     .max = 3600,
     .integer_default = [](const Ctx&) { return kJwtLeewaySeconds; }},
    {.name = "admin-token-file",
     .kind = ValueKind::text,
     .value_name = "PATH",
     .help = "file holding the bearer token of the admin API",
     .field = &ServeSettings::admin_token_file},
    {.name = "cors-origin",
     .kind = ValueKind::text_list,
     .value_name = "ORIGIN",
     .help =
         "a browser origin allowed to call the API, exactly scheme://host[:port]; repeat for more",
     .field = &ServeSettings::cors_origins,
     .check = check_origin},
    {.name = "demo",
     .kind = ValueKind::boolean,
     .help = "serve the web demo app at /demo/ (its files need no token; the page takes one from "
             "its URL)",
     .field = &ServeSettings::demo},
    {.name = "demo-dir",
     .kind = ValueKind::text,
     .value_name = "DIR",
     .help = "the demo app's built files, index.html at the top, read at start (with --demo)",
     .field = &ServeSettings::demo_dir,
     .default_rule = "dist/demo under clients/web of the source tree it was built from",
     .text_default = built_demo_dir},
    {.name = "metrics-listen",
     .kind = ValueKind::text,
     .value_name = "HOST:PORT",
     .help = "serve GET /metrics without credential on this address only (bind it to a private "
             "interface); "
             "unset: /metrics is an admin route of --listen",
     .field = &ServeSettings::metrics_listen,
     .check = check_listen},
    {.name = "log-level",
     .kind = ValueKind::text,
     .value_name = "LEVEL",
     .help = "error, warn, info or debug: error logs 5xx answers and failures only, warn adds 4xx "
             "answers "
             "but 401 and 404, info every request",
     .field = &ServeSettings::log_level,
     .default_rule = "info",
     .check = check_log_level},
};

// The (rate, burst) pairs: a rate above 0 needs a burst of at least 1.
constexpr std::pair<std::string_view, std::string_view> kRateBursts[] = {
    {"rate-limit", "rate-burst"}, {"op-rate-limit", "op-rate-burst"}, {"auth-failure-limit", "auth-failure-burst"}};

// ---- Resolution --------------------------------------------------------------------------

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// One setting's value before it is checked, and where it came from.
struct RawValue {
  std::variant<std::string, std::int64_t, std::vector<std::string>, bool> value;
  std::string subject;  // how an error names it: "--workers", "AVSYNC_WORKERS", "a.toml:3: workers"
  std::string origin;   // for --print-config: "--workers", "AVSYNC_WORKERS", "a.toml:3"
};

std::optional<std::string> variable(const Environment& env, const std::string& name) {
  if (!env.variable) return std::nullopt;
  auto value = env.variable(name);
  if (!value || value->empty()) return std::nullopt;  // empty counts as unset
  return value;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (true) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    text.remove_prefix(comma + 1);
  }
}

TomlType toml_type(ValueKind kind) {
  switch (kind) {
    case ValueKind::integer: return TomlType::integer;
    case ValueKind::text_list: return TomlType::string_array;
    case ValueKind::boolean: return TomlType::boolean;
    case ValueKind::text:
    case ValueKind::address: return TomlType::string;
  }
  return TomlType::string;
}

std::optional<RawValue> given_value(const SettingSpec& spec, const CommandLine& command, const Environment& env,
                                    const ConfigFile* file) {
  if (spec.kind == ValueKind::text_list) {
    if (auto values = command.flag_values(spec.flag()); !values.empty())
      return RawValue{std::move(values), spec.flag(), spec.flag()};
  } else if (spec.kind == ValueKind::boolean) {
    if (command.has_switch(spec.flag())) return RawValue{true, spec.flag(), spec.flag()};
  } else if (auto value = command.flag(spec.flag())) {
    return RawValue{*value, spec.flag(), spec.flag()};
  }
  const std::string name = spec.environment_variable();
  if (auto value = variable(env, name)) {
    if (spec.kind == ValueKind::text_list) return RawValue{split_list(*value), name, name};
    return RawValue{*value, name, name};
  }
  if (!file) return std::nullopt;
  auto it = file->values.find(spec.name);
  if (it == file->values.end()) return std::nullopt;
  const std::string where = file->path + ":" + std::to_string(it->second.line);
  RawValue raw{{}, where + ": " + std::string(spec.name), where};
  std::visit([&](const auto& v) { raw.value = v; }, it->second.value);
  return raw;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Checks `raw` against `spec` and stores it in `out`.
Status apply(const SettingSpec& spec, const RawValue& raw, ServeSettings& out) {
  if (spec.kind == ValueKind::integer) {
    std::optional<std::uint64_t> number;
    std::string shown;
    if (const auto* text = std::get_if<std::string>(&raw.value)) {
      number = parse_unsigned(*text);
      shown = quoted(*text);
    } else if (const auto* integer = std::get_if<std::int64_t>(&raw.value)) {
      if (*integer >= 0) number = static_cast<std::uint64_t>(*integer);
      shown = std::to_string(*integer);
    }
    if (!number || *number < spec.min || *number > spec.max)
      return usage_error(raw.subject + " must be an integer from " + std::to_string(spec.min) + " to " +
                         std::to_string(spec.max) + " (got " + shown + ")");
    std::visit(Overloaded{[&](std::uint64_t ServeSettings::*m) { out.*m = *number; },
                          [&](std::chrono::seconds ServeSettings::*m) { out.*m = std::chrono::seconds(*number); },
                          [&](std::chrono::days ServeSettings::*m) { out.*m = std::chrono::days(*number); },
                          [](auto) {}},
               spec.field);
    return Ok{};
  }

  if (spec.kind == ValueKind::boolean) {
    std::optional<bool> on;
    if (const auto* flag = std::get_if<bool>(&raw.value)) {
      on = *flag;
    } else if (const auto* text = std::get_if<std::string>(&raw.value)) {
      if (*text == "true" || *text == "1") on = true;
      if (*text == "false" || *text == "0") on = false;
      if (!on)
        return usage_error(raw.subject + " must be true, false, 1 or 0 (got " + quoted(*text) +
                           ")");
    }
    out.*std::get<bool ServeSettings::*>(spec.field) = on.value_or(false);
    return Ok{};
  }

  auto check_text = [&](const std::string& text) -> Status {
    if (text.empty()) return usage_error(raw.subject + " must not be empty");
    if (spec.check)
      if (auto problem = spec.check(text)) return usage_error(raw.subject + " " + *problem + " (got " + quoted(text) + ")");
    return Ok{};
  };
  if (spec.kind == ValueKind::text_list) {
    const auto& items = std::get<std::vector<std::string>>(raw.value);
    for (const std::string& item : items)
      if (auto checked = check_text(item); !checked) return checked;
    out.*std::get<std::vector<std::string> ServeSettings::*>(spec.field) = items;
    return Ok{};
  }
  const auto& text = std::get<std::string>(raw.value);
  if (auto checked = check_text(text); !checked) return checked;
  std::visit(Overloaded{[&](std::string ServeSettings::*m) { out.*m = text; },
                        [&](std::optional<std::string> ServeSettings::*m) { out.*m = text; },
                        [&](ListenAddress ServeSettings::*m) { out.*m = *parse_listen(text); },
                        [](auto) {}},
             spec.field);
  return Ok{};
}

void apply_default(const SettingSpec& spec, const DefaultContext& context, ServeSettings& out) {
  if (spec.kind == ValueKind::integer) {
    const std::uint64_t number = spec.integer_default(context);
    std::visit(Overloaded{[&](std::uint64_t ServeSettings::*m) { out.*m = number; },
                          [&](std::chrono::seconds ServeSettings::*m) { out.*m = std::chrono::seconds(number); },
                          [&](std::chrono::days ServeSettings::*m) { out.*m = std::chrono::days(number); },
                          [](auto) {}},
               spec.field);
    return;
  }
  if (spec.kind == ValueKind::boolean) {
    out.*std::get<bool ServeSettings::*>(spec.field) = false;
    return;
  }
  const std::string text = spec.text_default ? spec.text_default() : std::string(spec.default_rule);
  std::visit(Overloaded{[&](std::string ServeSettings::*m) { out.*m = text; },
                        [&](std::optional<std::string> ServeSettings::*m) {
                          out.*m = text.empty() ? std::nullopt : std::optional<std::string>(text);
                        },
                        [&](std::vector<std::string> ServeSettings::*m) { (out.*m).clear(); },
                        [&](ListenAddress ServeSettings::*m) { out.*m = *parse_listen(text); },
                        [](auto) {}},
             spec.field);
}

// Resolves the settings `wanted` picks (the config file is read whenever it is named, and
// every key in it is checked against the whole table).
Result<ResolvedSettings> resolve(const CommandLine& command, const Environment& env,
                                 const std::function<bool(const SettingSpec&)>& wanted) {
  const SettingSpec& config_spec = *find_setting("config");
  std::optional<ConfigFile> file;
  std::optional<std::string> path = command.flag(config_spec.flag());
  if (!path) path = variable(env, config_spec.environment_variable());
  if (path) {
    if (path->empty()) return usage_error(config_spec.flag() + " must not be empty");
    auto read = read_config_file(*path, [](std::string_view key) -> std::optional<TomlType> {
      const SettingSpec* spec = find_setting(key);
      if (!spec) return std::nullopt;
      return toml_type(spec->kind);
    });
    if (!read) return std::move(read).error();
    file = std::move(*read);
    for (const auto& [key, value] : file->values)
      if (!find_setting(key)->allowed_in_file)
        return usage_error(file->path + ":" + std::to_string(value.line) + ": " + key +
                           " cannot be set in a config file (use --" + key + " or " +
                           find_setting(key)->environment_variable() + ")");
  }

  ResolvedSettings out;
  std::map<std::string_view, bool> given;
  const DefaultContext context{out.settings, env.cores, [&](std::string_view name) { return given[name]; }};
  for (const SettingSpec& spec : kServeSettings) {
    if (!wanted(spec)) continue;
    auto raw = given_value(spec, command, env, file ? &*file : nullptr);
    given[spec.name] = raw.has_value();
    if (!raw) {
      apply_default(spec, context, out.settings);
      out.origins.emplace(std::string(spec.name), "default");
      continue;
    }
    if (auto applied = apply(spec, *raw, out.settings); !applied) return std::move(applied).error();
    out.origins.emplace(std::string(spec.name), raw->origin);
  }
  return out;
}

// ---- Printing ----------------------------------------------------------------------------

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The URL with its password replaced: postgresql://user:secret@host/db and password=secret
// in a query or a key=value connection string.
std::string without_password(std::string url) {
  if (const std::size_t scheme = url.find("://"); scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t at = url.find('@', start);
    const std::size_t slash = url.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const std::size_t colon = url.find(':', start);
      if (colon != std::string::npos && colon < at) url.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t key = url.find("password="); key != std::string::npos; key = url.find("password=", key + 1)) {
    const std::size_t value = key + 9;
    const std::size_t end = url.find_first_of("& ", value);
    url.replace(value, (end == std::string::npos ? url.size() : end) - value, "***");
  }
  return url;
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  return parse_listen(text);
}

std::string ListenAddress::to_string() const {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

Environment Environment::of_process() {
  return Environment{[](const std::string& name) -> std::optional<std::string> {
                       if (const char* value = std::getenv(name.c_str())) return std::string(value);
                       return std::nullopt;
                     },
                     std::max<std::uint64_t>(1, std::thread::hardware_concurrency())};
}

std::string SettingSpec::flag() const { return "--" + std::string(name); }

std::string SettingSpec::environment_variable() const {
  std::string out = "AVSYNC_";
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::span<const SettingSpec> serve_settings_table() { return kServeSettings; }

const SettingSpec* find_setting(std::string_view name) {
  for (const SettingSpec& spec : kServeSettings)
    if (spec.name == name) return &spec;
  return nullptr;
}

std::string describe_default(const SettingSpec& spec, std::optional<std::uint64_t> cores) {
  if (spec.kind == ValueKind::boolean) return "off";
  if (spec.kind != ValueKind::integer) {
    if (spec.text_default && cores)
      return std::string(spec.default_rule) + " (" + spec.text_default() + ")";
    if (!spec.default_rule.empty()) return std::string(spec.default_rule);
    return spec.kind == ValueKind::text_list ? "none" : "not set";
  }
  // The value with nothing given, on a machine of `cores` cores (derived defaults only
  // look at settings before them, which are at their defaults too).
  auto value_here = [&](std::uint64_t core_count) {
    ServeSettings defaults;
    const DefaultContext context{defaults, core_count, [](std::string_view) { return false; }};
    for (const SettingSpec& s : kServeSettings) {
      if (&s == &spec) return s.integer_default(context);
      apply_default(s, context, defaults);
    }
    return std::uint64_t{0};
  };
  if (spec.default_rule.empty()) return std::to_string(value_here(1));
  if (!cores) return std::string(spec.default_rule);
  return std::string(spec.default_rule) + " = " + std::to_string(value_here(*cores)) + " here";
}

std::string describe_values(const SettingSpec& spec) {
  switch (spec.kind) {
    case ValueKind::integer: return std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case ValueKind::address: return "HOST:PORT";
    case ValueKind::text_list: return "repeatable";
    case ValueKind::text: return "text";
    case ValueKind::boolean: return "switch";
  }
  return "";
}

Result<ResolvedSettings> resolve_serve_settings(const CommandLine& command, const Environment& environment) {
  auto resolved = resolve(command, environment, [](const SettingSpec&) { return true; });
  if (!resolved) return resolved;
  const ServeSettings& s = resolved->settings;
  for (const auto& [rate_name, burst_name] : kRateBursts) {
    const SettingSpec& rate = *find_setting(rate_name);
    const SettingSpec& burst = *find_setting(burst_name);
    const std::uint64_t rate_value = s.*std::get<std::uint64_t ServeSettings::*>(rate.field);
    const std::uint64_t burst_value = s.*std::get<std::uint64_t ServeSettings::*>(burst.field);
    if (rate_value > 0 && burst_value < 1) {
      const std::string& origin = resolved->origins.find(burst.name)->second;
      const std::string subject = origin.starts_with("--") || origin.starts_with("AVSYNC_")
                                      ? origin
                                      : origin + ": " + std::string(burst.name);
      return usage_error(subject + " must be at least 1 while " + std::string(rate.name) +
                         " is above 0 (a rate of 0 turns the limit off)");
    }
  }
  // A key set may sign tokens for other apps too (one OIDC provider, many clients; a
  // shared cloud key set): only iss and aud tell this server's tokens apart.
  if ((s.jwks_file || s.jwks_url) && (!s.jwt_issuer || !s.jwt_audience))
    return usage_error("--jwks-file and --jwks-url need --jwt-issuer and --jwt-audience: a key set can sign "
                       "tokens for other apps, and only iss and aud tell this server's apart");
  return resolved;
}

Result<std::string> resolve_database_url(const CommandLine& command, const Environment& environment) {
  auto resolved = resolve(command, environment, [](const SettingSpec& spec) { return spec.name == "db"; });
  if (!resolved) return std::move(resolved).error();
  return resolved->settings.db;
}

std::string to_toml(const ResolvedSettings& resolved) {
  const ServeSettings& s = resolved.settings;
  std::string out =
      "# avsync-server serve settings as resolved (flag, else environment, else this file, else default).\n"
      "# Each line's comment says where its value came from.\n";
  if (s.config_file) out += "# read from " + *s.config_file + "\n";
  for (const SettingSpec& spec : kServeSettings) {
    if (!spec.allowed_in_file) continue;
    auto origin = resolved.origins.find(spec.name);
    const std::string comment = "  # " + (origin == resolved.origins.end() ? "default" : origin->second) + "\n";
    const std::string key(spec.name);
    std::visit(Overloaded{[&](std::uint64_t ServeSettings::*m) { out += key + " = " + std::to_string(s.*m) + comment; },
                          [&](std::chrono::seconds ServeSettings::*m) {
                            out += key + " = " + std::to_string((s.*m).count()) + comment;
                          },
                          [&](std::chrono::days ServeSettings::*m) {
                            out += key + " = " + std::to_string((s.*m).count()) + comment;
                          },
                          [&](std::string ServeSettings::*m) {
                            out += key + " = " + toml_string(key == "db" ? without_password(s.*m) : s.*m) + comment;
                          },
                          [&](std::optional<std::string> ServeSettings::*m) {
                            if (s.*m) {
                              out += key + " = " + toml_string(*(s.*m)) + comment;
                            } else {
                              out += "# " + key + " = \"\"  # not set\n";
                            }
                          },
                          [&](std::vector<std::string> ServeSettings::*m) {
                            if ((s.*m).empty()) {
                              out += "# " + key + " = []  # none\n";
                              return;
                            }
                            out += key + " = [";
                            for (std::size_t i = 0; i < (s.*m).size(); ++i)
                              out += (i ? ", " : "") + toml_string((s.*m)[i]);
                            out += "]" + comment;
                          },
                          [&](ListenAddress ServeSettings::*m) {
                            out += key + " = " + toml_string((s.*m).to_string()) + comment;
                          },
                          [&](bool ServeSettings::*m) {
                            out += key + " = " + (s.*m ? "true" : "false") + comment;
                          }},
               spec.field);
  }
  return out;
}

std::string serve_settings_markdown() {
  std::string out =
      "| Flag | TOML key | Environment | Default | Values | Meaning |\n"
      "|------|----------|-------------|---------|--------|---------|\n";
  for (const SettingSpec& spec : kServeSettings) {
    const std::string value_name = spec.value_name.empty() ? "" : " " + std::string(spec.value_name);
    out += "| `" + spec.flag() + value_name + "` | " +
           (spec.allowed_in_file ? "`" + std::string(spec.name) + "`" : "(not in a file)") + " | `" +
           spec.environment_variable() + "` | " + describe_default(spec, std::nullopt) + " | " +
           describe_values(spec) + " | " + std::string(spec.help) + " |\n";
  }
  return out;
}

}  // namespace avsync::server

#pragma once
// What `avsync-server serve` runs with, and where each value comes from.
//
// Every setting is one row of a table (serve_settings_table): its name, the kind of value
// it takes, its bounds, its built-in default and a line of help. The same name is the flag
// (--workers), the TOML key of the --config file (workers = 8) and, upper-cased with dashes
// turned to underscores, the environment variable (AVSYNC_WORKERS). A value is taken from,
// in this order: the command line, the environment, the config file, the built-in
// default. An empty environment variable counts as unset. The help, the docs'
// table (docs/configuration.md) and --print-config are generated from the table.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace avsync::server {

struct CommandLine;

// An address to listen on, as --listen writes it: HOST:PORT, an IPv6 host in brackets.
struct ListenAddress {
  std::string host;        // without the brackets of an IPv6 literal
  std::uint16_t port = 0;  // 0 picks a free port
  // HOST:PORT again, with brackets around a host that holds a colon.
  std::string to_string() const;
  bool operator==(const ListenAddress&) const = default;
};

// HOST:PORT as --listen takes it; nullopt when it is not one.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// The settings of `serve`, each typed and checked against its rule in the table. Built by
// resolve_serve_settings; a default-constructed one holds no defaults.
struct ServeSettings {
  std::optional<std::string> config_file;  // the TOML file values were read from, if any
  ListenAddress listen;
  std::string db;  // sqlite:PATH or postgresql://...

  std::uint64_t threads = 0;  // I/O threads
  std::uint64_t workers = 0;  // threads running store calls and encoding answers
  std::uint64_t db_pool = 0;  // database connections
  std::uint64_t batch_limit = 0;  // operations per batch
  std::uint64_t body_limit = 0;   // bytes
  std::chrono::seconds header_timeout{0};
  std::chrono::seconds read_timeout{0};
  std::uint64_t max_connections = 0;
  std::uint64_t max_connections_per_address = 0;
  std::uint64_t tenant_concurrency = 0;
  std::uint64_t tenant_queue = 0;

  // Per second, with the burst a bucket holds; a rate of 0 turns that limit off.
  std::uint64_t rate_limit = 0;  // requests per token
  std::uint64_t rate_burst = 0;
  std::uint64_t op_rate_limit = 0;  // operations per token
  std::uint64_t op_rate_burst = 0;
  std::uint64_t auth_failure_limit = 0;  // failed authentications per client address
  std::uint64_t auth_failure_burst = 0;

  std::chrono::days log_retention{0};  // 0 keeps the operation log forever

  // JWT authentication, the admin API and CORS: checked here, put to use by serve().
  std::optional<std::string> jwks_file;
  std::optional<std::string> jwks_url;  // http:// or https://
  std::optional<std::string> jwt_secret_file;
  std::optional<std::string> jwt_issuer;
  std::optional<std::string> jwt_audience;
  std::string jwt_business_claim;
  std::string jwt_user_claim;
  std::chrono::seconds jwt_leeway{0};

  std::optional<std::string> admin_token_file;
  // Exact browser origins, scheme://host[:port] with scheme http or https; never "*".
  std::vector<std::string> cors_origins;

  // The web demo app at /demo/: its files are read from demo_dir at start (static_files.hpp).
  bool demo = false;
  std::string demo_dir;

  // GET /metrics on a listener of its own (HOST:PORT, checked like listen), without
  // credential; unset: on the main listener, as an admin route.
  std::optional<std::string> metrics_listen;
  std::string log_level;  // error, warn, info or debug (request_log.hpp)

  bool operator==(const ServeSettings&) const = default;
};

// What settings are read from besides the command line: environment variables and the
// number of cores (some defaults depend on it). Tests pass their own.
struct Environment {
  // The variable's value, nullopt when unset.
  std::function<std::optional<std::string>(const std::string& name)> variable;
  std::uint64_t cores = 1;

  // The process's environment (getenv) and std::thread::hardware_concurrency (at least 1).
  static Environment of_process();
};

enum class ValueKind {
  integer,    // a whole number within [min, max]; a TOML integer
  text,       // a non-empty string; a TOML string
  text_list,  // repeatable flag, comma-separated in the environment, a TOML array of strings
  address,    // HOST:PORT; a TOML string
  boolean,    // a switch: the flag takes no value; true/false or 1/0 in the environment; a TOML
              // boolean
};

// A setting's place in ServeSettings. Integers land in the first three alternatives.
using SettingField =
    std::variant<std::uint64_t ServeSettings::*, std::chrono::seconds ServeSettings::*,
                 std::chrono::days ServeSettings::*, std::string ServeSettings::*,
                 std::optional<std::string> ServeSettings::*,
                 std::vector<std::string> ServeSettings::*, ListenAddress ServeSettings::*,
                 bool ServeSettings::*>;

// What a derived default may depend on: the settings before it in the table, the cores,
// and whether a setting was given (by a flag, the environment or the file).
struct DefaultContext {
  const ServeSettings& resolved;
  std::uint64_t cores;
  std::function<bool(std::string_view name)> is_given;
};

struct SettingSpec {
  std::string_view name;        // the flag without its dashes, and the TOML key
  ValueKind kind;
  std::string_view value_name;  // in help: N, SECONDS, URL; empty for a switch
  std::string_view help;        // one line
  SettingField field;
  std::uint64_t min = 0;  // integer: the bounds, inclusive
  std::uint64_t max = 0;
  // The built-in default. Text: the default value itself (empty: unset), unless
  // `text_default` gives it, when this says where it comes from. Integer: empty when
  // `integer_default` is a constant, else the rule it computes ("max(4, 2 × cores)"). A
  // switch is off by default.
  std::string_view default_rule;
  std::uint64_t (*integer_default)(const DefaultContext&) = nullptr;
  // Text: the default value, when it is fixed at build time rather than written in the
  // table (a path in the source tree), so the docs show `default_rule` instead.
  std::string (*text_default)() = nullptr;
  // Text: nullopt when `value` is acceptable, else what is wrong, worded to follow the
  // setting's name ("must be an http:// or https:// URL"), for the usage error.
  std::optional<std::string> (*check)(std::string_view value) = nullptr;
  bool allowed_in_file = true;  // false only for `config` itself

  std::string flag() const;                  // "--workers"
  std::string environment_variable() const;  // "AVSYNC_WORKERS"
};

// Every setting of `serve`, in the order they are resolved and shown.
std::span<const SettingSpec> serve_settings_table();
// The row named `name` ("workers", no dashes); nullptr when there is none.
const SettingSpec* find_setting(std::string_view name);

// The built-in default as help shows it: "127.0.0.1:8080", "not set", "off", "90", or a
// derived rule. With `cores`, a derived rule is followed by its value on this machine
// ("max(4, 2 × cores) = 4 here", or a build-time path in parentheses); without, it is the
// rule alone (for the docs).
std::string describe_default(const SettingSpec& spec, std::optional<std::uint64_t> cores);
// The values a setting takes, as help and the docs say it: "1 to 1000", "HOST:PORT",
// "repeatable", "switch".
std::string describe_values(const SettingSpec& spec);

struct ResolvedSettings {
  ServeSettings settings;
  // Where each value came from, by setting name: "--workers", "AVSYNC_WORKERS",
  // "/etc/avsync.toml:3" or "default".
  std::map<std::string, std::string, std::less<>> origins;
};

// Resolves every setting of the table: command line, else environment, else the config
// file (--config, else AVSYNC_CONFIG), else the built-in default. A repeatable setting
// takes all its flags, or else the environment's list, or else the file's: sources are not
// merged. bad_request, with a message naming the flag, variable or file line, when a value
// breaks its rule, when a rate is above 0 with a burst of 0, or when the config file is
// missing, unreadable, malformed, has an unknown key or a value of the wrong TOML type.
// Flags that are not settings are the caller's business. Does not touch the database.
Result<ResolvedSettings> resolve_serve_settings(const CommandLine& command, const Environment& environment);

// The database URL of the admin commands and migrate: --db, else AVSYNC_DB, else `db` of
// the config file (--config, else AVSYNC_CONFIG), else sqlite:avsync.db. Errors as above,
// for `db` and the config file.
Result<std::string> resolve_database_url(const CommandLine& command, const Environment& environment);

// The resolved settings as a TOML config file, one key a line in table order, each with
// its origin in a comment; unset settings are commented out and a database password is
// shown as ***. Fed back through --config, it gives the same settings (but that password).
std::string to_toml(const ResolvedSettings& resolved);

// The settings table as a Markdown table (flag, TOML key, variable, default, meaning),
// machine-independent: docs/configuration.md holds a copy.
std::string serve_settings_markdown();

}  // namespace avsync::server

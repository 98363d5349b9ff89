#include "server/command_line.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <span>

#include "core/clock.hpp"
#include "core/schema_doc.hpp"
#include "server/auth.hpp"
#include "server/serve.hpp"
#include "server/settings.hpp"
#include "store/store.hpp"

namespace avsync::server {
namespace {

// Flags that take no value besides the switches of the settings table (--demo). -h is --help.
constexpr std::string_view kSwitches[] = {"--print-config", "--markdown", "--json"};

bool is_switch(std::string_view name) {
  if (std::find(std::begin(kSwitches), std::end(kSwitches), name) != std::end(kSwitches))
    return true;
  const SettingSpec* setting = name.starts_with("--") ? find_setting(name.substr(2)) : nullptr;
  return setting && setting->kind == ValueKind::boolean;
}

// A flag of one admin command (serve's and the database's are the settings table's).
struct CommandFlag {
  std::string_view name;  // without its dashes
  std::string_view value_name;
  std::string_view help;
  std::string_view default_text;  // empty: required
};

// A switch a command takes, e.g. --print-config.
struct CommandSwitch {
  std::string_view name;  // with its dashes
  std::string_view help;
  std::string_view details;  // may be empty
};

// Which rows of the settings table a command takes.
enum class SettingsUsed { all, database, none };

struct Command {
  std::string_view name;      // its words, space-separated: "admin create-token"
  std::string_view synopsis;  // after the name, in usage lines
  std::string_view summary;   // one line
  std::span<const CommandFlag> flags;
  SettingsUsed settings;
  std::span<const CommandSwitch> switches;
  // Runs it with its settings resolved (for SettingsUsed::database, only `db`; for
  // SettingsUsed::none, nothing).
  int (*run)(const CommandLine&, const ResolvedSettings&);
};

constexpr std::string_view kProgram = "avsync-server";

bool is_database_setting(const SettingSpec& spec) { return spec.name == "config" || spec.name == "db"; }

bool takes_setting(const Command& command, const SettingSpec& spec) {
  return command.settings == SettingsUsed::all ||
         (command.settings == SettingsUsed::database && is_database_setting(spec));
}

bool takes_switch(const Command& command, std::string_view name) {
  return std::any_of(command.switches.begin(), command.switches.end(),
                     [&](const CommandSwitch& s) { return s.name == name; });
}

// ---- Usage errors and help ------------------------------------------------------------

std::string command_usage(const Command& command) {
  return "usage: " + std::string(kProgram) + " " + std::string(command.name) + " " + std::string(command.synopsis) +
         "\n       (" + std::string(kProgram) + " help " + std::string(command.name) + " lists every flag)\n";
}

int usage(std::string_view problem, const Command* command = nullptr) {
  std::cerr << kProgram << ": " << problem << "\n";
  if (command) {
    std::cerr << command_usage(*command);
  } else {
    std::cerr << "usage: " << kProgram << " COMMAND [FLAGS]  (" << kProgram << " help lists the commands)\n";
  }
  return 2;
}

void print_flag(std::ostream& out, std::string_view flag, std::string_view value_name, std::string_view help,
                std::string_view details) {
  out << "  " << flag;
  if (!value_name.empty()) out << " " << value_name;
  out << "\n      " << help << "\n";
  if (!details.empty()) out << "      " << details << "\n";
}

void print_setting(std::ostream& out, const SettingSpec& spec, const Environment& env) {
  std::string details = "default: " + describe_default(spec, env.cores);
  if (spec.kind == ValueKind::integer) details += "; " + describe_values(spec);
  if (spec.kind == ValueKind::text_list) details += "; repeatable";
  details += "; env " + spec.environment_variable();
  if (spec.kind == ValueKind::text_list) details += " (comma-separated)";
  if (spec.kind == ValueKind::boolean) details += " (true or false, 1 or 0)";
  if (!spec.allowed_in_file) details += "; not a key of the file itself";
  print_flag(out, spec.flag(), spec.value_name, spec.help, details);
}

void print_command_help(std::ostream& out, const Command& command, const Environment& env) {
  out << "usage: " << kProgram << " " << command.name << " " << command.synopsis << "\n\n"
      << command.summary << "\n\nflags:\n";
  for (const CommandFlag& flag : command.flags) {
    const std::string details =
        flag.default_text.empty() ? "required" : "default: " + std::string(flag.default_text);
    print_flag(out, "--" + std::string(flag.name), flag.value_name, flag.help, details);
  }
  for (const SettingSpec& spec : serve_settings_table())
    if (takes_setting(command, spec)) print_setting(out, spec, env);
  for (const CommandSwitch& s : command.switches) print_flag(out, s.name, "", s.help, s.details);
  print_flag(out, "--help, -h", "", "print this help and exit", "");
  if (command.settings == SettingsUsed::none) return;
  out << "\nA setting comes from its flag, else its AVSYNC_ variable (empty counts as unset), else\n"
         "the --config file, else its default. See docs/configuration.md.\n";
}

// ---- The commands -----------------------------------------------------------------------

int run_migrate(const CommandLine& cmd, const ResolvedSettings& resolved) {
  store::open_store(resolved.settings.db)->migrate();
  std::cerr << "avsync-server: migrations applied\n";
  return 0;
}

int run_serve(const CommandLine& cmd, const ResolvedSettings& resolved) {
  if (cmd.has_switch("--print-config")) {
    std::cout << to_toml(resolved);
    return 0;
  }
  return serve(resolved.settings);
}

// A positive integer flag within [min, max]; nullopt when malformed.
std::optional<std::uint64_t> integer_flag(const CommandLine& cmd, std::string_view name, std::uint64_t fallback,
                                          std::uint64_t min, std::uint64_t max) {
  auto text = cmd.flag(name);
  if (!text) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) return std::nullopt;
  return value;
}

int run_create_business(const CommandLine& cmd, const ResolvedSettings& resolved);
int run_create_token(const CommandLine& cmd, const ResolvedSettings& resolved);
int run_revoke_token(const CommandLine& cmd, const ResolvedSettings& resolved);
int run_schema(const CommandLine& cmd, const ResolvedSettings&);

constexpr CommandFlag kCreateBusinessFlags[] = {{"name", "NAME", "the business's display name", ""}};
const std::string kTtlHelp = "hours until the token expires, 1 to " + std::to_string(kMaxTokenTtlHours);
const std::string kTtlDefault = std::to_string(kDefaultTokenTtlHours);
const CommandFlag kCreateTokenFlags[] = {
    {"business", "ID", "the business (tenant) the token acts for", ""},
    {"user", "NAME", "the user the token stands for", ""},
    {"ttl-hours", "N", kTtlHelp, kTtlDefault}};
constexpr CommandFlag kRevokeTokenFlags[] = {{"token", "TOKEN", "the token to revoke", ""}};
constexpr CommandSwitch kServeSwitches[] = {
    {"--print-config", "print the resolved settings as a TOML config file, each with where it came from, and exit",
     "a database password is shown as ***"}};
constexpr CommandSwitch kSchemaSwitches[] = {
    {"--json", "print the schema as one JSON object, for code generators", "docs/schema.md describes its shape"},
    {"--markdown", "print the schema as Markdown", "docs/schema.md is this output"}};

const Command kCommands[] = {
    {"serve", "[--listen HOST:PORT] [--config FILE] [--db URL] [FLAGS]",
     "Runs the sync server until SIGINT or SIGTERM, migrating the database first.", {}, SettingsUsed::all,
     kServeSwitches, run_serve},
    {"migrate", "[--config FILE] [--db URL]", "Applies the database migrations and exits.", {},
     SettingsUsed::database, {}, run_migrate},
    {"admin create-business", "--name NAME [--config FILE] [--db URL]",
     "Creates a business (tenant) and prints its id.", kCreateBusinessFlags, SettingsUsed::database, {},
     run_create_business},
    {"admin create-token", "--business ID --user NAME [--ttl-hours N] [--config FILE] [--db URL]",
     "Issues a device token for a user of a business and prints it (it is shown only once).", kCreateTokenFlags,
     SettingsUsed::database, {}, run_create_token},
    {"admin revoke-token", "--token TOKEN [--config FILE] [--db URL]", "Revokes a device token.",
     kRevokeTokenFlags, SettingsUsed::database, {}, run_revoke_token},
    {"schema", "[--json | --markdown]",
     "Prints the entity schema (docs/protocol.md §5) as text, JSON or Markdown; needs no database.", {},
     SettingsUsed::none, kSchemaSwitches, run_schema},
};

const Command& command_named(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return c;
  std::abort();  // only called with names of kCommands
}

int run_create_business(const CommandLine& cmd, const ResolvedSettings& resolved) {
  auto name = cmd.flag("--name");
  if (!name || name->empty()) return usage("create-business needs --name NAME", &command_named("admin create-business"));
  SystemClock clock;
  auto store = store::open_store(resolved.settings.db);
  store->migrate();
  std::string id = generate_uuid();
  store->create_business(id, *name, format_timestamp(clock.now()));
  std::cout << id << "\n";
  return 0;
}

int run_create_token(const CommandLine& cmd, const ResolvedSettings& resolved) {
  const Command& self = command_named("admin create-token");
  auto business = cmd.flag("--business");
  auto user = cmd.flag("--user");
  auto ttl = integer_flag(cmd, "--ttl-hours", kDefaultTokenTtlHours, 1, kMaxTokenTtlHours);
  if (!business || !user || user->empty()) return usage("create-token needs --business ID and --user NAME", &self);
  if (!ttl) return usage(std::string("--ttl-hours must be an integer from 1 to ") +
                             std::to_string(kMaxTokenTtlHours), &self);
  SystemClock clock;
  auto store = store::open_store(resolved.settings.db);
  store->migrate();
  if (!store->business_exists(*business)) {
    std::cerr << "avsync-server: no business with id " << *business << "\n";
    return 1;
  }
  std::cout << issue_token(*store, clock, *business, *user, static_cast<std::int64_t>(*ttl)).token << "\n";
  return 0;
}

int run_revoke_token(const CommandLine& cmd, const ResolvedSettings& resolved) {
  auto token = cmd.flag("--token");
  if (!token || token->empty()) return usage("revoke-token needs --token TOKEN", &command_named("admin revoke-token"));
  SystemClock clock;
  auto store = store::open_store(resolved.settings.db);
  store->migrate();
  if (!store->revoke_token(hash_token(*token), format_timestamp(clock.now()))) {
    std::cerr << "avsync-server: no such token\n";
    return 1;
  }
  std::cerr << "avsync-server: token revoked\n";
  return 0;
}

int run_schema(const CommandLine& cmd, const ResolvedSettings&) {
  const bool json = cmd.has_switch("--json");
  const bool markdown = cmd.has_switch("--markdown");
  if (json && markdown) return usage("schema takes --json or --markdown, not both", &command_named("schema"));
  std::cout << (json ? render_schema_json() : markdown ? render_schema_markdown() : render_schema_text());
  return 0;
}

// ---- Help ---------------------------------------------------------------------------------

void print_overview(std::ostream& out) {
  out << "usage: " << kProgram << " COMMAND [FLAGS]\n\ncommands:\n";
  for (const Command& c : kCommands) {
    std::string name(c.name);
    name.resize(std::max<std::size_t>(name.size(), 24), ' ');
    out << "  " << name << "  " << c.summary << "\n";
  }
  out << "  help [COMMAND]            this overview, or one command's flags (as COMMAND --help does)\n"
         "\nexit codes: 0 success, 1 failure (e.g. unknown business or token), 2 usage error.\n"
         "--db defaults to $AVSYNC_DB, then `db` of the --config file, then sqlite:avsync.db.\n"
         "URLs: sqlite:PATH, postgresql://...\n"
         "serve listens on "
      << describe_default(*find_setting("listen"), std::nullopt)
      << " unless --listen says otherwise; `avsync-server help serve`\n"
         "lists every setting with its default, the limits included.\n";
}

void print_admin_overview(std::ostream& out) {
  out << "usage: " << kProgram << " admin COMMAND [FLAGS]\n\ncommands:\n";
  for (const Command& c : kCommands) {
    if (!c.name.starts_with("admin ")) continue;
    out << "  " << c.name.substr(6) << " " << c.synopsis << "\n      " << c.summary << "\n";
  }
  out << "\n" << kProgram << " help admin COMMAND lists a command's flags.\n";
}

std::string joined(std::span<const std::string> words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

Result<std::string> help_text(std::span<const std::string> words, bool markdown) {
  const std::string name = joined(words);
  if (markdown) {
    if (name != "serve") return Error{ErrorCode::bad_request, "--markdown is for help serve only"};
    return serve_settings_markdown();
  }
  std::ostringstream out;
  if (name.empty()) {
    print_overview(out);
  } else if (name == "admin") {
    print_admin_overview(out);
  } else {
    auto command = std::find_if(std::begin(kCommands), std::end(kCommands), [&](const Command& c) { return c.name == name; });
    if (command == std::end(kCommands))
      return Error{ErrorCode::bad_request, "no command '" + name + "'"};
    print_command_help(out, *command, Environment::of_process());
  }
  return out.str();
}

std::optional<std::string> CommandLine::flag(std::string_view name) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it)
    if (it->first == name) return it->second;
  return std::nullopt;
}

std::vector<std::string> CommandLine::flag_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [flag_name, value] : flags)
    if (flag_name == name) out.push_back(value);
  return out;
}

bool CommandLine::has_switch(std::string_view name) const {
  return std::find(switches.begin(), switches.end(), name) != switches.end();
}

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CommandLine out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      out.words.push_back(arg);
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    if (is_switch(name)) {
      if (eq != std::string::npos) return Error{ErrorCode::bad_request, name + " takes no value"};
      out.switches.push_back(name);
    } else if (eq != std::string::npos) {
      out.flags.emplace_back(name, arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      out.flags.emplace_back(arg, argv[++i]);
    } else {
      out.missing_value = name;
    }
  }
  // "serve --listen --help": the flag swallowed --help as its value; the help was meant.
  for (const auto& [name, value] : out.flags)
    if (value == "--help" || value == "-h") out.help = true;
  return out;
}

int run_command(const CommandLine& cmd) {
  if (cmd.words.empty() && !cmd.help) return usage("missing command");
  if (cmd.help || cmd.words[0] == "help") {
    auto words = std::span(cmd.words);
    if (!cmd.help) words = words.subspan(1);
    // "schema --markdown --help": the switch is the command's own, not help's.
    const std::string name = joined(words);
    const bool own_markdown = std::any_of(std::begin(kCommands), std::end(kCommands), [&](const Command& c) {
      return c.name == name && takes_switch(c, "--markdown");
    });
    auto text = help_text(words, cmd.has_switch("--markdown") && !own_markdown);
    if (!text) return usage(text.error().message);
    std::cout << *text;
    return 0;
  }

  const std::string name = joined(cmd.words);
  const Command* command = nullptr;
  for (const Command& c : kCommands)
    if (c.name == name) command = &c;
  if (!command) {
    if (cmd.words[0] == "admin" && cmd.words.size() < 3)
      return usage(cmd.words.size() == 1 ? std::string("admin needs one of create-business, create-token, revoke-token")
                                         : "unknown admin command '" + cmd.words[1] + "'");
    for (const Command& c : kCommands)
      if (name.starts_with(std::string(c.name) + " "))
        return usage(std::string(c.name) + " takes no arguments besides flags", &c);
    return usage("unknown command '" + cmd.words[0] + "'");
  }

  // Every flag must be one the command takes, so a typo is a usage error, never ignored
  // (and "schema --xml" is not told that --xml needs a value).
  std::vector<std::string> given;
  for (const auto& [flag, _] : cmd.flags) given.push_back(flag);
  if (cmd.missing_value) given.push_back(*cmd.missing_value);
  for (const std::string& flag : given) {
    const bool own = std::any_of(command->flags.begin(), command->flags.end(),
                                 [&](const CommandFlag& f) { return flag == "--" + std::string(f.name); });
    const SettingSpec* setting = flag.starts_with("--") ? find_setting(std::string_view(flag).substr(2)) : nullptr;
    if (!own && !(setting && takes_setting(*command, *setting))) return usage("unknown flag " + flag, command);
  }
  for (const std::string& s : cmd.switches) {
    const SettingSpec* setting = find_setting(std::string_view(s).substr(2));
    if (!takes_switch(*command, s) && !(setting && takes_setting(*command, *setting)))
      return usage("unknown flag " + s, command);
  }
  if (cmd.missing_value) return usage(*cmd.missing_value + " needs a value", command);

  ResolvedSettings resolved;
  if (command->settings == SettingsUsed::none) return command->run(cmd, resolved);
  const Environment env = Environment::of_process();
  if (command->settings == SettingsUsed::all) {
    auto all = resolve_serve_settings(cmd, env);
    if (!all) return usage(all.error().message, command);
    resolved = std::move(*all);
  } else {
    auto url = resolve_database_url(cmd, env);
    if (!url) return usage(url.error().message, command);
    resolved.settings.db = std::move(*url);
  }
  return command->run(cmd, resolved);
}

}  // namespace avsync::server

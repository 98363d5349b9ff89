// avsync: the command line on the client SDK. Every command opens the data file, does one
// thing and exits with a code a script can branch on (see kUsage and docs/client.md).
// `avsync help [COMMAND]` and `--help` on any command print that command's help; an
// entity's fields, their types and rules come from the schema registry (core/schema.hpp).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "avsync/client.hpp"
#include "cli/progress.hpp"
#include "client/json_format.hpp"
#include "core/schema.hpp"
#include "core/schema_doc.hpp"

namespace {

using namespace avsync;

constexpr std::string_view kUsage = R"(usage: avsync [--data FILE] [--json] COMMAND ...

  init --server URL --token TOKEN     remember the server and the bearer token
  ENTITY add [--id UUID] --FIELD VALUE ...      prints the new row's id
  ENTITY update ID --FIELD VALUE ... [--clear FIELD]
  ENTITY delete ID
  ENTITY list [--FIELD VALUE ...] [--limit N] [--offset N]
  ENTITY show ID
  sync [--batch-size N] [--page-size N]  one push + pull; non-zero when offline or rejected
  status                              state, pending and failed counts, last sync, counters
  watch                               run the sync engine; print state changes and pulled rows
  queue                               pending operations, then failed ones
  retry OPERATION_ID                  send a failed operation again
  discard OPERATION_ID                drop a failed operation, restore the server's row
  help [COMMAND]                      this help, or one command's (also COMMAND --help)

)";
// After the ENTITY line, which overview() writes from the registry.
constexpr std::string_view kUsageEnd =
    R"(FIELD: the entity's fields, with - or _ (--customer-id or --customer_id).
The data file is --data FILE, else $AVSYNC_DATA, else ./avsync-client.db.

exit codes: 0 ok, 1 local failure, 2 usage, 3 offline or server unavailable,
            4 rejected (validation or conflict), 5 not found,
            6 not configured or token refused, 7 not an avsync server's answer,
            8 no secure connection (TLS)
)";

enum Exit {
  kOk = 0,
  kLocalFailure = 1,
  kUsage_ = 2,
  kOffline = 3,
  kRejected = 4,
  kNotFound = 5,
  kUnauthenticated = 6,
  kIncompatible = 7,
  kTls = 8,
};

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_error:
    case ErrorCode::conflict:
      return kRejected;
    case ErrorCode::not_found:
      return kNotFound;
    case ErrorCode::network:
    case ErrorCode::timeout:
    case ErrorCode::unavailable:
    case ErrorCode::server_error:
    case ErrorCode::rate_limited:
    case ErrorCode::cancelled:
      return kOffline;
    case ErrorCode::unauthenticated:
    case ErrorCode::not_configured:
      return kUnauthenticated;
    case ErrorCode::bad_request:
    case ErrorCode::bad_response:
    case ErrorCode::batch_too_large:
    case ErrorCode::payload_too_large:
    case ErrorCode::unsupported_media_type:
    case ErrorCode::route_not_found:
    case ErrorCode::method_not_allowed:
      return kIncompatible;
    case ErrorCode::tls_failure:
      return kTls;
    case ErrorCode::internal:
    case ErrorCode::local_storage:
      return kLocalFailure;
  }
  return kLocalFailure;
}

struct UsageError {
  std::string message;
};

// The command line after the global options are taken out.
struct Args {
  std::vector<std::string> words;                            // positional
  std::vector<std::pair<std::string, std::string>> options;  // --name value, in order
  std::vector<std::string> cleared;                          // --clear FIELD
  bool json = false;
  bool help = false;  // --help or -h anywhere
  std::optional<std::string> data;

  std::optional<std::string> take(std::string_view name) {
    for (auto it = options.begin(); it != options.end(); ++it) {
      if (it->first == name) {
        std::string value = it->second;
        options.erase(it);
        return value;
      }
    }
    return std::nullopt;
  }
  void expect_words(std::size_t n, std::string_view shape) const {
    if (words.size() != n) throw UsageError{"usage: avsync " + std::string(shape)};
  }
  void expect_no_options() const {
    if (!options.empty()) throw UsageError{"unknown option --" + options.front().first};
  }
};

std::string field_name(std::string_view flag) {
  std::string name(flag);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      args.json = true;
    } else if (a == "-h" || a == "--help") {
      args.help = true;
    } else if (a.starts_with("--")) {
      std::string name(a.substr(2));
      std::string value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else {
        if (i + 1 >= argc) {
          if (args.help) break;  // "add --help --name": the help was asked for; the value does not matter
          throw UsageError{"--" + name + " needs a value"};
        }
        value = argv[++i];
      }
      // "customers add --name --help": the help was meant, not a name.
      if (value == "--help" || value == "-h") {
        args.help = true;
        continue;
      }
      if (name == "data") {
        args.data = value;
      } else if (name == "clear") {
        args.cleared.push_back(field_name(value));
      } else {
        args.options.emplace_back(field_name(name), value);
      }
    } else {
      args.words.emplace_back(a);
    }
  }
  return args;
}

std::size_t parse_count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw UsageError{std::string(what) + " must be a non-negative integer"};
  }
  return n;
}

// Prints the error (JSON on stdout with --json, text on stderr otherwise); returns its code.
int report(const Args& args, const Error& error) {
  if (args.json) {
    std::cout << client::error_json(error) << "\n";
  } else {
    std::cerr << "avsync: " << to_string(error.code) << ": " << error.message << "\n";
  }
  return exit_code_for(error.code);
}

void print_row(const Row& row) {
  std::cout << row.entity << " " << row.id << " (" << to_string(row.sync_state) << ")\n";
  for (const auto& [name, value] : row.fields) {
    std::cout << "  " << name << ": " << (value ? *value : "null") << "\n";
  }
  std::cout << "  created_at: " << row.created_at << "\n  updated_at: " << row.updated_at << "\n";
}

void print_status(const SyncStatus& s) {
  std::cout << "state: "
            << (s.configured ? to_string(s.state)
                             : "not configured (run `avsync init --server URL --token TOKEN`)")
            << "\npending: " << s.pending << "\nfailed: " << s.failed
            << "\nlast sync: " << (s.last_sync_at ? *s.last_sync_at : "never")
            << "\npushed: " << s.operations_pushed << "\npulled: " << s.rows_pulled
            << "\nretries: " << s.retries << "\n";
  if (s.last_error) std::cout << "last error: " << to_string(s.last_error->code) << ": " << s.last_error->message << "\n";
  if (s.retry_in) std::cout << "retry in: " << s.retry_in->count() << " ms\n";
}

std::string entity_of(std::string_view word) {
  if (word == "sale-items") return "sale_items";
  return std::string(word);
}

// A command whose usage was checked, to run once the data file is open: a wrong command
// line is exit 2 whether or not the data file exists.
using Runner = std::function<int(Client&)>;

// The --FIELD VALUE options and --clear FIELDs of add and update.
FieldValues fields_of(const Args& args) {
  FieldValues fields;
  for (const auto& [name, value] : args.options) fields.emplace_back(name, value);
  for (const auto& name : args.cleared) fields.emplace_back(name, std::nullopt);
  return fields;
}

Runner parse_entity_command(Args& args) {
  const std::string entity = entity_of(args.words[0]);
  const std::string verb = args.words.size() > 1 ? args.words[1] : "";

  if (verb == "add") {
    args.expect_words(2, args.words[0] + " add --FIELD VALUE ...");
    auto id = args.take("id");
    return [&args, entity, fields = fields_of(args), id](Client& client) {
      auto row = client.insert(entity, fields, id);
      if (!row) return report(args, row.error());
      std::cout << (args.json ? client::row_json(*row) : row->id) << "\n";
      return int{kOk};
    };
  }
  if (verb == "update") {
    args.expect_words(3, args.words[0] + " update ID --FIELD VALUE ...");
    return [&args, entity, fields = fields_of(args)](Client& client) {
      auto row = client.update(entity, args.words[2], fields);
      if (!row) return report(args, row.error());
      if (args.json) {
        std::cout << client::row_json(*row) << "\n";
      } else {
        std::cout << "updated " << row->entity << " " << row->id << " ("
                  << to_string(row->sync_state) << ")\n";
      }
      return int{kOk};
    };
  }
  if (verb == "delete") {
    args.expect_words(3, args.words[0] + " delete ID");
    args.expect_no_options();
    return [&args, entity](Client& client) {
      Status removed = client.remove(entity, args.words[2]);
      if (!removed) return report(args, removed.error());
      if (args.json) {
        std::cout << "{\"deleted\":true}\n";
      } else {
        std::cout << "deleted " << entity << " " << args.words[2] << " (pending)\n";
      }
      return int{kOk};
    };
  }
  if (verb == "show") {
    args.expect_words(3, args.words[0] + " show ID");
    args.expect_no_options();
    return [&args, entity](Client& client) {
      auto row = client.get(entity, args.words[2]);
      if (!row) return report(args, row.error());
      if (args.json) {
        std::cout << client::row_json(*row) << "\n";
      } else {
        print_row(*row);
      }
      return int{kOk};
    };
  }
  if (verb == "list") {
    args.expect_words(2, args.words[0] + " list [--FIELD VALUE ...] [--limit N] [--offset N]");
    ListQuery query;
    if (auto limit = args.take("limit")) query.limit = parse_count(*limit, "--limit");
    if (auto offset = args.take("offset")) query.offset = parse_count(*offset, "--offset");
    for (auto& [name, value] : args.options) query.equals.emplace_back(name, value);
    return [&args, entity, query](Client& client) {
      auto rows = client.list(entity, query);
      if (!rows) return report(args, rows.error());
      if (args.json) {
        std::cout << client::rows_json(*rows) << "\n";
        return int{kOk};
      }
      for (const Row& row : *rows) {
        std::cout << row.id;
        for (const auto& [name, value] : row.fields) {
          if (value) std::cout << "  " << name << "=" << *value;
        }
        std::cout << "  [" << to_string(row.sync_state) << "]\n";
      }
      return int{kOk};
    };
  }
  throw UsageError{"usage: avsync " + args.words[0] + " add|update|delete|list|show"};
}

// init: the server is asked first, so a wrong token or URL is told now and stores
// nothing. When the server cannot answer now (offline, a timeout, 429, 5xx: the codes of
// exit 3), both are stored unchecked: a device may be set up without signal.
int run_init(ClientOptions options, Args& args) {
  args.expect_words(1, "init --server URL --token TOKEN");
  auto server = args.take("server");
  auto token = args.take("token");
  args.expect_no_options();
  if (!server || !token) throw UsageError{"usage: avsync init --server URL --token TOKEN"};

  Status checked = check_server(*server, *token, options);
  std::optional<Error> unchecked;
  if (!checked) {
    const Error& error = checked.error();
    if (error.code == ErrorCode::validation_error) throw UsageError{error.message};
    const int code = exit_code_for(error.code);
    if (code != kOffline) {
      Error refused = error;
      if (error.code == ErrorCode::unauthenticated) {
        refused.message = "the server refused the token: " + error.message;
      }
      refused.message += " (nothing was stored)";
      return report(args, refused);
    }
    unchecked = error;
  }

  auto opened = Client::open(options);
  if (!opened) return report(args, opened.error());
  Status configured = (*opened)->configure(*server, *token);
  if (!configured) return report(args, configured.error());
  if (args.json) {
    std::cout << client::init_json(unchecked) << "\n";
  } else if (unchecked) {
    std::cout << "configured " << options.data_path << " for " << *server << ", unchecked\n";
    std::cerr << "avsync: could not reach the server to check the token ("
              << to_string(unchecked->code) << ": " << unchecked->message
              << "); the first sync will tell whether it is accepted\n";
  } else {
    std::cout << "configured " << options.data_path << " for " << *server
              << ": the server accepted the token\n";
  }
  return kOk;
}

int run_watch(Client& client, const Args& args) {
  // Signals go to sigwait below, not to a handler: block them before the engine thread
  // starts so it inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::mutex out;
  client.set_observer([&](const SyncStatus& s) {
    std::lock_guard lock(out);
    if (args.json) {
      std::cout << client::status_json(s) << std::endl;
      return;
    }
    std::cout << to_string(s.state) << " pending=" << s.pending << " failed=" << s.failed;
    if (s.last_error) std::cout << " error=" << to_string(s.last_error->code) << " (" << s.last_error->message << ")";
    if (s.retry_in) std::cout << " retry_in_ms=" << s.retry_in->count();
    std::cout << std::endl;
  });
  // Each row a pull changed, as it arrives (live mode keeps a long-poll open between syncs).
  client.set_change_observer([&](const std::vector<ChangedRow>& changes) {
    std::lock_guard lock(out);
    for (const ChangedRow& change : changes) {
      if (args.json) {
        std::cout << client::change_json(change) << "\n";
      } else {
        std::cout << change.entity << " " << change.id << " " << to_string(change.action) << "\n";
      }
    }
    std::cout << std::flush;
  });
  client.start();
  int signal = 0;
  sigwait(&signals, &signal);
  client.stop();
  client.set_observer(nullptr);
  client.set_change_observer(nullptr);
  return kOk;
}

// ---- Help -----------------------------------------------------------------------------

// The entity a command word names ("sale-items", "payments"), from the registry.
const EntitySpec* entity_named(std::string_view word) { return find_entity(entity_of(word)); }

std::string command_word(std::string_view entity_name) {
  std::string word(entity_name);
  for (char& c : word) {
    if (c == '_') c = '-';
  }
  return word;
}

enum class FieldsFor { add, update };

std::string fields_help(const EntitySpec& entity, FieldsFor use) {
  std::string out = "fields of " + command_word(entity.name) + " (--a-field and --a_field are the same):\n";
  for (const FieldSpec& field : entity.fields) {
    std::string flag = "--" + command_word(field.name) + " " + field_value_name(field);
    flag.resize(std::max<std::size_t>(flag.size(), 30), ' ');
    std::string rules = field_rules(field);
    if (field.required) rules = (use == FieldsFor::add ? "required; " : "cannot be cleared; ") + rules;
    out += "  " + flag + "  " + rules + "\n";
  }
  return out;
}

constexpr std::string_view kGlobalFlags = R"(
global flags (before or after the command):
  --data FILE    the data file (default: $AVSYNC_DATA, else ./avsync-client.db)
  --json         print results and errors as JSON on stdout
)";

struct CommandHelp {
  std::string_view name;
  std::string_view text;  // usage line, what it does, its flags
};

std::string sync_help() {
  const ClientOptions defaults;
  return "usage: avsync sync [--batch-size N] [--page-size N]\n\n"
         "One push of the pending operations, then one pull of the server's changes. Exits 3\n"
         "when offline or the server is unavailable, 4 when an operation was rejected, 6 when\n"
         "not configured or the token is refused, 7 or 8 when the server's answer or its TLS\n"
         "is wrong (`avsync help` has every exit code).\n\n"
         "  --batch-size N    operations per push request (default: " +
         std::to_string(defaults.batch_size) + ")\n" +
         "  --page-size N     changes per pull page (default: " +
         std::to_string(defaults.pull_page_size) + ")\n";
}

const CommandHelp kCommandHelp[] = {
    {"init",
     "usage: avsync init --server URL --token TOKEN\n\n"
     "Asks the server whether it takes the token, then remembers both in the data file\n"
     "(creating it). A refused token (exit 6), a URL where no avsync server answers (7) or\n"
     "a failed TLS handshake (8) stores nothing. When the server cannot answer now (offline,\n"
     "a timeout, 429 or 5xx), both are stored anyway, said to be unchecked, and the first\n"
     "sync tells whether the token is good.\n\n"
     "  --server URL      the server's base URL, e.g. https://sync.example.com\n"
     "  --token TOKEN     a device token (avsync-server admin create-token) or the app's JWT\n"},
    {"status",
     "usage: avsync status\n\n"
     "Prints the sync state, the pending and failed counts, the last sync and its error,\n"
     "and the data file's counters since it was created: operations the server acknowledged\n"
     "(pushed), rows applied from the feed (pulled) and failed attempts rescheduled\n"
     "(retries). --json prints the status shape of docs/client.md. A data file that does\n"
     "not exist is not created: exit 6, not configured.\n"},
    {"watch",
     "usage: avsync watch\n\n"
     "Runs the sync engine until SIGINT or SIGTERM, in live mode (a long-poll stays open\n"
     "between syncs, so other devices' changes arrive within moments). Prints each state\n"
     "change, and each row a pull changed as ENTITY ID upsert|delete (with --json, one\n"
     "object per line: {\"entity\",\"id\",\"action\"} for a row, the status shape for a state).\n"},
    {"queue",
     "usage: avsync queue\n\n"
     "Lists the pending operations, then the failed ones with their error.\n"},
    {"retry", "usage: avsync retry OPERATION_ID\n\nQueues a failed operation to be sent again.\n"},
    {"discard",
     "usage: avsync discard OPERATION_ID\n\n"
     "Drops a failed operation and restores the server's version of its row.\n"},
};

std::string entity_verb_help(const EntitySpec& entity, std::string_view verb) {
  const std::string word = command_word(entity.name);
  if (verb == "add") {
    return "usage: avsync " + word + " add [--id UUID] --FIELD VALUE ...\n\n"
           "Adds a row locally, queues it for the next sync and prints its id.\n\n" +
           fields_help(entity, FieldsFor::add) + "  --id UUID                       the row's id (default: a new one)\n";
  }
  if (verb == "update") {
    return "usage: avsync " + word + " update ID --FIELD VALUE ... [--clear FIELD]\n\n"
           "Changes the given fields of a row locally and queues the change. --clear FIELD sets an\n"
           "optional field to null.\n\n" +
           fields_help(entity, FieldsFor::update);
  }
  if (verb == "list") {
    std::string names;
    for (const FieldSpec& field : entity.fields) names += (names.empty() ? "" : ", ") + command_word(field.name);
    return "usage: avsync " + word + " list [--FIELD VALUE ...] [--limit N] [--offset N]\n\n"
           "Lists the local rows; each --FIELD VALUE keeps the rows whose field equals VALUE.\n\n"
           "  --limit N         at most N rows\n"
           "  --offset N        skip the first N rows\n"
           "fields: " + names + "\n";
  }
  if (verb == "show") return "usage: avsync " + word + " show ID\n\nPrints one row and its sync state.\n";
  if (verb == "delete") {
    return "usage: avsync " + word + " delete ID\n\nDeletes a row locally and queues the delete.\n";
  }
  return "";
}

std::string entity_help(const EntitySpec& entity) {
  const std::string word = command_word(entity.name);
  std::string out = "usage: avsync " + word + " add|update|delete|list|show ...\n\n";
  for (std::string_view verb : {"add", "update", "delete", "list", "show"}) {
    const std::string text = entity_verb_help(entity, verb);
    out += "  " + text.substr(7, text.find('\n') - 7) + "\n";
  }
  out += "\n" + fields_help(entity, FieldsFor::add) + "\n`avsync help " + word + " VERB` shows one verb.\n";
  return out;
}

// The usage, its entity words taken from the registry (`payments` is find_entity's alias).
std::string overview() {
  std::string words;
  for (const EntitySpec& entity : all_entities()) {
    words += (words.empty() ? "" : ", ") + command_word(entity.name);
    for (std::string_view alias : entity.aliases) words += " (or " + std::string(alias) + ")";
  }
  return std::string(kUsage) + "ENTITY: " + words + ".\n" + std::string(kUsageEnd) +
         "\n`avsync help COMMAND` (or COMMAND --help) shows one command, with an entity's fields.\n";
}

// Prints the help of the command `words` names (none: the overview) on stdout.
int print_help(const std::vector<std::string>& words) {
  if (words.empty()) {
    std::cout << overview();
    return kOk;
  }
  const std::string& command = words[0];
  if (command == "help" && words.size() == 1) {
    std::cout << overview();
    return kOk;
  }
  if (const EntitySpec* entity = entity_named(command)) {
    if (words.size() == 1) {
      std::cout << entity_help(*entity) << kGlobalFlags;
      return kOk;
    }
    const std::string text = words.size() == 2 ? entity_verb_help(*entity, words[1]) : "";
    if (text.empty()) throw UsageError{"no help for '" + command + " " + words[1] + "'; `avsync help " + command + "` lists its verbs"};
    std::cout << text << kGlobalFlags;
    return kOk;
  }
  if (words.size() == 1) {
    if (command == "sync") {
      std::cout << sync_help() << kGlobalFlags;
      return kOk;
    }
    for (const CommandHelp& help : kCommandHelp) {
      if (help.name == command) {
        std::cout << help.text << kGlobalFlags;
        return kOk;
      }
    }
  }
  throw UsageError{"unknown command '" + command + "'; `avsync help` lists the commands"};
}

int print_queue(const Args& args, Client& client) {
  auto ops = client.queue();
  if (!ops) return report(args, ops.error());
  if (args.json) {
    std::cout << client::queue_json(*ops) << "\n";
    return kOk;
  }
  if (ops->empty()) std::cout << "the queue is empty: no pending or failed operations\n";
  for (const QueuedOperation& op : *ops) {
    std::cout << (op.status == OperationStatus::failed ? "failed " : "pending") << "  "
              << op.operation_id << "  " << op.action << " " << op.entity << " " << op.entity_id;
    if (op.attempts) std::cout << "  attempts=" << op.attempts;
    if (op.last_error)
      std::cout << "  " << to_string(op.last_error->code) << ": " << op.last_error->message;
    std::cout << "\n";
  }
  return kOk;
}

int run_sync(const Args& args, Client& client) {
  // On a terminal the rows pulled so far and the rate stay on screen while the sync runs
  // (an initial sync may pull millions); anywhere else the output is only the result.
  Result<SyncReport> result = [&client] {
    if (!::isatty(STDERR_FILENO)) return client.sync_once();
    cli::ProgressLine line(cli::ProgressLine::Clock::now());
    Result<SyncReport> done = client.sync_once([&line](const SyncReport& so_far) {
      std::cerr << line.update(so_far.pushed, so_far.pulled, cli::ProgressLine::Clock::now())
                << std::flush;
    });
    std::cerr << line.clear() << std::flush;
    return done;
  }();
  if (!result) return report(args, result.error());
  if (args.json) {
    std::cout << client::report_json(*result) << "\n";
  } else {
    std::cout << "pushed " << result->pushed << ", rejected " << result->rejected << ", pulled "
              << result->pulled << ", pending " << result->pending << "\n";
    if (result->rejected)
      std::cerr << "avsync: some operations were rejected; see `avsync queue`\n";
  }
  return result->rejected ? kRejected : kOk;
}

// retry | discard
int run_failed_operation_command(const Args& args, Client& client) {
  const std::string& command = args.words[0];
  Status done = command == "retry" ? client.retry(args.words[1]) : client.discard(args.words[1]);
  if (!done) return report(args, done.error());
  if (args.json) {
    std::cout << "{\"" << (command == "retry" ? "retried" : "discarded") << "\":true}\n";
  } else {
    std::cout << (command == "retry" ? "queued again " : "discarded ") << args.words[1] << "\n";
  }
  return kOk;
}

struct CommandUsage {
  std::string_view name;
  std::string_view usage;  // after "usage: avsync "
  std::size_t words;       // the command's own word included
};
constexpr CommandUsage kCommandUsages[] = {
    {"sync", "sync [--batch-size N] [--page-size N]", 1},
    {"status", "status", 1},
    {"watch", "watch", 1},
    {"queue", "queue", 1},
    {"retry", "retry OPERATION_ID", 2},
    {"discard", "discard OPERATION_ID", 2},
};

// The commands that are not an entity's (nor init), usage-checked.
Runner parse_command(Args& args) {
  const std::string& name = args.words[0];
  const auto usage = std::ranges::find(kCommandUsages, name, &CommandUsage::name);
  if (usage == std::end(kCommandUsages)) {
    throw UsageError{"unknown command '" + name + "'; `avsync help` lists the commands"};
  }
  args.expect_words(usage->words, usage->usage);
  args.expect_no_options();
  if (name == "sync") return [&args](Client& client) { return run_sync(args, client); };
  if (name == "status") {
    return [&args](Client& client) {
      SyncStatus s = client.status();
      if (args.json) {
        std::cout << client::status_json(s) << "\n";
      } else {
        print_status(s);
      }
      return int{kOk};
    };
  }
  if (name == "watch") return [&args](Client& client) { return run_watch(client, args); };
  if (name == "queue") return [&args](Client& client) { return print_queue(args, client); };
  return [&args](Client& client) { return run_failed_operation_command(args, client); };
}

int run(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  if (args.help) return print_help(args.words);
  if (!args.words.empty() && args.words[0] == "help") {
    return print_help(std::vector<std::string>(args.words.begin() + 1, args.words.end()));
  }
  if (args.words.empty()) throw UsageError{""};
  const std::string name = args.words[0];

  ClientOptions options;
  if (args.data) {
    options.data_path = *args.data;
  } else if (const char* env = std::getenv("AVSYNC_DATA"); env && *env) {
    options.data_path = env;
  }
  if (name == "init") return run_init(options, args);
  if (name == "sync") {
    if (auto batch = args.take("batch_size")) options.batch_size = std::max<std::size_t>(1, parse_count(*batch, "--batch-size"));
    if (auto page = args.take("page_size")) options.pull_page_size = std::max<std::size_t>(1, parse_count(*page, "--page-size"));
  }
  const Runner runner = entity_named(name) ? parse_entity_command(args) : parse_command(args);

  // Only init creates a data file: anything else on a missing one is "not configured".
  options.create_if_missing = false;
  auto opened = Client::open(options);
  if (!opened) return report(args, opened.error());
  return runner(**opened);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    if (!e.message.empty()) std::cerr << "avsync: " << e.message << "\n\n";
    std::cerr << overview();
    return e.message.empty() && argc > 1 ? kOk : kUsage_;
  } catch (const std::exception& e) {
    std::cerr << "avsync: " << e.what() << "\n";
    return kLocalFailure;
  }
}

// avsync: the command line on the client SDK. Every command opens the data file, does one
// thing and exits with a code a script can branch on (see kUsage and docs/client.md).
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "avsync/client.hpp"
#include "client/json_format.hpp"

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
  status                              state, pending and failed counts, last sync
  watch                               run the sync engine and print each state change
  queue                               pending operations, then failed ones
  retry OPERATION_ID                  send a failed operation again
  discard OPERATION_ID                drop a failed operation, restore the server's row

ENTITY: customers, sales, sale-items, payments (abonos), distribuciones.
FIELD: the entity's fields, with - or _ (--customer-id or --customer_id).
The data file is --data FILE, else $AVSYNC_DATA, else ./avsync-client.db.

exit codes: 0 ok, 1 local failure, 2 usage, 3 offline or server unavailable,
            4 rejected (validation or conflict), 5 not found,
            6 not configured or token refused, 7 incompatible server response
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
      throw UsageError{""};
    } else if (a.starts_with("--")) {
      std::string name(a.substr(2));
      std::string value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else {
        if (i + 1 >= argc) throw UsageError{"--" + name + " needs a value"};
        value = argv[++i];
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
  std::cout << "state: " << to_string(s.state) << "\npending: " << s.pending
            << "\nfailed: " << s.failed
            << "\nlast sync: " << (s.last_sync_at ? *s.last_sync_at : "never") << "\n";
  if (s.last_error) std::cout << "last error: " << to_string(s.last_error->code) << ": " << s.last_error->message << "\n";
  if (s.retry_in) std::cout << "retry in: " << s.retry_in->count() << " ms\n";
}

std::string entity_of(std::string_view word) {
  if (word == "sale-items") return "sale_items";
  return std::string(word);
}

int run_entity_command(Client& client, Args& args) {
  const std::string entity = entity_of(args.words[0]);
  const std::string verb = args.words.size() > 1 ? args.words[1] : "";
  auto fields_from_options = [&] {
    FieldValues fields;
    for (auto& [name, value] : args.options) fields.emplace_back(name, value);
    for (auto& name : args.cleared) fields.emplace_back(name, std::nullopt);
    return fields;
  };

  if (verb == "add") {
    args.expect_words(2, args.words[0] + " add --FIELD VALUE ...");
    auto id = args.take("id");
    auto row = client.insert(entity, fields_from_options(), id);
    if (!row) return report(args, row.error());
    std::cout << (args.json ? client::row_json(*row) : row->id) << "\n";
    return kOk;
  }
  if (verb == "update") {
    args.expect_words(3, args.words[0] + " update ID --FIELD VALUE ...");
    auto row = client.update(entity, args.words[2], fields_from_options());
    if (!row) return report(args, row.error());
    if (args.json) {
      std::cout << client::row_json(*row) << "\n";
    } else {
      std::cout << "updated " << row->entity << " " << row->id << " (" << to_string(row->sync_state) << ")\n";
    }
    return kOk;
  }
  if (verb == "delete") {
    args.expect_words(3, args.words[0] + " delete ID");
    args.expect_no_options();
    Status removed = client.remove(entity, args.words[2]);
    if (!removed) return report(args, removed.error());
    if (args.json) {
      std::cout << "{\"deleted\":true}\n";
    } else {
      std::cout << "deleted " << entity << " " << args.words[2] << " (pending)\n";
    }
    return kOk;
  }
  if (verb == "show") {
    args.expect_words(3, args.words[0] + " show ID");
    args.expect_no_options();
    auto row = client.get(entity, args.words[2]);
    if (!row) return report(args, row.error());
    if (args.json) {
      std::cout << client::row_json(*row) << "\n";
    } else {
      print_row(*row);
    }
    return kOk;
  }
  if (verb == "list") {
    args.expect_words(2, args.words[0] + " list [--FIELD VALUE ...] [--limit N] [--offset N]");
    ListQuery query;
    if (auto limit = args.take("limit")) query.limit = parse_count(*limit, "--limit");
    if (auto offset = args.take("offset")) query.offset = parse_count(*offset, "--offset");
    for (auto& [name, value] : args.options) query.equals.emplace_back(name, value);
    auto rows = client.list(entity, query);
    if (!rows) return report(args, rows.error());
    if (args.json) {
      std::cout << client::rows_json(*rows) << "\n";
      return kOk;
    }
    for (const Row& row : *rows) {
      std::cout << row.id;
      for (const auto& [name, value] : row.fields) {
        if (value) std::cout << "  " << name << "=" << *value;
      }
      std::cout << "  [" << to_string(row.sync_state) << "]\n";
    }
    return kOk;
  }
  throw UsageError{"usage: avsync " + args.words[0] + " add|update|delete|list|show"};
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
  client.start();
  int signal = 0;
  sigwait(&signals, &signal);
  client.stop();
  client.set_observer(nullptr);
  return kOk;
}

int run(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  if (args.words.empty()) throw UsageError{""};
  const std::string command = args.words[0];

  ClientOptions options;
  if (args.data) {
    options.data_path = *args.data;
  } else if (const char* env = std::getenv("AVSYNC_DATA"); env && *env) {
    options.data_path = env;
  }
  if (command == "sync") {
    if (auto batch = args.take("batch_size")) options.batch_size = std::max<std::size_t>(1, parse_count(*batch, "--batch-size"));
    if (auto page = args.take("page_size")) options.pull_page_size = std::max<std::size_t>(1, parse_count(*page, "--page-size"));
  }
  static const std::map<std::string_view, bool> kEntityWords = {
      {"customers", true}, {"sales", true}, {"sale-items", true}, {"sale_items", true},
      {"payments", true}, {"abonos", true}, {"distribuciones", true}};
  static const std::map<std::string_view, bool> kCommands = {
      {"init", true}, {"sync", true}, {"status", true}, {"watch", true},
      {"queue", true}, {"retry", true}, {"discard", true}};
  if (!kEntityWords.count(command) && !kCommands.count(command)) {
    throw UsageError{"unknown command '" + command + "'"};
  }

  auto opened = Client::open(options);
  if (!opened) return report(args, opened.error());
  Client& client = **opened;

  if (kEntityWords.count(command)) return run_entity_command(client, args);

  if (command == "init") {
    args.expect_words(1, "init --server URL --token TOKEN");
    auto server = args.take("server");
    auto token = args.take("token");
    args.expect_no_options();
    if (!server || !token) throw UsageError{"usage: avsync init --server URL --token TOKEN"};
    Status configured = client.configure(*server, *token);
    if (!configured) return report(args, configured.error());
    if (args.json) {
      std::cout << "{\"configured\":true}\n";
    } else {
      std::cout << "configured " << options.data_path << " for " << *server << "\n";
    }
    return kOk;
  }
  if (command == "sync") {
    args.expect_words(1, "sync [--batch-size N] [--page-size N]");
    args.expect_no_options();
    auto result = client.sync_once();
    if (!result) return report(args, result.error());
    if (args.json) {
      std::cout << client::report_json(*result) << "\n";
    } else {
      std::cout << "pushed " << result->pushed << ", rejected " << result->rejected << ", pulled "
                << result->pulled << ", pending " << result->pending << "\n";
      if (result->rejected) std::cerr << "avsync: some operations were rejected; see `avsync queue`\n";
    }
    return result->rejected ? kRejected : kOk;
  }
  if (command == "status") {
    args.expect_words(1, "status");
    args.expect_no_options();
    SyncStatus s = client.status();
    if (args.json) {
      std::cout << client::status_json(s) << "\n";
    } else {
      print_status(s);
    }
    return kOk;
  }
  if (command == "watch") {
    args.expect_words(1, "watch");
    args.expect_no_options();
    return run_watch(client, args);
  }
  if (command == "queue") {
    args.expect_words(1, "queue");
    args.expect_no_options();
    auto ops = client.queue();
    if (!ops) return report(args, ops.error());
    if (args.json) {
      std::cout << client::queue_json(*ops) << "\n";
      return kOk;
    }
    for (const QueuedOperation& op : *ops) {
      std::cout << (op.status == OperationStatus::failed ? "failed " : "pending") << "  "
                << op.operation_id << "  " << op.action << " " << op.entity << " " << op.entity_id;
      if (op.attempts) std::cout << "  attempts=" << op.attempts;
      if (op.last_error) std::cout << "  " << to_string(op.last_error->code) << ": " << op.last_error->message;
      std::cout << "\n";
    }
    return kOk;
  }
  // retry | discard
  args.expect_words(2, command + " OPERATION_ID");
  args.expect_no_options();
  Status done = command == "retry" ? client.retry(args.words[1]) : client.discard(args.words[1]);
  if (!done) return report(args, done.error());
  if (args.json) {
    std::cout << "{\"" << (command == "retry" ? "retried" : "discarded") << "\":true}\n";
  } else {
    std::cout << (command == "retry" ? "queued again " : "discarded ") << args.words[1] << "\n";
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    if (!e.message.empty()) std::cerr << "avsync: " << e.message << "\n\n";
    std::cerr << kUsage;
    return e.message.empty() && argc > 1 ? kOk : kUsage_;
  } catch (const std::exception& e) {
    std::cerr << "avsync: " << e.what() << "\n";
    return kLocalFailure;
  }
}

#pragma once
// The avsync-server command line (docs/protocol.md §6): subcommands, --flag value pairs, and
// the --db default chain (--db, then AVSYNC_DB, then sqlite:avsync.db).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace avsync::server {

struct CommandLine {
  std::vector<std::string> words;             // subcommand words, e.g. {"admin", "create-token"}
  std::map<std::string, std::string> flags;   // "--db" -> value

  std::optional<std::string> flag(const std::string& name) const;
  // --db, else $AVSYNC_DB, else sqlite:avsync.db.
  std::string database_url() const;
};

// Splits argv; every flag takes a value ("--name value" or "--name=value").
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage).
int run_command(const CommandLine& command);

}  // namespace avsync::server

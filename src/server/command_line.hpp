#pragma once
// The avsync-server command line (docs/protocol.md §6): subcommands, their --flag values and
// switches, and the help of every command. What a `serve` flag means, its default and its
// environment variable are in settings.hpp; running the server is serve.hpp.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace avsync::server {

struct CommandLine {
  std::vector<std::string> words;  // subcommand words, e.g. {"admin", "create-token"}
  // Every "--name value" in order, a name once per occurrence ("--cors-origin" may repeat).
  std::vector<std::pair<std::string, std::string>> flags;
  // Flags that take no value, e.g. "--print-config"; "--help" and "-h" set `help` instead.
  std::vector<std::string> switches;
  bool help = false;
  // The last argument, when it is a flag that takes a value and none followed ("serve
  // --listen"). run_command refuses it, as an unknown flag when the command does not take
  // it, else as a flag without its value.
  std::optional<std::string> missing_value;

  // The last occurrence of `name` ("--db"), nullopt when absent: a later flag wins.
  std::optional<std::string> flag(std::string_view name) const;
  // Every occurrence of `name`, in order.
  std::vector<std::string> flag_values(std::string_view name) const;
  bool has_switch(std::string_view name) const;
};

// Splits argv. A flag takes a value ("--name value" or "--name=value") unless it is one of
// the switches (--print-config, --markdown, --json, and the settings table's own, such as
// --demo) or --help / -h; a last flag without its value is noted in `missing_value`.
// bad_request when a switch is given a value.
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// What `avsync-server help WORDS...` prints: the overview for no words, the admin commands
// for "admin", a command's usage and every flag it takes (default, environment variable,
// bounds) for its words, or with `markdown`, for "serve" only, the settings table in
// Markdown (docs/configuration.md). bad_request for words that name no command.
Result<std::string> help_text(std::span<const std::string> words, bool markdown);

// Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage: an unknown
// command or flag, a flag without its value, and the like, said on stderr). Help, asked for
// any way, prints on stdout and returns 0. Throws what opening the store or serving throws
// (main reports it and exits 1).
int run_command(const CommandLine& command);

}  // namespace avsync::server

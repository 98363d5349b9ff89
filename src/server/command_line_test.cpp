// docs/protocol.md §6: --db, then AVSYNC_DB, then sqlite:avsync.db.

#include "server/command_line.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace avsync::server {
namespace {

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "avsync-server");
  auto cmd = parse_command_line(static_cast<int>(args.size()), args.data());
  EXPECT_TRUE(cmd);
  return *cmd;
}

TEST(CommandLine, DatabaseUrlComesFromTheFlagThenTheEnvironmentThenTheDefault) {
  ::unsetenv("AVSYNC_DB");
  EXPECT_EQ(parse({"migrate"}).database_url(), "sqlite:avsync.db");
  ::setenv("AVSYNC_DB", "postgresql://env/db", 1);
  EXPECT_EQ(parse({"migrate"}).database_url(), "postgresql://env/db");
  EXPECT_EQ(parse({"migrate", "--db", "sqlite:flag.db"}).database_url(), "sqlite:flag.db");
  EXPECT_EQ(parse({"migrate", "--db=sqlite:eq.db"}).database_url(), "sqlite:eq.db");
  ::unsetenv("AVSYNC_DB");
}

TEST(CommandLine, WordsAndFlagsAreSeparated) {
  auto cmd = parse({"admin", "create-token", "--business", "b", "--user", "ana"});
  EXPECT_EQ(cmd.words, (std::vector<std::string>{"admin", "create-token"}));
  EXPECT_EQ(cmd.flag("--user"), "ana");
  EXPECT_FALSE(cmd.flag("--ttl-hours"));
  const char* dangling[] = {"avsync-server", "serve", "--listen"};
  EXPECT_FALSE(parse_command_line(3, dangling));
}

}  // namespace
}  // namespace avsync::server

// docs/protocol.md §6: --db, then AVSYNC_DB, then the config file's `db`, then sqlite:avsync.db.

#include "server/command_line.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "core/schema_doc.hpp"
#include "server/settings.hpp"

namespace avsync::server {
namespace {

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "avsync-server");
  auto cmd = parse_command_line(static_cast<int>(args.size()), args.data());
  EXPECT_TRUE(cmd);
  return *cmd;
}

Environment environment(std::map<std::string, std::string> variables) {
  return Environment{[variables](const std::string& name) -> std::optional<std::string> {
                       auto it = variables.find(name);
                       if (it == variables.end()) return std::nullopt;
                       return it->second;
                     },
                     1};
}

std::string database_url(const CommandLine& cmd, const Environment& env) {
  auto url = resolve_database_url(cmd, env);
  EXPECT_TRUE(url) << url.error().message;
  return url ? *url : "";
}

TEST(CommandLine, DatabaseUrlComesFromTheFlagThenTheEnvironmentThenTheDefault) {
  const Environment none = environment({});
  const Environment env = environment({{"AVSYNC_DB", "postgresql://env/db"}});
  EXPECT_EQ(database_url(parse({"migrate"}), none), "sqlite:avsync.db");
  EXPECT_EQ(database_url(parse({"migrate"}), env), "postgresql://env/db");
  EXPECT_EQ(database_url(parse({"migrate", "--db", "sqlite:flag.db"}), env), "sqlite:flag.db");
  EXPECT_EQ(database_url(parse({"migrate", "--db=sqlite:eq.db"}), env), "sqlite:eq.db");
  EXPECT_EQ(database_url(parse({"migrate"}), environment({{"AVSYNC_DB", ""}})), "sqlite:avsync.db")
      << "an empty variable counts as unset";
}

TEST(CommandLine, WordsAndFlagsAreSeparated) {
  auto cmd = parse({"admin", "create-token", "--business", "b", "--user", "ana"});
  EXPECT_EQ(cmd.words, (std::vector<std::string>{"admin", "create-token"}));
  EXPECT_EQ(cmd.flag("--user"), "ana");
  EXPECT_FALSE(cmd.flag("--ttl-hours"));
  EXPECT_FALSE(cmd.missing_value);
}

TEST(CommandLine, ALastFlagWithoutItsValueIsNotedForTheCommandToJudge) {
  auto cmd = parse({"serve", "--workers", "2", "--listen"});
  EXPECT_EQ(cmd.missing_value, "--listen");
  EXPECT_FALSE(cmd.flag("--listen"));
  EXPECT_EQ(cmd.flag("--workers"), "2");
}

TEST(CommandLine, ARepeatedFlagKeepsEveryOccurrenceAndTheLastOneIsItsValue) {
  auto cmd = parse({"serve", "--cors-origin", "https://a.example", "--workers", "3",
                    "--cors-origin=https://b.example", "--workers", "5"});
  EXPECT_EQ(cmd.flag_values("--cors-origin"),
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(cmd.flag("--workers"), "5");
  EXPECT_TRUE(cmd.flag_values("--listen").empty());
}

TEST(CommandLine, HelpIsNotedWhereverItStandsAndTheWordsAreKept) {
  for (auto args : {std::vector<const char*>{"admin", "create-token", "--help"},
                    {"-h", "admin", "create-token"},
                    {"admin", "create-token", "--business", "--help"}}) {
    auto cmd = parse(args);
    EXPECT_TRUE(cmd.help);
    EXPECT_EQ(cmd.words, (std::vector<std::string>{"admin", "create-token"}));
  }
  const char* dangling_after_help[] = {"avsync-server", "serve", "--help", "--listen"};
  EXPECT_TRUE(parse_command_line(4, dangling_after_help));
}

TEST(CommandLine, SwitchesTakeNoValue) {
  auto cmd = parse({"serve", "--print-config", "--workers", "2"});
  EXPECT_TRUE(cmd.has_switch("--print-config"));
  EXPECT_EQ(cmd.flag("--workers"), "2");
  auto demo = parse({"serve", "--demo", "--demo-dir", "/srv/demo"});
  EXPECT_TRUE(demo.has_switch("--demo")) << "a switch of the settings table";
  EXPECT_EQ(demo.flag("--demo-dir"), "/srv/demo");
  const char* with_value[] = {"avsync-server", "serve", "--print-config=yes"};
  EXPECT_FALSE(parse_command_line(3, with_value));
  auto schema = parse({"schema", "--json", "--markdown"});
  EXPECT_TRUE(schema.has_switch("--json"));
  EXPECT_TRUE(schema.has_switch("--markdown"));
  EXPECT_TRUE(schema.flags.empty());
}

std::string help(std::vector<std::string> words, bool markdown = false) {
  auto text = help_text(words, markdown);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : "";
}

TEST(CommandLineHelp, ServeHelpListsEverySettingWithItsVariableAndDefault) {
  const std::string text = help({"serve"});
  for (const SettingSpec& spec : serve_settings_table()) {
    const std::string value = spec.value_name.empty() ? "" : " " + std::string(spec.value_name);
    EXPECT_NE(text.find("  " + spec.flag() + value + "\n      " + std::string(spec.help)),
              std::string::npos)
        << spec.flag();
    EXPECT_NE(text.find("env " + spec.environment_variable()), std::string::npos) << spec.flag();
  }
  EXPECT_NE(text.find("default: 127.0.0.1:8080"), std::string::npos);
  EXPECT_NE(text.find("default: max(4, 2 × cores) = "), std::string::npos);
  EXPECT_NE(text.find("--print-config"), std::string::npos);
  EXPECT_NE(text.find("--help"), std::string::npos);
  EXPECT_NE(text.find("  --demo\n"), std::string::npos) << "a switch shows no value";
  EXPECT_NE(text.find("default: off; env AVSYNC_DEMO (true or false, 1 or 0)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  --demo-dir DIR\n"), std::string::npos);
  EXPECT_NE(text.find("/clients/web/dist/demo); env AVSYNC_DEMO_DIR"), std::string::npos)
      << "help shows where this build looks for the demo";
}

TEST(CommandLineHelp, EveryCommandHasHelpWithItsOwnFlagsAndTheDatabaseOnes) {
  const std::map<std::vector<std::string>, std::vector<std::string>> expected = {
      {{"migrate"}, {"--db URL", "--config FILE", "AVSYNC_DB", "AVSYNC_CONFIG", "default: sqlite:avsync.db"}},
      {{"admin", "create-business"}, {"--name NAME", "required", "--db URL", "--config FILE"}},
      {{"admin", "create-token"}, {"--business ID", "--user NAME", "--ttl-hours N", "default: 720", "--db URL"}},
      {{"admin", "revoke-token"}, {"--token TOKEN", "--db URL", "--config FILE"}},
      {{"admin"}, {"create-business", "create-token", "revoke-token"}},
      {{"schema"}, {"usage: avsync-server schema [--json | --markdown]", "--json", "--markdown", "docs/schema.md"}},
      {{}, {"serve", "migrate", "admin create-token", "schema ", "help [COMMAND]"}},
  };
  for (const auto& [words, needles] : expected) {
    const std::string text = help(words);
    for (const std::string& needle : needles) EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
  EXPECT_EQ(help({"migrate"}).find("--workers"), std::string::npos) << "migrate takes only the database settings";
  EXPECT_EQ(help({"schema"}).find("--db"), std::string::npos) << "schema needs no database";
  EXPECT_EQ(help({"schema"}).find("AVSYNC_"), std::string::npos) << "schema takes no settings";
}

TEST(CommandLineHelp, UnknownWordsAreAnErrorAndMarkdownIsForServe) {
  EXPECT_FALSE(help_text(std::vector<std::string>{"frobnicate"}, false));
  EXPECT_FALSE(help_text(std::vector<std::string>{"admin", "nope"}, false));
  EXPECT_FALSE(help_text(std::vector<std::string>{"migrate"}, true));
  EXPECT_EQ(help({"serve"}, true), serve_settings_markdown());
}

// What run_command did: its exit code and what it printed.
struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

Outcome run(std::vector<const char*> args) {
  const CommandLine cmd = parse(std::move(args));
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int exit_code = run_command(cmd);
  std::cout.flush();
  std::cerr.flush();
  std::string out = testing::internal::GetCapturedStdout();
  return {exit_code, std::move(out), testing::internal::GetCapturedStderr()};
}

TEST(SchemaCommand, PrintsTheRegistryAsTextJsonOrMarkdownWithoutADatabase) {
  const Outcome text = run({"schema"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, render_schema_text());
  EXPECT_EQ(text.err, "");
  const Outcome json = run({"schema", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, render_schema_json());
  const Outcome markdown = run({"schema", "--markdown"});
  EXPECT_EQ(markdown.exit_code, 0) << markdown.err;
  EXPECT_EQ(markdown.out, render_schema_markdown());
}

TEST(SchemaCommand, HelpAskedAnyWayDescribesItsSwitches) {
  for (auto args : {std::vector<const char*>{"schema", "--help"},
                    {"help", "schema"},
                    {"schema", "--markdown", "--help"}}) {
    const Outcome r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, help({"schema"}));
  }
}

TEST(SchemaCommand, AnUnknownFlagOrBothSwitchesAreAUsageError) {
  const Outcome xml = run({"schema", "--xml"});
  EXPECT_EQ(xml.exit_code, 2);
  EXPECT_EQ(xml.out, "");
  EXPECT_EQ(xml.err,
            "avsync-server: unknown flag --xml\n"
            "usage: avsync-server schema [--json | --markdown]\n"
            "       (avsync-server help schema lists every flag)\n");
  const Outcome both = run({"schema", "--json", "--markdown"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--json or --markdown, not both"), std::string::npos) << both.err;
  const Outcome database = run({"schema", "--db", "sqlite:schema.db"});
  EXPECT_EQ(database.exit_code, 2);
  EXPECT_NE(database.err.find("unknown flag --db"), std::string::npos) << database.err;
  const Outcome word = run({"schema", "sales"});
  EXPECT_EQ(word.exit_code, 2);
  EXPECT_NE(word.err.find("schema takes no arguments besides flags"), std::string::npos) << word.err;
}

TEST(CommandLineUsage, ASwitchOfServeIsAnUnknownFlagToTheOtherCommands) {
  const Outcome r = run({"migrate", "--demo", "--db", "sqlite:never.db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("avsync-server: unknown flag --demo\n"), std::string::npos) << r.err;
}

TEST(CommandLineUsage, AFlagTheCommandTakesButWithoutItsValueIsAUsageError) {
  const Outcome r = run({"admin", "revoke-token", "--token"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("avsync-server: --token needs a value\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: avsync-server admin revoke-token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace avsync::server

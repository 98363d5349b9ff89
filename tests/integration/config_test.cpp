// Configuration and help, through the real binaries: a server configured by a TOML file,
// the precedence flag > environment > file > default as `serve --print-config` shows it,
// and help on every command of avsync-server and avsync.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/schema.hpp"
#include "http_client.hpp"
#include "server_process.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kOk = 0, kUsage = 2;

// The value of `key = ...` in --print-config's output, without its comment.
std::string printed(const std::string& toml, const std::string& key) {
  std::istringstream lines(toml);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(key + " = ")) continue;
    line = line.substr(key.size() + 3);
    return line.substr(0, line.find("  #"));
  }
  return "(absent)";
}

// A loopback port nothing listens on right now.
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("avsync-config-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The environment of a run: in the test's directory (so a default sqlite:avsync.db lands
  // there), without the variables a developer's shell may hold, plus `set`.
  ProgramEnvironment clean_environment(std::vector<std::pair<std::string, std::optional<std::string>>> set = {}) {
    ProgramEnvironment env{{}, dir_.string()};
    for (const char* name : {"AVSYNC_CONFIG", "AVSYNC_DB", "AVSYNC_WORKERS", "AVSYNC_LISTEN", "AVSYNC_CORS_ORIGIN",
                             "AVSYNC_DATA"})
      env.variables.emplace_back(name, std::nullopt);
    env.variables.insert(env.variables.end(), set.begin(), set.end());
    return env;
  }
  CommandOutput server(std::vector<std::string> args) { return server(std::move(args), clean_environment()); }
  CommandOutput server(std::vector<std::string> args, const ProgramEnvironment& env) {
    args.insert(args.begin(), AVSYNC_SERVER_BIN);
    return run_program(args, env);
  }
  CommandOutput client(std::vector<std::string> args, const ProgramEnvironment& env) {
    args.insert(args.begin(), AVSYNC_CLI_BIN);
    return run_program(args, env);
  }

  // Every flag of the settings table, read from the table itself (its Markdown rows).
  std::vector<std::string> serve_flags() {
    auto table = server({"help", "serve", "--markdown"});
    EXPECT_EQ(table.exit_code, kOk) << table.err;
    std::vector<std::string> flags;
    std::istringstream lines(table.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("| `--")) continue;
      flags.push_back(line.substr(3, line.find_first_of(" `", 3) - 3));
    }
    return flags;
  }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  std::filesystem::path dir_;
};

TEST_F(ConfigTest, AServerConfiguredByAFileMigratesAndListensWhereTheFileSays) {
  const std::uint16_t port = free_port();
  const std::string db = "sqlite:" + (dir_ / "from-file.db").string();
  const std::string config = write("avsync.toml", "listen = \"127.0.0.1:" + std::to_string(port) + "\"\n" +
                                                      "db = \"" + db + "\"\nworkers = 2\nrate-limit = 0\n");

  auto migrated = server({"migrate", "--config", config});
  ASSERT_EQ(migrated.exit_code, kOk) << migrated.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-file.db")) << "migrate read db from the file";
  auto business = server({"admin", "create-business", "--name", "Filed", "--config", config});
  ASSERT_EQ(business.exit_code, kOk) << business.err;

  const auto out = dir_ / "serve.out", err = dir_ / "serve.err";
  pid_t pid = spawn_program({AVSYNC_SERVER_BIN, "serve", "--config", config}, out, err, clean_environment());
  std::string said;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
    std::ifstream in(out);
    said.assign(std::istreambuf_iterator<char>(in), {});
    if (said.find('\n') != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(said, "avsync-server listening on http://127.0.0.1:" + std::to_string(port) + "\n");
  EXPECT_EQ(HttpClient(port).request("GET", "/healthz").status, 200);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(ConfigTest, AnAddressInUseIsSaidPlainlyWithHowToChooseAnother) {
  // A port held by a listening socket of this test.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto out =
      server({"serve", "--listen", address, "--db", "sqlite:" + (dir_ / "busy.db").string()});
  // `make run` checks before it builds or prints anything, and says how to choose another.
  auto make_run = run_program({std::string(AVSYNC_SOURCE_DIR) + "/scripts/dev-run", "--check-port"},
                              clean_environment({{"LISTEN", address}}));
  auto free =
      run_program({std::string(AVSYNC_SOURCE_DIR) + "/scripts/dev-run", "--check-port"},
                  clean_environment({{"LISTEN", "127.0.0.1:" + std::to_string(free_port())}}));
  ::close(fd);
  EXPECT_EQ(make_run.exit_code, 1);
  EXPECT_NE(make_run.err.find(address + " is already in use"), std::string::npos) << make_run.err;
  EXPECT_NE(make_run.err.find("LISTEN=127.0.0.1:"), std::string::npos) << make_run.err;
  EXPECT_EQ(make_run.out, "");
  EXPECT_EQ(free.exit_code, kOk) << free.err;

  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("cannot listen on " + address + ": Address already in use"),
            std::string::npos)
      << out.err;
  EXPECT_NE(out.err.find("--listen HOST:PORT"), std::string::npos) << out.err;
  EXPECT_EQ(out.err.find("boost"), std::string::npos) << "no library internals: " << out.err;
}

TEST_F(ConfigTest, AFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault) {
  const std::string config =
      write("avsync.toml", "workers = 3\nlisten = \"127.0.0.1:7001\"\ncors-origin = [\"https://file.example.com\"]\n");

  auto file_only = server({"serve", "--config", config, "--print-config"});
  ASSERT_EQ(file_only.exit_code, kOk) << file_only.err;
  EXPECT_EQ(printed(file_only.out, "workers"), "3");
  EXPECT_EQ(printed(file_only.out, "db-pool"), "4") << "the derived default follows the file's workers";
  EXPECT_EQ(printed(file_only.out, "listen"), "\"127.0.0.1:7001\"");
  EXPECT_EQ(printed(file_only.out, "cors-origin"), "[\"https://file.example.com\"]");
  EXPECT_NE(file_only.out.find("workers = 3  # " + config + ":1"), std::string::npos) << file_only.out;

  const auto env = clean_environment(
      {{"AVSYNC_CONFIG", config}, {"AVSYNC_WORKERS", "4"}, {"AVSYNC_CORS_ORIGIN", "https://a.example.com,https://b.example.com"}});
  auto from_env = server({"serve", "--print-config"}, env);
  ASSERT_EQ(from_env.exit_code, kOk) << from_env.err;
  EXPECT_EQ(printed(from_env.out, "workers"), "4");
  EXPECT_EQ(printed(from_env.out, "listen"), "\"127.0.0.1:7001\"") << "AVSYNC_CONFIG named the file";
  EXPECT_EQ(printed(from_env.out, "cors-origin"), "[\"https://a.example.com\", \"https://b.example.com\"]");

  auto from_flag = server({"serve", "--print-config", "--workers", "5", "--cors-origin", "https://c.example.com"}, env);
  ASSERT_EQ(from_flag.exit_code, kOk) << from_flag.err;
  EXPECT_EQ(printed(from_flag.out, "workers"), "5");
  EXPECT_EQ(printed(from_flag.out, "cors-origin"), "[\"https://c.example.com\"]");

  auto defaults = server({"serve", "--print-config"});
  ASSERT_EQ(defaults.exit_code, kOk) << defaults.err;
  EXPECT_EQ(printed(defaults.out, "listen"), "\"127.0.0.1:8080\"");
  EXPECT_EQ(printed(defaults.out, "db"), "\"sqlite:avsync.db\"");
  EXPECT_EQ(printed(defaults.out, "rate-limit"), "100");

  // The printed file, fed back, resolves to the same settings.
  const std::string again = write("again.toml", from_flag.out);
  auto reread = server({"serve", "--config", again, "--print-config"});
  ASSERT_EQ(reread.exit_code, kOk) << reread.err;
  for (std::string key : {"workers", "listen", "cors-origin", "db-pool", "rate-burst", "threads"})
    EXPECT_EQ(printed(reread.out, key), printed(from_flag.out, key)) << key;
}

TEST_F(ConfigTest, ABadFileOrValueIsAUsageErrorThatSaysWhere) {
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& c : {Case{"wokers = 8\n", "avsync.toml:1: unknown key 'wokers'"},
                        Case{"workers = \"8\"\n", "avsync.toml:1: workers must be a TOML integer"},
                        Case{"workers = 8\nlisten = \"x\n", "avsync.toml:2:"},
                        Case{"cors-origin = [\"*\"]\n", "exact origins only"}}) {
    const std::string config = write("avsync.toml", c.text);
    // migrate checks every key and type of the file, but only the value of db.
    std::vector<std::vector<std::string>> runs{{"serve", "--config", config}};
    if (c.text.find('*') == std::string::npos) runs.push_back({"migrate", "--config", config});
    for (const auto& args : runs) {
      auto out = server(args);
      EXPECT_EQ(out.exit_code, kUsage) << c.text;
      EXPECT_NE(out.err.find(c.expected), std::string::npos) << out.err;
      EXPECT_NE(out.err.find("usage"), std::string::npos) << out.err;
    }
  }
  auto missing = server({"serve", "--config", (dir_ / "absent.toml").string()});
  EXPECT_EQ(missing.exit_code, kUsage);
  EXPECT_NE(missing.err.find("absent.toml: No such file or directory"), std::string::npos) << missing.err;
  auto env = server({"serve", "--print-config"}, clean_environment({{"AVSYNC_WORKERS", "0"}}));
  EXPECT_EQ(env.exit_code, kUsage);
  EXPECT_NE(env.err.find("AVSYNC_WORKERS must be an integer from 1 to 1000"), std::string::npos) << env.err;
  EXPECT_EQ(server({"serve", "--jwks-url", "ftp://x", "--print-config"}).exit_code, kUsage);
  EXPECT_EQ(server({"serve", "--wokers", "2"}).exit_code, kUsage);
  EXPECT_EQ(server({"migrate", "--workers", "2"}).exit_code, kUsage) << "migrate takes only db and config";
}

TEST_F(ConfigTest, ServeHelpListsEveryFlagOfTheSettingsTableWithItsVariable) {
  const auto flags = serve_flags();
  ASSERT_GT(flags.size(), 30u);
  for (std::vector<std::string> args : {std::vector<std::string>{"serve", "--help"}, {"serve", "-h"},
                                        {"help", "serve"}, {"serve", "--workers", "2", "--help"}}) {
    auto out = server(args);
    ASSERT_EQ(out.exit_code, kOk) << args[1];
    for (const std::string& flag : flags) {
      const bool listed =
          out.out.find("  " + flag + " ") != std::string::npos ||
          out.out.find("  " + flag + "\n") != std::string::npos;  // a switch (--demo)
      EXPECT_TRUE(listed) << flag;
      std::string variable = "AVSYNC_" + flag.substr(2);
      for (char& c : variable) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
      EXPECT_NE(out.out.find("env " + variable), std::string::npos) << variable;
    }
    EXPECT_NE(out.out.find("default: 127.0.0.1:8080"), std::string::npos);
    EXPECT_NE(out.out.find(" here"), std::string::npos) << "a computed default shows its value on this machine";
    EXPECT_NE(out.out.find("--print-config"), std::string::npos);
  }
}

TEST_F(ConfigTest, EveryServerCommandHasHelpAndAnUnknownOneIsAUsageError) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> helps = {
      {{"help"}, "admin create-token"},
      {{"help"}, "serve listens on 127.0.0.1:8080"},
      {{"help"}, "schema"},
      {{"schema", "--help"}, "--markdown"},
      {{"--help"}, "admin create-token"},
      {{"-h"}, "migrate"},
      {{"migrate", "--help"}, "AVSYNC_DB"},
      {{"help", "migrate"}, "--config FILE"},
      {{"admin", "--help"}, "revoke-token"},
      {{"help", "admin"}, "create-business"},
      {{"admin", "create-business", "--help"}, "--name NAME"},
      {{"admin", "create-token", "--help"}, "--ttl-hours N"},
      {{"help", "admin", "create-token"}, "--business ID"},
      {{"admin", "revoke-token", "-h"}, "--token TOKEN"},
  };
  for (const auto& [args, needle] : helps) {
    auto out = server(args);
    EXPECT_EQ(out.exit_code, kOk) << args[0];
    EXPECT_NE(out.out.find(needle), std::string::npos) << args[0] << ": " << out.out;
  }
  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"}, {"help", "frobnicate"},
                                        {"admin", "frobnicate"}, {}, {"serve", "extra"}}) {
    auto out = server(args);
    EXPECT_EQ(out.exit_code, kUsage) << (args.empty() ? "" : args[0]);
    EXPECT_NE(out.err.find("help"), std::string::npos) << out.err;
  }
}

TEST_F(ConfigTest, EveryClientCommandHasHelpAndEntityHelpListsTheRegistrysFields) {
  const auto env = clean_environment({{"AVSYNC_DATA", (dir_ / "never.db").string()}});
  for (std::vector<std::string> args : {std::vector<std::string>{"help"}, {"--help"}, {"-h"}, {"--json", "help"}}) {
    auto out = client(args, env);
    EXPECT_EQ(out.exit_code, kOk);
    EXPECT_NE(out.out.find("usage: avsync"), std::string::npos) << out.out;
  }
  for (std::string command : {"init", "sync", "status", "watch", "queue", "retry", "discard"}) {
    for (std::vector<std::string> args : {std::vector<std::string>{command, "--help"}, {"help", command}}) {
      auto out = client(args, env);
      EXPECT_EQ(out.exit_code, kOk) << command;
      EXPECT_NE(out.out.find("usage: avsync " + command), std::string::npos) << out.out;
      EXPECT_NE(out.out.find("--data FILE"), std::string::npos) << out.out;
    }
  }
  EXPECT_NE(client({"sync", "--help"}, env).out.find("--batch-size N"), std::string::npos);

  for (const EntitySpec& entity : all_entities()) {
    std::string word(entity.name);
    for (char& c : word) c = c == '_' ? '-' : c;
    EXPECT_EQ(client({word, "--help"}, env).exit_code, kOk) << word;
    for (std::string verb : {"add", "update", "delete", "list", "show"}) {
      for (std::vector<std::string> args : {std::vector<std::string>{word, verb, "--help"}, {"help", word, verb}}) {
        auto out = client(args, env);
        ASSERT_EQ(out.exit_code, kOk) << word << " " << verb << ": " << out.err;
        EXPECT_NE(out.out.find("usage: avsync " + word + " " + verb), std::string::npos) << out.out;
        if (verb != "add" && verb != "update") continue;
        for (const FieldSpec& field : entity.fields) {
          std::string flag = "--" + std::string(field.name);
          for (char& c : flag) c = c == '_' ? '-' : c;
          const std::size_t at = out.out.find("  " + flag + " ");
          ASSERT_NE(at, std::string::npos) << word << " " << verb << " lacks " << flag << "\n" << out.out;
          const std::string line = out.out.substr(at, out.out.find('\n', at) - at);
          if (verb == "add") {
            EXPECT_EQ(line.find("required") != std::string::npos, field.required) << line;
          }
          if (field.type == FieldType::reference) {
            EXPECT_NE(line.find(std::string(field.references).substr(0, 4)), std::string::npos) << line;
          }
          for (std::string_view choice : field.choices) EXPECT_NE(line.find(choice), std::string::npos) << line;
          if (field.max_length) {
            EXPECT_NE(line.find(std::to_string(field.max_length)), std::string::npos) << line;
          }
        }
      }
    }
  }
  auto payments = client({"payments", "add", "--help"}, env);
  EXPECT_EQ(payments.exit_code, kOk);
  EXPECT_NE(payments.out.find("--amount DECIMAL"), std::string::npos) << payments.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "never.db")) << "help opens no data file";

  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"}, {"help", "frobnicate"},
                                        {"help", "customers", "frobnicate"}}) {
    auto out = client(args, env);
    EXPECT_EQ(out.exit_code, kUsage) << args.back();
    EXPECT_NE(out.err.find("avsync help"), std::string::npos) << out.err;
  }
}

}  // namespace
}  // namespace avsync::testing

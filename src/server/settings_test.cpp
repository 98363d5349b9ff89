// The serve settings: the table's rules and defaults, where values come from (flag, then
// environment, then config file, then default), and the config file's errors.

#include "server/settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "server/command_line.hpp"

namespace avsync::server {
namespace {

using namespace std::chrono_literals;

CommandLine command(std::vector<std::string> args) {
  std::vector<const char*> argv{"avsync-server", "serve"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  auto cmd = parse_command_line(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(cmd) << cmd.error().message;
  return *cmd;
}

Environment environment(std::map<std::string, std::string> variables = {}, std::uint64_t cores = 1) {
  return Environment{[variables](const std::string& name) -> std::optional<std::string> {
                       auto it = variables.find(name);
                       if (it == variables.end()) return std::nullopt;
                       return it->second;
                     },
                     cores};
}

ServeSettings resolved(std::vector<std::string> args, const Environment& env = environment()) {
  auto r = resolve_serve_settings(command(std::move(args)), env);
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->settings : ServeSettings{};
}

// The usage error for these flags; fails the test when they resolve.
std::string refusal(std::vector<std::string> args, const Environment& env = environment()) {
  std::string shown;
  for (const auto& a : args) shown += a + " ";
  auto r = resolve_serve_settings(command(std::move(args)), env);
  EXPECT_FALSE(r) << shown << "was accepted";
  return r ? "" : r.error().message;
}

// A file in a directory of the test's own, removed at the end.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("avsync-settings-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text, const std::string& name = "avsync.toml") {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST(Settings, DefaultsFollowTheCoresAndTheServerOptions) {
  const ServeSettings one = resolved({}, environment({}, 1));
  EXPECT_EQ(one.listen, (ListenAddress{"127.0.0.1", 8080}));
  EXPECT_EQ(one.db, "sqlite:avsync.db");
  EXPECT_FALSE(one.config_file);
  EXPECT_EQ(one.threads, 2u);
  EXPECT_EQ(one.workers, 4u);
  EXPECT_EQ(one.db_pool, 5u) << "one connection per worker and one for /healthz";
  EXPECT_EQ(one.tenant_concurrency, 2u);
  EXPECT_EQ(one.batch_limit, 500u);
  EXPECT_EQ(one.body_limit, 4u << 20);
  EXPECT_EQ(one.header_timeout, 10s);
  EXPECT_EQ(one.read_timeout, 30s);
  EXPECT_EQ(one.max_connections, 10'000u);
  EXPECT_EQ(one.max_connections_per_address, 2'000u);
  EXPECT_EQ(one.tenant_queue, 32u);
  EXPECT_EQ(std::tuple(one.rate_limit, one.rate_burst), std::tuple(100u, 200u));
  EXPECT_EQ(std::tuple(one.op_rate_limit, one.op_rate_burst), std::tuple(1000u, 2000u));
  EXPECT_EQ(std::tuple(one.auth_failure_limit, one.auth_failure_burst), std::tuple(10u, 50u));
  EXPECT_EQ(one.log_retention, std::chrono::days(90));
  EXPECT_FALSE(one.jwks_file || one.jwks_url || one.jwt_secret_file || one.jwt_issuer || one.jwt_audience ||
               one.admin_token_file);
  EXPECT_EQ(one.jwt_business_claim, "businessId");
  EXPECT_EQ(one.jwt_user_claim, "sub");
  EXPECT_EQ(one.jwt_leeway, 60s);
  EXPECT_TRUE(one.cors_origins.empty());
  EXPECT_FALSE(one.demo);
  EXPECT_TRUE(one.demo_dir.ends_with("/clients/web/dist/demo")) << one.demo_dir;

  const ServeSettings eight = resolved({}, environment({}, 8));
  EXPECT_EQ(eight.threads, 8u);
  EXPECT_EQ(eight.workers, 16u);
  EXPECT_EQ(eight.db_pool, 17u);
  EXPECT_EQ(eight.tenant_concurrency, 8u);
}

TEST(Settings, ThePoolAndTheTenantShareFollowTheWorkersGiven) {
  const ServeSettings ten = resolved({"--workers", "10"});
  EXPECT_EQ(ten.db_pool, 11u);
  EXPECT_EQ(ten.tenant_concurrency, 5u);
  const ServeSettings one = resolved({"--workers", "1"});
  EXPECT_EQ(one.db_pool, 2u);
  EXPECT_EQ(one.tenant_concurrency, 1u);
  EXPECT_EQ(resolved({"--workers", "1000"}).db_pool, 1001u) << "a derived default is not held to the flag's bound";
  EXPECT_EQ(resolved({"--workers", "10", "--db-pool", "3"}).db_pool, 3u);
}

TEST(Settings, ARateGivenWithoutItsBurstGetsTwiceTheRateAndZeroTurnsTheLimitOff) {
  EXPECT_EQ(resolved({"--rate-limit", "7"}).rate_burst, 14u);
  EXPECT_EQ(resolved({"--op-rate-limit", "7"}).op_rate_burst, 14u);
  EXPECT_EQ(resolved({"--auth-failure-limit", "7"}).auth_failure_burst, 14u);
  EXPECT_EQ(resolved({}, environment({{"AVSYNC_RATE_LIMIT", "9"}})).rate_burst, 18u);
  EXPECT_EQ(resolved({"--rate-limit", "7", "--rate-burst", "1"}).rate_burst, 1u);

  const ServeSettings off = resolved({"--rate-limit", "0", "--op-rate-limit", "0", "--auth-failure-limit", "0"});
  EXPECT_EQ(std::tuple(off.rate_limit, off.rate_burst), std::tuple(0u, 0u));
  EXPECT_EQ(std::tuple(off.op_rate_limit, off.op_rate_burst), std::tuple(0u, 0u));
  EXPECT_EQ(std::tuple(off.auth_failure_limit, off.auth_failure_burst), std::tuple(0u, 0u));

  EXPECT_NE(refusal({"--rate-limit", "5", "--rate-burst", "0"}).find("--rate-burst must be at least 1"),
            std::string::npos);
  EXPECT_NE(refusal({"--op-rate-burst", "0"}).find("--op-rate-burst must be at least 1 while op-rate-limit"),
            std::string::npos)
      << "the default rate is on";
  EXPECT_NE(refusal({}, environment({{"AVSYNC_AUTH_FAILURE_BURST", "0"}})).find("AVSYNC_AUTH_FAILURE_BURST"),
            std::string::npos);
}

TEST(Settings, EveryIntegerSettingTakesItsBoundsAndRefusesAnythingElse) {
  // The bursts' lower bound, 0, is only valid with the limits off.
  const std::vector<std::string> limits_off{"--rate-limit", "0", "--op-rate-limit", "0", "--auth-failure-limit", "0"};
  for (const SettingSpec& spec : serve_settings_table()) {
    if (spec.kind != ValueKind::integer) continue;
    SCOPED_TRACE(spec.flag());
    for (std::uint64_t bound : {spec.min, spec.max}) {
      std::vector<std::string> args = limits_off;
      args.insert(args.end(), {spec.flag(), std::to_string(bound)});
      auto r = resolve_serve_settings(command(args), environment());
      ASSERT_TRUE(r) << r.error().message;
    }
    const std::string rule =
        spec.flag() + " must be an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
    std::vector<std::string> bad{std::to_string(spec.max + 1), "-1", "abc", "", " 5", "5 ", "+5", "0x10", "1.5",
                                 "99999999999999999999999"};
    if (spec.min > 0) bad.push_back(std::to_string(spec.min - 1));
    for (const std::string& value : bad) {
      std::vector<std::string> args = limits_off;
      args.insert(args.end(), {spec.flag(), value});
      const std::string message = refusal(args);
      EXPECT_NE(message.find(rule), std::string::npos) << message;
      EXPECT_NE(message.find("(got \"" + value + "\")"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(refusal({"--workers", "1001"}), "--workers must be an integer from 1 to 1000 (got \"1001\")");
}

TEST(Settings, ListenTakesHostColonPortWithIpv6InBrackets) {
  EXPECT_EQ(resolved({"--listen", "0.0.0.0:80"}).listen, (ListenAddress{"0.0.0.0", 80}));
  EXPECT_EQ(resolved({"--listen", "[::1]:8080"}).listen, (ListenAddress{"::1", 8080}));
  EXPECT_EQ(resolved({"--listen", "localhost:0"}).listen, (ListenAddress{"localhost", 0}));
  EXPECT_EQ(resolved({"--listen", "::1:9000"}).listen, (ListenAddress{"::1", 9000})) << "split at the last colon";
  EXPECT_EQ((ListenAddress{"::1", 8080}).to_string(), "[::1]:8080");
  EXPECT_EQ((ListenAddress{"127.0.0.1", 1}).to_string(), "127.0.0.1:1");
  for (std::string bad : {"8080", "host:", "host:65536", "host:80x", "host:-1", ":80", "[::1:80", "[]:80", ""}) {
    const std::string message = refusal({"--listen", bad});
    EXPECT_NE(message.find("--listen must"), std::string::npos) << bad << ": " << message;
  }
}

TEST(Settings, TextSettingsRefuseEmptyValuesAndTheJwksUrlMustBeHttp) {
  const ServeSettings s = resolved({"--jwks-url", "https://id.example.com/.well-known/jwks.json", "--jwks-file",
                                    "/etc/jwks.json", "--jwt-secret-file", "/run/secret", "--jwt-issuer",
                                    "https://id.example.com/", "--jwt-audience", "avsync", "--jwt-business-claim",
                                    "org", "--jwt-user-claim", "email", "--jwt-leeway", "0", "--admin-token-file",
                                    "/run/admin", "--db", "postgresql://db/avsync"});
  EXPECT_EQ(s.jwks_url, "https://id.example.com/.well-known/jwks.json");
  EXPECT_EQ(s.jwks_file, "/etc/jwks.json");
  EXPECT_EQ(s.jwt_secret_file, "/run/secret");
  EXPECT_EQ(s.jwt_issuer, "https://id.example.com/");
  EXPECT_EQ(s.jwt_audience, "avsync");
  EXPECT_EQ(s.jwt_business_claim, "org");
  EXPECT_EQ(s.jwt_user_claim, "email");
  EXPECT_EQ(s.jwt_leeway, 0s);
  EXPECT_EQ(s.admin_token_file, "/run/admin");
  EXPECT_EQ(s.db, "postgresql://db/avsync");
  EXPECT_EQ(resolved({"--jwks-url", "http://localhost:9000/jwks", "--jwt-issuer", "i", "--jwt-audience", "a"}).jwks_url,
            "http://localhost:9000/jwks");
  // A key set can sign for other apps: only iss and aud tell this server's tokens apart.
  for (const std::vector<std::string>& partial :
       {std::vector<std::string>{"--jwks-url", "https://id.example.com/jwks"},
        {"--jwks-file", "/etc/jwks.json", "--jwt-issuer", "i"},
        {"--jwks-url", "https://id.example.com/jwks", "--jwt-audience", "a"}})
    EXPECT_NE(refusal(partial).find("need --jwt-issuer and --jwt-audience"), std::string::npos);
  EXPECT_FALSE(resolved({"--jwt-secret-file", "/run/secret"}).jwt_issuer) << "an HS256 secret is this app's alone";

  for (std::string bad : {"ftp://id.example.com/jwks", "id.example.com/jwks", "http://", "HTTPS://x"})
    EXPECT_NE(refusal({"--jwks-url", bad}).find("--jwks-url must be an http:// or https:// URL"), std::string::npos);
  for (const SettingSpec& spec : serve_settings_table()) {
    if (spec.kind != ValueKind::text) continue;
    EXPECT_EQ(refusal({spec.flag(), ""}), spec.flag() + " must not be empty");
  }
}

TEST(Settings, CorsOriginsAreExactOriginsAndTheFlagRepeats) {
  const ServeSettings s = resolved({"--cors-origin", "https://app.example.com", "--cors-origin",
                                    "http://localhost:5173", "--cors-origin", "https://[::1]:8443"});
  EXPECT_EQ(s.cors_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:5173", "https://[::1]:8443"}));

  const std::string star = refusal({"--cors-origin", "*"});
  EXPECT_NE(star.find("--cors-origin takes exact origins only"), std::string::npos) << star;
  EXPECT_NE(refusal({"--cors-origin", "https://*.example.com"}).find("exact origins only"), std::string::npos);
  for (std::string bad : {"https://app.example.com/", "https://app.example.com/path", "app.example.com",
                          "ftp://app.example.com", "https://App.Example.com", "https://app.example.com:0",
                          "https://app.example.com:99999", "https://app.example.com:", "https://",
                          "https://user@app.example.com", "https://app.example.com?x", "null"}) {
    const std::string message = refusal({"--cors-origin", "https://ok.example.com", "--cors-origin", bad});
    EXPECT_NE(message.find("--cors-origin must be an exact origin scheme://host[:port]"), std::string::npos)
        << bad << ": " << message;
  }
}

TEST(Settings, TheEnvironmentNamesEachSettingAndAnEmptyVariableIsUnset) {
  const ServeSettings s = resolved({}, environment({{"AVSYNC_LISTEN", "0.0.0.0:9000"},
                                                    {"AVSYNC_WORKERS", "6"},
                                                    {"AVSYNC_JWKS_URL", "https://id.example.com/jwks"},
                                                    {"AVSYNC_CORS_ORIGIN", "https://a.example.com, https://b.example.com"},
                                                    {"AVSYNC_LOG_RETENTION_DAYS", "0"},
                                                    {"AVSYNC_JWT_ISSUER", "https://id.example.com"},
                                                    {"AVSYNC_JWT_AUDIENCE", "avsync"},
                                                    {"AVSYNC_JWT_SECRET_FILE", ""}}));
  EXPECT_EQ(s.listen, (ListenAddress{"0.0.0.0", 9000}));
  EXPECT_EQ(s.workers, 6u);
  EXPECT_EQ(s.db_pool, 7u);
  EXPECT_EQ(s.jwks_url, "https://id.example.com/jwks");
  EXPECT_EQ(s.cors_origins, (std::vector<std::string>{"https://a.example.com", "https://b.example.com"}));
  EXPECT_EQ(s.log_retention, std::chrono::days(0)) << "0 keeps the log forever";
  EXPECT_FALSE(s.jwt_secret_file) << "an empty variable is unset";

  EXPECT_EQ(refusal({}, environment({{"AVSYNC_WORKERS", "many"}})),
            "AVSYNC_WORKERS must be an integer from 1 to 1000 (got \"many\")");
  EXPECT_NE(refusal({}, environment({{"AVSYNC_CORS_ORIGIN", "https://a.example.com,,https://b.example.com"}}))
                .find("AVSYNC_CORS_ORIGIN must not be empty"),
            std::string::npos);
  EXPECT_NE(refusal({}, environment({{"AVSYNC_CORS_ORIGIN", "*"}})).find("exact origins only"), std::string::npos);

  for (const SettingSpec& spec : serve_settings_table()) {
    std::string expected = "AVSYNC_";
    for (char c : spec.name) expected += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_EQ(spec.environment_variable(), expected);
  }
}

TEST(Settings, EverySettingHasAHelpLineAValueNameAndAUniqueName) {
  std::set<std::string_view> names;
  for (const SettingSpec& spec : serve_settings_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    EXPECT_EQ(spec.value_name.empty(), spec.kind == ValueKind::boolean)
        << spec.name << ": a switch takes no value";
    EXPECT_EQ(find_setting(spec.name), &spec);
    if (spec.kind == ValueKind::integer) {
      EXPECT_NE(spec.integer_default, nullptr) << spec.name;
    }
  }
  EXPECT_EQ(find_setting("--workers"), nullptr);
  EXPECT_EQ(describe_default(*find_setting("listen"), 4), "127.0.0.1:8080");
  EXPECT_EQ(describe_default(*find_setting("workers"), 4), "max(4, 2 × cores) = 8 here");
  EXPECT_EQ(describe_default(*find_setting("workers"), std::nullopt), "max(4, 2 × cores)");
  EXPECT_EQ(describe_default(*find_setting("db-pool"), 4), "workers + 1 (one per worker, one for /healthz) = 9 here");
  EXPECT_EQ(describe_default(*find_setting("body-limit"), 4), "4194304");
  EXPECT_EQ(describe_default(*find_setting("jwks-url"), 4), "not set");
  EXPECT_EQ(describe_default(*find_setting("demo"), 4), "off");
  // The docs' table is the same on every machine; help shows where this build looks.
  EXPECT_EQ(describe_default(*find_setting("demo-dir"), std::nullopt),
            "dist/demo under clients/web of the source tree it was built from");
  EXPECT_EQ(describe_default(*find_setting("demo-dir"), 4),
            "dist/demo under clients/web of the source tree it was built from (" +
                resolved({}).demo_dir + ")");
}

TEST(Settings, DemoIsASwitchOnTheCommandLineAndTrueOrFalseElsewhere) {
  EXPECT_TRUE(resolved({"--demo"}).demo);
  EXPECT_TRUE(resolved({"--demo", "--demo-dir", "/srv/demo"}).demo);
  EXPECT_EQ(resolved({"--demo", "--demo-dir", "/srv/demo"}).demo_dir, "/srv/demo");
  EXPECT_EQ(resolved({"--demo-dir", "/srv/demo", "--demo"}).demo_dir, "/srv/demo")
      << "--demo takes no value, so it never swallows the next flag";
  for (std::string on : {"true", "1"})
    EXPECT_TRUE(resolved({}, environment({{"AVSYNC_DEMO", on}})).demo) << on;
  for (std::string off : {"false", "0", ""})
    EXPECT_FALSE(resolved({}, environment({{"AVSYNC_DEMO", off}})).demo) << off;
  EXPECT_TRUE(resolved({"--demo"}, environment({{"AVSYNC_DEMO", "false"}})).demo)
      << "the flag beats the environment";
  EXPECT_EQ(resolved({}, environment({{"AVSYNC_DEMO_DIR", "/opt/demo"}})).demo_dir, "/opt/demo");
  for (std::string bad : {"yes", "on", "TRUE", "2"})
    EXPECT_EQ(refusal({}, environment({{"AVSYNC_DEMO", bad}})),
              "AVSYNC_DEMO must be true, false, 1 or 0 (got \"" + bad + "\")");

  const char* with_value[] = {"avsync-server", "serve", "--demo=true"};
  EXPECT_FALSE(parse_command_line(3, with_value)) << "a switch takes no value";
}

TEST_F(ConfigFileTest, AFileSetsAnySettingByItsFlagName) {
  const std::string path = write(R"(# the service's settings
listen = "0.0.0.0:8080"
workers = 8
db = "postgresql://avsync@db/avsync"
rate-limit = 0
cors-origin = ["https://app.example.com", "https://admin.example.com"]
jwt-leeway = 30
log-retention-days = 0
demo = true
demo-dir = "/srv/avsync/demo"
)");
  const ServeSettings s = resolved({"--config", path});
  EXPECT_EQ(s.config_file, path);
  EXPECT_EQ(s.listen, (ListenAddress{"0.0.0.0", 8080}));
  EXPECT_EQ(s.workers, 8u);
  EXPECT_EQ(s.db_pool, 9u);
  EXPECT_EQ(s.db, "postgresql://avsync@db/avsync");
  EXPECT_EQ(std::tuple(s.rate_limit, s.rate_burst), std::tuple(0u, 0u)) << "a rate given by the file is given";
  EXPECT_EQ(s.cors_origins, (std::vector<std::string>{"https://app.example.com", "https://admin.example.com"}));
  EXPECT_EQ(s.jwt_leeway, 30s);
  EXPECT_EQ(s.log_retention, std::chrono::days(0));
  EXPECT_TRUE(s.demo);
  EXPECT_EQ(s.demo_dir, "/srv/avsync/demo");
  EXPECT_EQ(resolved({}, environment({{"AVSYNC_CONFIG", path}})).workers, 8u) << "AVSYNC_CONFIG names the file";
}

TEST_F(ConfigFileTest, AFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault) {
  const std::string path = write("workers = 3\nlisten = \"127.0.0.1:7001\"\ncors-origin = [\"https://file.example.com\"]\n");
  const Environment env = environment({{"AVSYNC_WORKERS", "4"},
                                       {"AVSYNC_CONFIG", path},
                                       {"AVSYNC_CORS_ORIGIN", "https://env.example.com"}});

  auto all = resolve_serve_settings(command({"--workers", "5", "--cors-origin", "https://flag.example.com"}), env);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->settings.workers, 5u);
  EXPECT_EQ(all->origins.at("workers"), "--workers");
  EXPECT_EQ(all->settings.cors_origins, (std::vector<std::string>{"https://flag.example.com"}))
      << "lists are replaced, not merged";
  EXPECT_EQ(all->settings.listen.port, 7001);
  EXPECT_EQ(all->origins.at("listen"), path + ":2");
  EXPECT_EQ(all->origins.at("threads"), "default");

  auto no_flag = resolve_serve_settings(command({}), env);
  ASSERT_TRUE(no_flag);
  EXPECT_EQ(no_flag->settings.workers, 4u);
  EXPECT_EQ(no_flag->origins.at("workers"), "AVSYNC_WORKERS");
  EXPECT_EQ(no_flag->settings.cors_origins, (std::vector<std::string>{"https://env.example.com"}));

  const ServeSettings file_only = resolved({"--config", path});
  EXPECT_EQ(file_only.workers, 3u);
  EXPECT_EQ(file_only.cors_origins, (std::vector<std::string>{"https://file.example.com"}));
  EXPECT_EQ(resolved({}).workers, 4u) << "no file: the default (1 core)";

  const std::string other = write("workers = 9\n", "other.toml");
  EXPECT_EQ(resolved({"--config", other}, environment({{"AVSYNC_CONFIG", path}})).workers, 9u)
      << "--config beats AVSYNC_CONFIG";
}

TEST_F(ConfigFileTest, TheDatabaseOfTheAdminCommandsComesFromTheFileToo) {
  const std::string path = write("db = \"sqlite:/var/lib/avsync/file.db\"\nworkers = 2\n");
  const std::vector<const char*> argv{"avsync-server", "migrate", "--config", path.c_str()};
  auto cmd = parse_command_line(4, argv.data());
  ASSERT_TRUE(cmd);
  EXPECT_EQ(*resolve_database_url(*cmd, environment()), "sqlite:/var/lib/avsync/file.db");
  EXPECT_EQ(*resolve_database_url(*cmd, environment({{"AVSYNC_DB", "sqlite:env.db"}})), "sqlite:env.db");
  const std::string broken = write("db = 5\n", "broken.toml");
  const std::vector<const char*> argv2{"avsync-server", "migrate", "--config", broken.c_str()};
  auto cmd2 = parse_command_line(4, argv2.data());
  EXPECT_FALSE(resolve_database_url(*cmd2, environment()));
}

TEST_F(ConfigFileTest, AnUnknownKeyIsAnErrorNamingItTheFileAndTheLine) {
  const std::string path = write("workers = 2\nwokers = 8\n");
  EXPECT_EQ(refusal({"--config", path}),
            path + ":2: unknown key 'wokers' (keys are the serve flags without their dashes; see avsync-server help "
                   "serve)");
  EXPECT_NE(refusal({"--config", write("[server]\nworkers = 2\n", "table.toml")}).find("unknown key 'server'"),
            std::string::npos);
  EXPECT_NE(refusal({"--config", write("--workers = 2\n", "dashes.toml")}).find("unknown key '--workers'"),
            std::string::npos);
  EXPECT_NE(refusal({"--config", write("config = \"other.toml\"\n", "nested.toml")})
                .find(":1: config cannot be set in a config file"),
            std::string::npos);
}

TEST_F(ConfigFileTest, AValueOfTheWrongTomlTypeIsRefusedNotConverted) {
  struct Case {
    std::string line;
    std::string expected;
  };
  for (const Case& c : {Case{"workers = \"8\"", ":1: workers must be a TOML integer (workers = 8), not a string"},
                        Case{"workers = 8.0", "workers must be a TOML integer (workers = 8), not a floating-point"},
                        Case{"workers = true", "not a boolean"},
                        Case{"listen = 8080", ":1: listen must be a TOML string (listen = \"...\"), not an integer"},
                        Case{"cors-origin = \"https://a.example.com\"",
                             "cors-origin must be an array of strings (cors-origin = [\"...\", \"...\"]), not a string"},
                        Case{"cors-origin = [\"https://a.example.com\", 5]", "not an array holding something else"},
                        Case{"workers = 0", ":1: workers must be an integer from 1 to 1000 (got 0)"},
                        Case{"workers = -1", ":1: workers must be an integer from 1 to 1000 (got -1)"},
                        Case{"cors-origin = [\"*\"]", ":1: cors-origin takes exact origins only"},
                        Case{"jwt-issuer = \"\"", ":1: jwt-issuer must not be empty"},
                        Case{"demo = \"true\"", ":1: demo must be a TOML boolean (demo = true), not a string"},
                        Case{"demo = 1", ":1: demo must be a TOML boolean (demo = true), not an integer"}}) {
    const std::string path = write(c.line + "\n");
    const std::string message = refusal({"--config", path});
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.line << ": " << message;
    EXPECT_TRUE(message.starts_with(path)) << message;
  }
}

TEST_F(ConfigFileTest, AMalformedOrMissingFileSaysWhere) {
  const std::string path = write("workers = 2\nlisten = \"0.0.0.0:80\n");
  const std::string malformed = refusal({"--config", path});
  EXPECT_TRUE(malformed.starts_with(path + ":2:")) << malformed;
  EXPECT_NE(malformed.find("not valid TOML"), std::string::npos) << malformed;

  const std::string duplicate = refusal({"--config", write("workers = 2\nworkers = 3\n", "dup.toml")});
  EXPECT_NE(duplicate.find("dup.toml:2:"), std::string::npos) << duplicate;

  const std::string missing = (dir_ / "absent.toml").string();
  EXPECT_EQ(refusal({"--config", missing}), "cannot read config file " + missing + ": No such file or directory");
  EXPECT_NE(refusal({}, environment({{"AVSYNC_CONFIG", missing}})).find(missing), std::string::npos);
  EXPECT_EQ(refusal({"--config", ""}), "--config must not be empty");
}

TEST_F(ConfigFileTest, PrintedSettingsReadBackAsTheSameSettings) {
  auto original = resolve_serve_settings(
      command({"--listen", "[::1]:7000", "--workers", "3", "--rate-limit", "0", "--cors-origin", "https://a.example.com",
               "--cors-origin", "http://localhost:3000", "--jwt-issuer", "iss \"quoted\" \\ back", "--db",
               "sqlite:/tmp/x.db"}),
      environment({{"AVSYNC_JWT_LEEWAY", "5"}}));
  ASSERT_TRUE(original) << original.error().message;
  const std::string toml = to_toml(*original);
  EXPECT_NE(toml.find("workers = 3  # --workers\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("jwt-leeway = 5  # AVSYNC_JWT_LEEWAY\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("threads = 2  # default\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("# jwks-url = \"\"  # not set\n"), std::string::npos) << toml;

  const std::string path = write(toml);
  auto again = resolve_serve_settings(command({"--config", path}), environment());
  ASSERT_TRUE(again) << again.error().message << "\n" << toml;
  ServeSettings expected = original->settings;
  expected.config_file = path;
  EXPECT_EQ(again->settings, expected) << toml;
}

TEST(Settings, PrintedSettingsHideTheDatabasePassword) {
  for (auto [url, shown] : std::vector<std::pair<std::string, std::string>>{
           {"postgresql://avsync:s3cret@db:5432/avsync", "postgresql://avsync:***@db:5432/avsync"},
           {"postgresql://db/avsync?user=a&password=s3cret&sslmode=require",
            "postgresql://db/avsync?user=a&password=***&sslmode=require"},
           {"postgresql://avsync@db/avsync", "postgresql://avsync@db/avsync"}}) {
    auto r = resolve_serve_settings(command({"--db", url}), environment());
    ASSERT_TRUE(r);
    const std::string toml = to_toml(*r);
    EXPECT_NE(toml.find("db = \"" + shown + "\""), std::string::npos) << toml;
    EXPECT_EQ(toml.find("s3cret"), std::string::npos) << toml;
  }
}

// docs/configuration.md holds the table `avsync-server help serve --markdown` prints,
// between two marker lines; a setting added without regenerating it fails here.
TEST(Settings, MetricsListenIsOffByDefaultAndTakesAnAddressLikeListen) {
  const ServeSettings defaults = resolved({});
  EXPECT_FALSE(defaults.metrics_listen);
  EXPECT_EQ(defaults.log_level, "info");
  EXPECT_EQ(resolved({"--metrics-listen", "10.0.0.5:9100"}).metrics_listen, "10.0.0.5:9100");
  EXPECT_EQ(resolved({}, environment({{"AVSYNC_METRICS_LISTEN", "[::1]:9100"}})).metrics_listen,
            "[::1]:9100");
  EXPECT_NE(refusal({"--metrics-listen", "9100"}).find("--metrics-listen must be HOST:PORT"),
            std::string::npos);
  EXPECT_NE(refusal({"--metrics-listen", "h:70000"}).find("must be HOST:PORT"), std::string::npos);
}

TEST(Settings, LogLevelTakesTheFourLevelsOnly) {
  for (std::string level : {"error", "warn", "info", "debug"})
    EXPECT_EQ(resolved({"--log-level", level}).log_level, level);
  EXPECT_EQ(resolved({}, environment({{"AVSYNC_LOG_LEVEL", "warn"}})).log_level, "warn");
  const std::string refused = refusal({"--log-level", "verbose"});
  EXPECT_NE(refused.find("--log-level must be error, warn, info or debug"), std::string::npos)
      << refused;
}

TEST(Settings, TheDocsTableIsTheGeneratedOne) {
  const auto doc_path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
                        "configuration.md";
  std::ifstream in(doc_path);
  ASSERT_TRUE(in) << doc_path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "<!-- BEGIN generated by: avsync-server help serve --markdown -->\n";
  const std::string end = "<!-- END generated -->";
  const std::size_t from = doc.find(begin);
  const std::size_t to = doc.find(end);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(doc.substr(from + begin.size(), to - from - begin.size()), serve_settings_markdown())
      << "regenerate the table: avsync-server help serve --markdown";
}

}  // namespace
}  // namespace avsync::server

// The `avsync` command line, run as a separate process per command against a real server.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;

// Exit codes, as `avsync --help` and docs/client.md document them.
constexpr int kOk = 0, kLocalFailure = 1, kUsage = 2, kOffline = 3, kRejected = 4, kNotFound = 5,
              kUnauthenticated = 6, kNotAvsync = 7, kTls = 8;

class CliTest : public SyncServerTest {
 protected:
  void SetUp() override {
    SyncServerTest::SetUp();
    work_ = server->dir() / "cli";
    std::filesystem::create_directories(work_);
  }

  // Runs avsync in the test's working directory, AVSYNC_DATA unset unless given.
  CommandOutput avsync(std::vector<std::string> args, std::optional<std::string> data_env = std::nullopt) {
    args.insert(args.begin(), AVSYNC_CLI_BIN);
    return run_program(args, ProgramEnvironment{{{"AVSYNC_DATA", data_env}}, work_.string()});
  }
  // With --data device.db and the server configured.
  CommandOutput device(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", "device.db"});
    return avsync(args);
  }
  void init_device() {
    auto out = device({"init", "--server", url(), "--token", token_a});
    ASSERT_EQ(out.exit_code, kOk) << out.err;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  std::filesystem::path work_;
};

TEST_F(CliTest, AddPrintsTheNewIdAloneAndTheRowCanBeShownUpdatedAndListed) {
  init_device();
  auto added = device({"customers", "add", "--name", "Ana Ruiz", "--credit-limit", "10.5"});
  ASSERT_EQ(added.exit_code, kOk) << added.err;
  std::string id = trimmed(added.out);
  EXPECT_EQ(id.size(), 36u) << added.out;
  EXPECT_EQ(added.out, id + "\n");

  auto shown = device({"--json", "customers", "show", id});
  ASSERT_EQ(shown.exit_code, kOk);
  auto row = parse_json_body(shown.out);
  EXPECT_EQ(row.at("name"), "Ana Ruiz");
  EXPECT_EQ(row.at("credit_limit"), "10.50");
  EXPECT_EQ(row.at("syncState"), "pending");

  EXPECT_EQ(device({"customers", "update", id, "--phone", "555", "--clear", "credit_limit"}).exit_code, kOk);
  auto sale = device({"sales", "add", "--customer-id", id, "--total", "20", "--payment-type", "cash"});
  ASSERT_EQ(sale.exit_code, kOk) << sale.err;
  auto item = device({"sale-items", "add", "--sale_id", trimmed(sale.out), "--product-name", "Pan",
                      "--quantity", "2", "--unit-price", "10"});
  ASSERT_EQ(item.exit_code, kOk) << item.err;
  auto listed = device({"--json", "sale-items", "list", "--sale-id", trimmed(sale.out)});
  ASSERT_EQ(listed.exit_code, kOk);
  auto rows = parse_json_body(listed.out).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("subtotal"), "20.00");

  auto synced = device({"--json", "sync"});
  ASSERT_EQ(synced.exit_code, kOk) << synced.err;
  EXPECT_EQ(parse_json_body(synced.out).at("pushed"), 4);
  // A new process reports the file's counters: the 4 operations pushed, and the 3 rows the
  // pull brought back (the feed is compacted: the customer's insert and update are one row).
  auto status = parse_json_body(device({"--json", "status"}).out);
  EXPECT_EQ(status.at("state"), "idle");
  EXPECT_EQ(status.at("pending"), 0);
  EXPECT_TRUE(status.at("lastSyncAt").is_string());
  EXPECT_EQ(status.at("operationsPushed"), 4);
  EXPECT_EQ(status.at("rowsPulled"), 3);
  EXPECT_EQ(status.at("retries"), 0);
  row = parse_json_body(device({"--json", "customers", "show", id}).out);
  EXPECT_EQ(row.at("phone"), "555");
  EXPECT_TRUE(row.at("credit_limit").is_null());
  EXPECT_EQ(row.at("syncState"), "synced");
}

TEST_F(CliTest, TheDataFileIsTheFlagThenTheEnvironmentThenTheWorkingDirectory) {
  EXPECT_EQ(avsync({"init", "--server", url(), "--token", token_a}).exit_code, kOk);
  EXPECT_TRUE(std::filesystem::exists(work_ / "avsync-client.db"));
  EXPECT_EQ(avsync({"init", "--server", url(), "--token", token_a}, (work_ / "env.db").string()).exit_code, kOk);
  EXPECT_TRUE(std::filesystem::exists(work_ / "env.db"));
  EXPECT_EQ(avsync({"--data", "flag.db", "init", "--server", url(), "--token", token_a},
                   (work_ / "env.db").string()).exit_code, kOk);
  EXPECT_TRUE(std::filesystem::exists(work_ / "flag.db"));

  ASSERT_EQ(avsync({"customers", "add", "--name", "in env"}, (work_ / "env.db").string()).exit_code, kOk);
  auto env_rows = parse_json_body(avsync({"--json", "customers", "list"}, (work_ / "env.db").string()).out);
  auto default_rows = parse_json_body(avsync({"--json", "customers", "list"}).out);
  EXPECT_EQ(env_rows.as_array().size(), 1u);
  EXPECT_EQ(default_rows.as_array().size(), 0u);
}

TEST_F(CliTest, ExitCodesTellUsageOfflineRejectedNotFoundAndUnauthenticatedApart) {
  EXPECT_EQ(device({"sync"}).exit_code, kUnauthenticated) << "not configured yet";
  EXPECT_EQ(device({"frobnicate"}).exit_code, kUsage);
  auto unknown = device({"frobnicate", "now", "--fast", "yes"});
  EXPECT_EQ(unknown.exit_code, kUsage);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  auto extra = device({"sync", "everything"});
  EXPECT_EQ(extra.exit_code, kUsage);
  EXPECT_NE(extra.err.find("usage: avsync sync [--batch-size N] [--page-size N]"), std::string::npos)
      << extra.err;
  EXPECT_EQ(device({"init", "--server", "ftp://example.com", "--token", token_a}).exit_code,
            kUsage);
  EXPECT_EQ(device({"init", "--server", "sync.example.com", "--token", token_a}).exit_code, kUsage);
  EXPECT_EQ(device({"init", "--server", url(), "--token", "two words"}).exit_code, kUsage);
  EXPECT_EQ(device({"customers"}).exit_code, kUsage);
  EXPECT_EQ(device({"customers", "show"}).exit_code, kUsage);
  EXPECT_EQ(device({"customers", "add", "--name"}).exit_code, kUsage);
  EXPECT_EQ(device({"customers", "list", "--limit", "many"}).exit_code, kUsage);
  EXPECT_EQ(avsync({}).exit_code, kUsage);
  EXPECT_EQ(device({"--help"}).exit_code, kOk);

  init_device();
  auto invalid = device({"--json", "customers", "add", "--name", ""});
  EXPECT_EQ(invalid.exit_code, kRejected);
  EXPECT_EQ(parse_json_body(invalid.out).at("error").at("code"), "VALIDATION_ERROR");
  EXPECT_EQ(device({"customers", "add", "--name", "x", "--shoe-size", "42"}).exit_code, kRejected);
  EXPECT_EQ(device({"customers", "show", new_uuid()}).exit_code, kNotFound);
  EXPECT_EQ(device({"customers", "delete", new_uuid()}).exit_code, kNotFound);
  EXPECT_EQ(device({"retry", "nope"}).exit_code, kNotFound);

  ASSERT_EQ(device({"customers", "add", "--name", "queued"}).exit_code, kOk);
  server->stop();
  auto offline = device({"sync"});
  EXPECT_EQ(offline.exit_code, kOffline);
  EXPECT_NE(offline.err.find("NETWORK"), std::string::npos) << offline.err;
  auto offline_status = parse_json_body(device({"--json", "status"}).out);
  EXPECT_EQ(offline_status.at("state"), "offline");
  EXPECT_EQ(offline_status.at("lastError").at("code"), "NETWORK");
  const auto retries_before = offline_status.at("retries").as_int64();
  EXPECT_GE(retries_before, 1);
  EXPECT_EQ(device({"sync"}).exit_code, kOffline);
  EXPECT_NE(device({"status"}).out.find("retries: " + std::to_string(retries_before + 1) + "\n"),
            std::string::npos)
      << "each failed attempt is counted in the file";
  server->start();
  EXPECT_EQ(device({"sync"}).exit_code, kOk);

  server->revoke_token(token_a);
  ASSERT_EQ(device({"customers", "add", "--name", "after revoke"}).exit_code, kOk);
  EXPECT_EQ(device({"sync"}).exit_code, kUnauthenticated);
}

TEST_F(CliTest, CommandsOnAMissingDataFileSayNotConfiguredAndCreateNothing) {
  for (std::vector<std::string> args : {std::vector<std::string>{"status"},
                                        {"sync"},
                                        {"queue"},
                                        {"--json", "status"},
                                        {"customers", "list"},
                                        {"customers", "add", "--name", "Ana"},
                                        {"retry", "x"}}) {
    auto out = device(args);
    EXPECT_EQ(out.exit_code, kUnauthenticated) << args.front() << ": " << out.err;
    EXPECT_NE((out.err + out.out).find("NOT_CONFIGURED"), std::string::npos) << out.err << out.out;
    EXPECT_NE((out.err + out.out).find("avsync init"), std::string::npos) << out.err << out.out;
  }
  EXPECT_TRUE(std::filesystem::is_empty(work_)) << "a command other than init created a file";
}

TEST_F(CliTest, InitAsksTheServerFirstAndStoresNothingItRefuses) {
  auto refused = device({"init", "--server", url(), "--token", "hello"});
  EXPECT_EQ(refused.exit_code, kUnauthenticated) << refused.err;
  EXPECT_NE(refused.err.find("refused the token"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing was stored"), std::string::npos) << refused.err;
  EXPECT_EQ(device({"init", "--server", url(), "--token", "avs_" + std::string(43, 'A')}).exit_code,
            kUnauthenticated);
  server->revoke_token(token_b);
  EXPECT_EQ(device({"init", "--server", url(), "--token", token_b}).exit_code, kUnauthenticated);

  // Something answers there, but not an avsync server: a path prefix no route has.
  auto elsewhere = device({"init", "--server", url() + "/api", "--token", token_a});
  EXPECT_EQ(elsewhere.exit_code, kNotAvsync) << elsewhere.err;
  EXPECT_NE(elsewhere.err.find("not answer as an avsync server"), std::string::npos)
      << elsewhere.err;

  // https:// to a server that speaks plain HTTP is a TLS failure, not "offline".
  const std::string https = "https://127.0.0.1:" + std::to_string(server->port());
  auto tls = device({"init", "--server", https, "--token", token_a});
  EXPECT_EQ(tls.exit_code, kTls) << tls.err;
  EXPECT_NE(tls.err.find("TLS_FAILURE"), std::string::npos) << tls.err;
  EXPECT_NE(tls.err.find("http://"), std::string::npos)
      << "says how to spell a plain-HTTP URL: " << tls.err;
  EXPECT_TRUE(std::filesystem::is_empty(work_)) << "a refused init stored something";

  auto accepted = device({"--json", "init", "--server", url(), "--token", token_a});
  ASSERT_EQ(accepted.exit_code, kOk) << accepted.err;
  EXPECT_EQ(parse_json_body(accepted.out).at("checked"), true);
  EXPECT_EQ(parse_json_body(device({"--json", "status"}).out).at("configured"), true);
}

TEST_F(CliTest, InitWhileTheServerIsDownStoresUncheckedAndSyncTellsTlsFromOffline) {
  const std::string https = "https://127.0.0.1:" + std::to_string(server->port());
  server->stop();
  auto unchecked = device({"--json", "init", "--server", https, "--token", token_a});
  ASSERT_EQ(unchecked.exit_code, kOk) << unchecked.err;
  auto answer = parse_json_body(unchecked.out);
  EXPECT_EQ(answer.at("checked"), false);
  EXPECT_EQ(answer.at("checkError").at("code"), "NETWORK");
  EXPECT_EQ(device({"sync"}).exit_code, kOffline);

  server->start();
  auto tls = device({"sync"});
  EXPECT_EQ(tls.exit_code, kTls) << tls.err;
  auto status = parse_json_body(device({"--json", "status"}).out);
  EXPECT_EQ(status.at("state"), "error") << "a TLS failure is not offline";
  EXPECT_EQ(status.at("lastError").at("code"), "TLS_FAILURE");
}

TEST_F(CliTest, AFileThatIsNotAnAvsyncDatabaseIsALocalFailure) {
  std::ofstream(work_ / "device.db") << "these are my notes, not a database\n";
  auto out = device({"status"});
  EXPECT_EQ(out.exit_code, kLocalFailure) << out.err;
  EXPECT_NE(out.err.find("LOCAL_STORAGE"), std::string::npos) << out.err;
}

TEST_F(CliTest, AnEmptyQueueSaysSo) {
  init_device();
  auto out = device({"queue"});
  EXPECT_EQ(out.exit_code, kOk);
  EXPECT_NE(out.out.find("the queue is empty"), std::string::npos) << out.out;
}

TEST_F(CliTest, ARejectedOperationIsListedAndCanBeRetriedOrDiscarded) {
  init_device();
  std::string id = new_uuid();
  // Another device holds this id with other values: our insert is a CONFLICT.
  push({operation(new_uuid(), "customers", "insert", id, R"({"name":"Theirs"})", ts(1))});
  ASSERT_EQ(device({"customers", "add", "--id", id, "--name", "Mine"}).exit_code, kOk);
  ASSERT_EQ(device({"distribuciones", "add", "--product-name", "Pan", "--quantity", "3"}).exit_code, kOk);
  auto synced = device({"--json", "sync"});
  EXPECT_EQ(synced.exit_code, kRejected);
  EXPECT_EQ(parse_json_body(synced.out).at("pushed"), 1);

  auto queue = parse_json_body(device({"--json", "queue"}).out).as_array();
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].at("status"), "failed");
  EXPECT_EQ(queue[0].at("lastError").at("code"), "CONFLICT");
  std::string op = queue[0].at("operationId").as_string().c_str();
  EXPECT_NE(device({"queue"}).out.find(op), std::string::npos);

  EXPECT_EQ(device({"retry", op}).exit_code, kOk);
  EXPECT_EQ(parse_json_body(device({"--json", "queue"}).out).as_array()[0].at("status"), "pending");
  EXPECT_EQ(device({"sync"}).exit_code, kRejected);
  EXPECT_EQ(device({"discard", op}).exit_code, kOk);
  EXPECT_EQ(parse_json_body(device({"--json", "queue"}).out).as_array().size(), 0u);
  EXPECT_EQ(parse_json_body(device({"--json", "customers", "show", id}).out).at("name"), "Theirs");
  EXPECT_EQ(device({"sync"}).exit_code, kOk);
}

TEST_F(CliTest, WatchRunsTheEngineAndPrintsStateChangesUntilSignalled) {
  init_device();
  ASSERT_EQ(device({"customers", "add", "--name", "watched"}).exit_code, kOk);
  auto out_path = work_ / "watch.out";
  pid_t pid = spawn_program({AVSYNC_CLI_BIN, "--data", (work_ / "device.db").string(), "watch"}, out_path,
                            work_ / "watch.err");
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out_path);
    out.assign(std::istreambuf_iterator<char>(in), {});
    if (out.find("idle pending=0") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(out.find("syncing pending=1"), std::string::npos) << out;
  EXPECT_NE(out.find("idle pending=0"), std::string::npos) << out;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kOk);
}

TEST_F(CliTest, WatchPrintsEachRowAnotherDeviceChangesAsItArrives) {
  init_device();
  ASSERT_EQ(avsync({"--data", "other.db", "init", "--server", url(), "--token", token_a}).exit_code,
            kOk);
  const std::string out_path = (work_ / "watch.out").string();
  pid_t pid =
      spawn_program({AVSYNC_CLI_BIN, "--data", (work_ / "device.db").string(), "--json", "watch"},
                    out_path, work_ / "watch.err");
  auto wait_for_output = [&](const std::string& text) {
    std::string out;
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < deadline;) {
      std::ifstream in(out_path);
      out.assign(std::istreambuf_iterator<char>(in), {});
      if (out.find(text) != std::string::npos) break;
      std::this_thread::sleep_for(10ms);
    }
    return out;
  };
  // The watcher's first sync is done: from here on its long-poll brings what changes.
  std::string out = wait_for_output(R"("state":"idle")");
  auto added = avsync({"--data", "other.db", "customers", "add", "--name", "From elsewhere"});
  ASSERT_EQ(added.exit_code, kOk) << added.err;
  const std::string id = trimmed(added.out);
  ASSERT_EQ(avsync({"--data", "other.db", "sync"}).exit_code, kOk);
  const std::string line = R"({"entity":"customers","id":")" + id + R"(","action":"upsert"})";
  out = wait_for_output(line);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(out.find(line + "\n"), std::string::npos) << out;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kOk);

  // Without --json: ENTITY ID ACTION.
  pid = spawn_program({AVSYNC_CLI_BIN, "--data", (work_ / "device.db").string(), "watch"}, out_path,
                      work_ / "watch.err");
  wait_for_output("idle pending=0");
  ASSERT_EQ(avsync({"--data", "other.db", "customers", "delete", id}).exit_code, kOk);
  ASSERT_EQ(avsync({"--data", "other.db", "sync"}).exit_code, kOk);
  out = wait_for_output("customers " + id + " delete");
  ::kill(pid, SIGTERM);
  ::waitpid(pid, &status, 0);
  EXPECT_NE(out.find("customers " + id + " delete\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace avsync::testing

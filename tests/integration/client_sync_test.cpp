// The client SDK against a real avsync-server process over HTTP (on SQLite and on
// PostgreSQL, like the rest of the integration suite).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>

#include "avsync/client.hpp"
#include "sync_fixture.hpp"
#include "testing/status_recorder.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;

// A change observer that records every row it is told of and lets the test wait for one.
class ChangeRecorder {
 public:
  void operator()(const std::vector<ChangedRow>& changes) {
    std::lock_guard lock(mutex_);
    seen_.insert(seen_.end(), changes.begin(), changes.end());
    changed_.notify_all();
  }
  // Waits up to 30 s for the change; true when it came.
  bool wait_for(const std::string& entity, const std::string& id, ChangeAction action) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] {
      return std::any_of(seen_.begin(), seen_.end(), [&](const ChangedRow& c) {
        return c.entity == entity && c.id == id && c.action == action;
      });
    });
  }
  std::vector<ChangedRow> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ChangedRow> seen_;
};

class ClientSyncTest : public SyncServerTest {
 protected:
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::string data_path(const std::string& name) const { return (server->dir() / (name + ".db")).string(); }

  std::unique_ptr<Client> open_client(const std::string& name, ClientOptions options = {},
                                      const std::string& token = "") {
    options.data_path = data_path(name);
    options.request_timeout = 20s;
    auto client = Client::open(options);
    EXPECT_TRUE(client) << client.error().message;
    Status configured = (*client)->configure(url(), token.empty() ? token_a : token);
    EXPECT_TRUE(configured) << configured.error().message;
    return std::move(*client);
  }

  static std::string add(Client& c, const std::string& entity, const FieldValues& fields) {
    auto row = c.insert(entity, fields);
    EXPECT_TRUE(row) << entity << ": " << row.error().message;
    return row ? row->id : "";
  }

  static SyncReport sync(Client& c) {
    auto report = c.sync_once();
    EXPECT_TRUE(report) << to_string(report.error().code) << ": " << report.error().message;
    return report ? *report : SyncReport{};
  }

  // "entity/id" -> every field plus created_at and updated_at, as the replica holds them.
  static std::map<std::string, std::map<std::string, std::optional<std::string>>> replica_of(Client& c) {
    std::map<std::string, std::map<std::string, std::optional<std::string>>> state;
    for (const char* entity : {"customers", "sales", "sale_items", "abonos", "distribuciones"}) {
      ListQuery all;
      all.limit = 1'000'000;
      auto rows = c.list(entity, all);
      EXPECT_TRUE(rows);
      for (const Row& row : *rows) {
        auto& fields = state[row.entity + "/" + row.id];
        for (const auto& [name, value] : row.fields) fields[name] = value;
        fields["created_at"] = row.created_at;
        fields["updated_at"] = row.updated_at;
      }
    }
    return state;
  }

  // The same shape, from a full pull of the server's feed.
  std::map<std::string, std::map<std::string, std::optional<std::string>>> server_state(const std::string& token) {
    std::map<std::string, std::map<std::string, std::optional<std::string>>> state;
    for (const auto& [key, row] : state_of(token)) {
      if (row.action != "upsert") continue;
      auto& fields = state[key];
      for (const auto& [name, value] : row.data.as_object()) {
        if (name == "id") continue;
        fields[std::string(name)] =
            value.is_null() ? std::nullopt : std::optional<std::string>(value.as_string().c_str());
      }
    }
    return state;
  }

  std::int64_t count_server_rows(const std::string& table) {
    auto rows = query_database(server->db_url(), "SELECT count(*) FROM " + table);
    return std::stoll(rows.at(0).at(0).value_or("-1"));
  }
};

TEST_F(ClientSyncTest, OfflineWritesSyncAndASecondDeviceSeesThem) {
  auto a = open_client("a");
  std::string customer = add(*a, "customers", {{"name", "Ana Ruiz"}, {"phone", "+57 300"}});
  std::string sale = add(*a, "sales", {{"customer_id", customer}, {"total", "150.5"}, {"payment_type", "credit"}});
  add(*a, "sale_items", {{"sale_id", sale}, {"product_name", "Pan"}, {"quantity", "2"}, {"unit_price", "1.25"}});
  add(*a, "payments", {{"customer_id", customer}, {"sale_id", sale}, {"amount", "50"}});
  add(*a, "distribuciones", {{"product_name", "Pan"}, {"quantity", "10"}, {"seller", "Ana"}});
  EXPECT_EQ(a->get("sales", sale)->sync_state, RowSyncState::pending);
  EXPECT_EQ(a->status().pending, 5u);

  SyncReport report = sync(*a);
  EXPECT_EQ(report.pushed, 5u);
  EXPECT_EQ(report.pending, 0u);
  EXPECT_EQ(a->get("sales", sale)->sync_state, RowSyncState::synced);
  EXPECT_EQ(*a->get("sales", sale)->field("total"), "150.50");
  EXPECT_TRUE(a->status().last_sync_at);

  auto b = open_client("b");
  report = sync(*b);
  EXPECT_EQ(report.pulled, 5u);
  EXPECT_EQ(replica_of(*b), server_state(token_a));
  EXPECT_EQ(replica_of(*a), server_state(token_a));
  auto items = b->list("sale_items", ListQuery{{{"sale_id", sale}}});
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(*(*items)[0].field("subtotal"), "2.50");
}

TEST_F(ClientSyncTest, TheQueueSurvivesReopeningTheClient) {
  std::string id;
  {
    auto a = open_client("a");
    server->stop();
    id = add(*a, "customers", {{"name", "Offline"}});
    auto offline = a->sync_once();
    ASSERT_FALSE(offline);
    EXPECT_EQ(offline.error().code, ErrorCode::network);
    EXPECT_EQ(a->status().state, SyncState::offline);
  }
  server->start();
  auto again = open_client("a");
  EXPECT_EQ(again->status().pending, 1u);
  EXPECT_EQ(again->get("customers", id)->sync_state, RowSyncState::pending);
  EXPECT_EQ(sync(*again).pushed, 1u);
  EXPECT_EQ(again->status().pending, 0u);
  EXPECT_EQ(server_state(token_a).count("customers/" + id), 1u);
}

TEST_F(ClientSyncTest, AClientKilledMidPushRestartsWithItsQueueAndNoDuplicate) {
  constexpr int kOperations = 3000;
  {
    auto a = open_client("a");
    for (int i = 0; i < kOperations; ++i) {
      add(*a, "distribuciones", {{"product_name", "P" + std::to_string(i)}, {"quantity", "1"}});
    }
  }
  // `avsync sync` in its own process, killed with SIGKILL once the server has applied some
  // of its batches but not all.
  std::vector<std::string> argv{AVSYNC_CLI_BIN, "--data", data_path("a"), "sync", "--batch-size", "25"};
  pid_t pid = spawn_program(argv, server->dir() / "sync.out", server->dir() / "sync.err");
  std::int64_t applied_at_kill = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    applied_at_kill = count_server_rows("distribuciones");
    if (applied_at_kill > 0) break;
    std::this_thread::sleep_for(1ms);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the push finished before the kill; nothing was tested";
  applied_at_kill = count_server_rows("distribuciones");
  ASSERT_GT(applied_at_kill, 0);
  ASSERT_LT(applied_at_kill, kOperations);

  auto a = open_client("a");
  SyncStatus before = a->status();
  // Acknowledged operations may or may not have been recorded before the kill; none is lost.
  EXPECT_GE(before.pending, static_cast<std::size_t>(kOperations - applied_at_kill));
  EXPECT_LE(before.pending, static_cast<std::size_t>(kOperations));
  SyncReport report = sync(*a);
  EXPECT_EQ(report.rejected, 0u);
  EXPECT_EQ(report.pending, 0u);
  EXPECT_EQ(count_server_rows("distribuciones"), kOperations) << "every operation applied exactly once";
  EXPECT_EQ(count_server_rows("sync_operations"), kOperations) << "one log entry per operation id";
  EXPECT_EQ(replica_of(*a), server_state(token_a));
}

TEST_F(ClientSyncTest, TheEngineReportsOfflineBacksOffWithinTheCapAndDrainsWhenTheServerReturns) {
  ClientOptions options;
  options.retry.base = 40ms;
  options.retry.cap = 320ms;
  options.debounce = 10ms;
  options.connect_timeout = 2s;
  auto a = open_client("a", options);
  StatusRecorder log;
  a->set_observer([&](const SyncStatus& s) { log(s); });

  server->stop();
  for (int i = 0; i < 5; ++i) add(*a, "customers", {{"name", "C" + std::to_string(i)}});
  a->start();
  ASSERT_TRUE(log.wait_for([](const SyncStatus& s) { return s.retries >= 7; }));
  std::vector<long> delays;
  for (const SyncStatus& s : log.seen()) {
    if (s.state != SyncState::offline) continue;
    EXPECT_EQ(s.pending, 5u) << "offline writes stay pending";
    EXPECT_EQ(s.last_error->code, ErrorCode::network);
    delays.push_back(s.retry_in->count());
  }
  ASSERT_GE(delays.size(), 7u);
  for (std::size_t i = 0; i < delays.size(); ++i) {
    EXPECT_LE(delays[i], std::min<long>(320, 40L << std::min<std::size_t>(i, 10))) << "retry " << i + 1;
  }
  EXPECT_GT(*std::max_element(delays.begin() + 3, delays.end()), 40) << "the window grows";
  EXPECT_GT(std::set<long>(delays.begin(), delays.end()).size(), 3u) << "jitter";
  EXPECT_EQ(a->status().state, SyncState::offline);

  server->start();
  std::size_t mark = log.size();
  a->notify_online();
  ASSERT_TRUE(log.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle && s.pending == 0; }, mark));
  a->stop();
  SyncStatus done = a->status();
  EXPECT_EQ(done.state, SyncState::idle);
  EXPECT_EQ(done.operations_pushed, 5u);
  EXPECT_FALSE(done.last_error) << (done.last_error ? done.last_error->message : "") << "\n" << server->log();
  EXPECT_EQ(replica_of(*a), server_state(token_a));
}

// stop() during a request cancels it: that is not how syncing ended, so neither this
// client nor the next process to open the file reports it as an error.
TEST_F(ClientSyncTest, StoppingTheEngineMidRequestLeavesNoErrorBehind) {
  // A server that takes connections and never answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  ClientOptions options;
  options.data_path = data_path("stopped");
  options.request_timeout = 20s;
  {
    auto client = Client::open(options);
    ASSERT_TRUE(client) << client.error().message;
    ASSERT_TRUE((*client)->configure("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), token_a));
    StatusRecorder log;
    (*client)->set_observer([&](const SyncStatus& s) { log(s); });
    (*client)->start();
    ASSERT_TRUE(log.wait_for([](const SyncStatus& s) { return s.state == SyncState::syncing; }));
    std::this_thread::sleep_for(100ms);  // the request is on its way
    (*client)->stop();
    SyncStatus stopped = (*client)->status();
    EXPECT_EQ(stopped.state, SyncState::idle);
    EXPECT_FALSE(stopped.last_error) << stopped.last_error->message;
  }
  auto reopened = Client::open(options);
  ASSERT_TRUE(reopened);
  SyncStatus fresh = (*reopened)->status();
  EXPECT_EQ(fresh.state, SyncState::idle);
  EXPECT_FALSE(fresh.last_error) << fresh.last_error->message;
}

TEST_F(ClientSyncTest, TheEngineSyncsSoonAfterALocalWrite) {
  ClientOptions options;
  options.debounce = 20ms;
  auto a = open_client("a", options);
  StatusRecorder log;
  a->set_observer([&](const SyncStatus& s) { log(s); });
  a->start();
  ASSERT_TRUE(log.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  std::size_t mark = log.size();
  std::string id = add(*a, "customers", {{"name", "Soon"}});
  ASSERT_TRUE(log.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle && s.operations_pushed == 1; }, mark));
  EXPECT_EQ(a->get("customers", id)->sync_state, RowSyncState::synced);
  a->stop();
}

// Live mode alone carries the changes: the periodic sync is a day away, so what device B
// hears within the wait came through its long-poll.
TEST_F(ClientSyncTest, TwoDevicesConvergeWithLiveModeOnAndNoPeriodicSync) {
  ClientOptions options;
  options.sync_interval = 24h;
  options.debounce = 20ms;
  auto a = open_client("a", options);
  auto b = open_client("b", options);
  ChangeRecorder heard_by_a, heard_by_b;
  a->set_change_observer([&](const std::vector<ChangedRow>& c) { heard_by_a(c); });
  b->set_change_observer([&](const std::vector<ChangedRow>& c) { heard_by_b(c); });
  StatusRecorder a_log, b_log;
  a->set_observer([&](const SyncStatus& s) { a_log(s); });
  b->set_observer([&](const SyncStatus& s) { b_log(s); });
  a->start();
  b->start();
  ASSERT_TRUE(a_log.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));
  ASSERT_TRUE(b_log.wait_for([](const SyncStatus& s) { return s.state == SyncState::idle; }));

  const auto started = std::chrono::steady_clock::now();
  std::string customer = add(*a, "customers", {{"name", "Ana Ruiz"}});
  ASSERT_TRUE(heard_by_b.wait_for("customers", customer, ChangeAction::upsert)) << server->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s) << "within the wait, not at a sync";
  EXPECT_EQ(*b->get("customers", customer)->field("name"), "Ana Ruiz");

  ASSERT_TRUE(b->update("customers", customer, {{"name", "Ana B. Ruiz"}}));
  std::string sale =
      add(*b, "sales", {{"customer_id", customer}, {"total", "10"}, {"payment_type", "cash"}});
  ASSERT_TRUE(heard_by_a.wait_for("sales", sale, ChangeAction::upsert)) << server->log();
  ASSERT_TRUE(heard_by_a.wait_for("customers", customer, ChangeAction::upsert));
  EXPECT_EQ(*a->get("customers", customer)->field("name"), "Ana B. Ruiz");

  ASSERT_TRUE(b->remove("sales", sale));
  ASSERT_TRUE(heard_by_a.wait_for("sales", sale, ChangeAction::remove)) << server->log();
  EXPECT_FALSE(a->get("sales", sale));

  for (const ChangedRow& c : heard_by_b.seen()) {
    EXPECT_NE(c.id, sale) << "B's own writes are not reported to B";
  }
  a->stop();
  b->stop();
  EXPECT_EQ(replica_of(*a), server_state(token_a));
  EXPECT_EQ(replica_of(*b), server_state(token_a));
  EXPECT_FALSE(a->status().last_error);
  EXPECT_FALSE(b->status().last_error);
}

TEST_F(ClientSyncTest, APoisonOperationIsSetAsideAndTheOthersSync) {
  // Another device already created this id with different values: ours is a CONFLICT.
  std::string shared_id = new_uuid();
  auto other = open_client("other");
  ASSERT_TRUE(other->insert("customers", {{"name", "Theirs"}}, shared_id));
  sync(*other);

  auto a = open_client("a");
  ASSERT_TRUE(a->insert("customers", {{"name", "Mine"}}, shared_id));
  std::string kept = add(*a, "customers", {{"name", "Kept"}});
  add(*a, "distribuciones", {{"product_name", "Pan"}, {"quantity", "1"}});
  SyncReport report = sync(*a);
  EXPECT_EQ(report.pushed, 2u);
  EXPECT_EQ(report.rejected, 1u);
  EXPECT_EQ(report.pending, 0u);

  auto queue = a->queue();
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_EQ((*queue)[0].status, OperationStatus::failed);
  EXPECT_EQ((*queue)[0].entity_id, shared_id);
  EXPECT_EQ((*queue)[0].last_error->code, ErrorCode::conflict);
  EXPECT_EQ(a->status().failed, 1u);
  // The row shows the server's state, marked as having a failed change.
  auto row = a->get("customers", shared_id);
  ASSERT_TRUE(row);
  EXPECT_EQ(*row->field("name"), "Theirs");
  EXPECT_EQ(row->sync_state, RowSyncState::failed);
  EXPECT_EQ(a->get("customers", kept)->sync_state, RowSyncState::synced);

  // Retrying changes nothing on the server: it is refused again.
  ASSERT_TRUE(a->retry((*queue)[0].operation_id));
  EXPECT_EQ(*a->get("customers", shared_id)->field("name"), "Mine");
  EXPECT_EQ(sync(*a).rejected, 1u);

  ASSERT_TRUE(a->discard((*queue)[0].operation_id));
  EXPECT_EQ(a->status().failed, 0u);
  EXPECT_EQ(a->get("customers", shared_id)->sync_state, RowSyncState::synced);
  EXPECT_EQ(replica_of(*a), server_state(token_a));
}

TEST_F(ClientSyncTest, TwoClientsEditingOfflineConvergeWithTheServer) {
  auto a = open_client("a");
  auto b = open_client("b");
  std::string c1 = add(*a, "customers", {{"name", "Uno"}});
  std::string c2 = add(*a, "customers", {{"name", "Dos"}});
  std::string c3 = add(*a, "customers", {{"name", "Tres"}});
  std::string sale = add(*a, "sales", {{"customer_id", c1}, {"total", "10"}, {"payment_type", "cash"}});
  sync(*a);
  sync(*b);
  ASSERT_EQ(replica_of(*a), replica_of(*b));

  server->stop();  // both devices go offline
  ASSERT_TRUE(a->update("customers", c1, {{"name", "Uno (A)"}}));
  ASSERT_TRUE(a->remove("customers", c2));  // A deletes c2 ...
  add(*a, "sale_items", {{"sale_id", sale}, {"product_name", "Pan"}, {"quantity", "1"}, {"unit_price", "10"}});
  std::this_thread::sleep_for(5ms);  // B's writes are strictly later in time
  ASSERT_TRUE(b->update("customers", c2, {{"phone", "555"}}));  // ... while B updates it
  ASSERT_TRUE(b->update("customers", c1, {{"credit_limit", "99"}}));
  ASSERT_TRUE(b->remove("customers", c3));
  add(*b, "payments", {{"customer_id", c1}, {"sale_id", sale}, {"amount", "4"}});
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(a->update("customers", c3, {{"notes", "A edits c3 after B deleted it"}}));

  EXPECT_FALSE(a->sync_once());
  server->start();
  SyncReport ra = sync(*a);
  SyncReport rb = sync(*b);
  sync(*a);
  EXPECT_EQ(ra.rejected, 0u);
  // B's update of c2 finds it deleted: NOT_FOUND, set aside; the row stays deleted everywhere.
  EXPECT_EQ(rb.rejected, 2u) << "c2's update and c3's delete (older than A's edit) are refused";

  auto truth = server_state(token_a);
  EXPECT_EQ(replica_of(*a), truth);
  EXPECT_EQ(replica_of(*b), truth);
  EXPECT_EQ(truth.count("customers/" + c2), 0u);
  EXPECT_EQ(truth.count("customers/" + c3), 1u);
  EXPECT_EQ(truth.at("customers/" + c1).at("name"), "Uno (A)");  // updates carry only their fields
  EXPECT_EQ(truth.at("customers/" + c1).at("credit_limit"), "99.00");
  EXPECT_EQ(a->status().pending + b->status().pending, 0u);
  auto b_queue = b->queue();
  ASSERT_TRUE(b_queue);
  for (const auto& op : *b_queue) {
    EXPECT_EQ(op.status, OperationStatus::failed);
    ASSERT_TRUE(op.last_error);
    EXPECT_TRUE(op.last_error->code == ErrorCode::not_found || op.last_error->code == ErrorCode::conflict)
        << op.last_error->message;
  }
}

TEST_F(ClientSyncTest, TwoSyncsOfOneFileNeverSendTheSameOperationTwice) {
  constexpr int kOperations = 600;
  {
    auto a = open_client("a");
    for (int i = 0; i < kOperations; ++i) add(*a, "distribuciones", {{"product_name", "P"}, {"quantity", "1"}});
  }
  // Two processes sync the same file at once; the file lock makes them take turns, so the
  // operations pushed add up to the queue exactly (without it, both would push them all).
  std::vector<std::string> argv{AVSYNC_CLI_BIN, "--json", "--data", data_path("a"), "sync", "--batch-size", "10"};
  pid_t first = spawn_program(argv, server->dir() / "s1.out", server->dir() / "s1.err");
  pid_t second = spawn_program(argv, server->dir() / "s2.out", server->dir() / "s2.err");
  for (pid_t pid : {first, second}) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  std::size_t pushed = 0;
  for (const char* out : {"s1.out", "s2.out"}) {
    std::ifstream in(server->dir() / out);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto report = parse_json_body(text);
    pushed += static_cast<std::size_t>(report.at("pushed").as_int64());
  }
  EXPECT_EQ(pushed, static_cast<std::size_t>(kOperations));
  EXPECT_EQ(count_server_rows("distribuciones"), kOperations);
}

TEST_F(ClientSyncTest, ARevokedTokenStopsSyncWithUnauthenticated) {
  auto a = open_client("a");
  add(*a, "customers", {{"name", "X"}});
  server->revoke_token(token_a);
  auto result = a->sync_once();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::unauthenticated);
  EXPECT_EQ(a->status().state, SyncState::error);
  EXPECT_EQ(a->status().pending, 1u);
  // A new token resumes.
  ASSERT_TRUE(a->configure(url(), server->create_token(business_a, "seller-a2")));
  EXPECT_EQ(sync(*a).pushed, 1u);
}

TEST_F(ClientSyncTest, TenantsNeverSeeEachOthersRows) {
  auto a = open_client("a");
  auto b = open_client("b", {}, token_b);
  add(*a, "customers", {{"name", "A only"}});
  sync(*a);
  EXPECT_EQ(sync(*b).pulled, 0u);
  EXPECT_TRUE(replica_of(*b).empty());
}

}  // namespace
}  // namespace avsync::testing

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "sqlite/database.hpp"
#include "store/migrations.hpp"
#include "testing/test_dir.hpp"

namespace avsync::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("store.db");
    store_ = open_sqlite_store(path_, {});
    store_->migrate();
    store_->create_business("b1", "Tienda", "2026-01-01T00:00:00.000Z");
  }
  std::vector<std::optional<std::string>> customer(std::string name) {
    const EntitySpec& c = *find_entity("customers");
    std::vector<std::optional<std::string>> v(c.fields.size());
    v[c.field_index("name")] = std::move(name);
    return v;
  }

  avsync::testing::TestDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, MigrationsAreRecordedAndRunOnce) {
  store_->migrate();
  store_->migrate();
  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  auto q = db.query("SELECT count(*), max(version) FROM schema_migrations");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), static_cast<std::int64_t>(sqlite_migrations().size()));
  EXPECT_EQ(q.int64(1), sqlite_migrations().back().version);
}

TEST_F(SqliteStoreTest, EveryRegistryFieldHasAColumn) {
  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  for (const EntitySpec& e : all_entities())
    for (const FieldSpec& f : e.fields) {
      auto q = db.query("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2");
      q.bind(1, e.name).bind(2, f.name);
      ASSERT_TRUE(q.step());
      EXPECT_EQ(q.int64(0), 1) << e.name << "." << f.name;
    }
}

TEST_F(SqliteStoreTest, RolledBackOperationLeavesNoTrace) {
  const EntitySpec& c = *find_entity("customers");
  {
    auto tx = store_->begin_batch("b1");
    tx->begin_operation();
    tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->end_operation(false);
    tx->begin_operation();
    tx->insert_row(c, "id-2", customer("Luis"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->end_operation(true);
    tx->commit();
  }
  auto tx = store_->begin_batch("b1");
  EXPECT_FALSE(tx->find_row(c, "id-1"));
  auto row = tx->find_row(c, "id-2");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->values[c.field_index("name")], "Luis");
}

TEST_F(SqliteStoreTest, UncommittedBatchIsRolledBack) {
  const EntitySpec& c = *find_entity("customers");
  {
    auto tx = store_->begin_batch("b1");
    tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
  }
  auto page = store_->read_changes("b1", {});
  EXPECT_TRUE(page.changes.empty());
  EXPECT_EQ(page.cursor_version, 0u);
}

TEST_F(SqliteStoreTest, FeedIsOrderedByVersionAndFullSyncLeavesOutTombstones) {
  const EntitySpec& c = *find_entity("customers");
  const EntitySpec& d = *find_entity("distribuciones");
  {
    auto tx = store_->begin_batch("b1");
    tx->insert_row(c, "c1", customer("Ana"), {1, "t", tx->next_version()});  // v1
    std::vector<std::optional<std::string>> dist(d.fields.size());
    tx->insert_row(d, "d1", dist, {1, "t", tx->next_version()});             // v2
    tx->update_row(c, "c1", customer("Ana B"), {2, "t", tx->next_version()});  // v3
    tx->insert_row(c, "c2", customer("Eva"), {1, "t", tx->next_version()});  // v4
    tx->delete_row(d, "d1", {3, "t", tx->next_version()});                   // v5
    tx->commit();
  }
  auto full = store_->read_changes("b1", {.include_deleted = false});
  ASSERT_EQ(full.changes.size(), 2u);
  EXPECT_EQ(full.changes[0].entity_id, "c1");
  EXPECT_EQ(full.changes[1].entity_id, "c2");
  EXPECT_EQ(full.cursor_version, 5u);
  EXPECT_FALSE(full.has_more);

  auto after = store_->read_changes("b1", {.after_version = 1});
  ASSERT_EQ(after.changes.size(), 3u);
  EXPECT_EQ(after.changes[2].entity_id, "d1");
  EXPECT_TRUE(after.changes[2].deleted);

  auto paged = store_->read_changes("b1", {.after_version = 0, .limit = 2});
  ASSERT_EQ(paged.changes.size(), 2u);
  EXPECT_TRUE(paged.has_more);
  EXPECT_EQ(paged.changes[0].entity_id, "c1");  // its update moved it to v3
  EXPECT_EQ(paged.cursor_version, 4u);
}

// Group commit: batches from many threads share transactions. Each batch's commit() must
// return only once its rows are committed (visible to another connection), a batch that
// is abandoned must vanish without taking its group with it, and tenant versions must
// stay unique.
TEST_F(SqliteStoreTest, ConcurrentBatchesCommitDurablyAndIndependently) {
  const EntitySpec& c = *find_entity("customers");
  constexpr int kThreads = 8, kBatches = 40;
  std::atomic<int> invisible_after_commit{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      sqlite::Database observer(path_, sqlite::Database::Access::read_write);
      for (int b = 0; b < kBatches; ++b) {
        std::string id = "t" + std::to_string(t) + "-b" + std::to_string(b);
        auto tx = store_->begin_batch("b1");
        tx->insert_row(c, id, customer("x"), {1, "t", tx->next_version()});
        if (b % 5 == 4) continue;  // abandoned: rolled back when tx goes out of scope
        tx->commit();
        auto q = observer.query("SELECT count(*) FROM customers WHERE business_id = 'b1' AND id = ?1");
        q.bind(1, id);
        q.step();
        if (q.int64(0) != 1) ++invisible_after_commit;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(invisible_after_commit.load(), 0);

  sqlite::Database db(path_, sqlite::Database::Access::read_write);
  auto rows = db.query("SELECT count(*), count(DISTINCT version), max(version) FROM customers WHERE business_id = 'b1'");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.int64(0), kThreads * kBatches * 4 / 5);
  EXPECT_EQ(rows.int64(1), rows.int64(0)) << "versions are unique";
  auto abandoned = db.query("SELECT count(*) FROM customers WHERE id LIKE '%-b4' OR id LIKE '%-b9'");
  ASSERT_TRUE(abandoned.step());
  EXPECT_EQ(abandoned.int64(0), 0);
  auto feed = store_->read_changes("b1", {.limit = 10000});
  EXPECT_EQ(feed.changes.size(), static_cast<std::size_t>(kThreads * kBatches * 4 / 5));
  EXPECT_GE(feed.cursor_version, static_cast<std::uint64_t>(rows.int64(2)));
}

// Store::prune_operations: every row processed before the cutoff goes, in chunks, of every
// tenant; the rows at or after it stay and still answer find_operation.
TEST_F(SqliteStoreTest, PruningDeletesTheLogRowsProcessedBeforeTheCutoffAndKeepsTheRest) {
  store_->create_business("b2", "Otra", "2026-01-01T00:00:00.000Z");
  auto log = [&](std::string_view business, const std::string& id, OperationStatus status, const char* at) {
    auto tx = store_->begin_batch(business);
    tx->record_operation(OperationRecord{.operation_id = id, .entity = "customers", .action = "insert",
                                         .entity_id = "x", .payload = "{}", .status = status,
                                         .processed_at = at});
    tx->commit();
  };
  {
    auto tx = store_->begin_batch("b1");
    for (int i = 0; i < 2 * static_cast<int>(kPruneChunkRows) + 5; ++i)
      tx->record_operation(OperationRecord{.operation_id = "old-" + std::to_string(i), .entity = "customers",
                                           .action = "insert", .entity_id = "x", .payload = "{}",
                                           .status = OperationStatus::processed,
                                           .processed_at = "2026-01-01T00:00:00.000Z"});
    tx->commit();
  }
  log("b2", "old-failed", OperationStatus::failed, "2026-03-31T23:59:59.999Z");
  log("b1", "at-cutoff", OperationStatus::processed, "2026-04-01T00:00:00.000Z");
  log("b2", "new", OperationStatus::processed, "2026-05-01T00:00:00.000Z");

  EXPECT_EQ(store_->prune_operations("2026-04-01T00:00:00.000Z"), 2 * kPruneChunkRows + 6);
  EXPECT_EQ(store_->prune_operations("2026-04-01T00:00:00.000Z"), 0u);
  auto b1 = store_->begin_batch("b1");
  EXPECT_EQ(b1->find_operation("old-0"), std::nullopt);
  EXPECT_EQ(b1->find_operation("at-cutoff"), OperationStatus::processed);
  b1.reset();
  auto b2 = store_->begin_batch("b2");
  EXPECT_EQ(b2->find_operation("old-failed"), std::nullopt);
  EXPECT_EQ(b2->find_operation("new"), OperationStatus::processed);
}

// A ChangeSink that records what a watch reports, for a test to wait on.
class RecordingSink final : public ChangeSink {
 public:
  explicit RecordingSink(std::vector<std::string> watched) : watched_(std::move(watched)) {}

  void changed(std::string_view business_id, std::uint64_t version) override {
    std::lock_guard lock(mutex_);
    reports_.emplace_back(business_id, version);
    reported_.notify_all();
  }
  void maybe_missed() override {}
  std::vector<std::string> watched_tenants() const override {
    std::lock_guard lock(mutex_);
    return watched_;
  }

  // Waits, for at most 10 s, until the watch reports `tenant` at `version`.
  bool wait_for(std::string_view tenant, std::uint64_t version) {
    std::unique_lock lock(mutex_);
    return reported_.wait_for(lock, std::chrono::seconds(10), [&] {
      return std::find(reports_.begin(), reports_.end(), Report(tenant, version)) != reports_.end();
    });
  }
  bool reported(std::string_view tenant) const {
    std::lock_guard lock(mutex_);
    return std::any_of(reports_.begin(), reports_.end(),
                       [&](const Report& r) { return r.first == tenant; });
  }

 private:
  using Report = std::pair<std::string, std::uint64_t>;
  mutable std::mutex mutex_;
  std::condition_variable reported_;
  std::vector<std::string> watched_;
  std::vector<Report> reports_;
};

// Store::watch_changes on SQLite: another server on the same file (here a second store
// object) commits, and the watch reports the tenant's new version, for the tenants someone
// waits for only.
TEST_F(SqliteStoreTest, ASearchPagesNewestFirstThroughRowsOfOneMillisecondEachOnce) {
  store_->create_business("b2", "Otra", "2026-01-01T00:00:00.000Z");
  for (const char* business : {"b1", "b2"}) {
    auto tx = store_->begin_batch(business);
    for (int i = 0; i < 5; ++i) {
      // Three rows share a millisecond: the business and operation id order them.
      const std::string at =
          i < 3 ? "2026-02-01T00:00:00.000Z" : "2026-02-01T00:00:0" + std::to_string(i) + ".000Z";
      tx->record_operation({"op" + std::to_string(i), "customers", "insert", "c", "{}",
                            i == 1 ? OperationStatus::failed : OperationStatus::processed,
                            i == 1 ? std::optional<std::string>("CONFLICT") : std::nullopt,
                            std::nullopt, std::nullopt, at});
    }
    tx->commit();
  }
  OperationSearch search;
  search.limit = 3;
  std::vector<std::string> seen;
  for (;;) {
    auto page = store_->search_operations(search);
    for (const LoggedOperation& op : page)
      seen.push_back(op.record.processed_at + " " + op.business_id + " " + op.record.operation_id);
    if (page.size() < search.limit) break;
    search.after = ListPosition{page.back().record.processed_at, page.back().business_id,
                                page.back().record.operation_id};
  }
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()))
      << "newest first, by time, business, operation id";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10u);
  EXPECT_EQ(seen.front(), "2026-02-01T00:00:04.000Z b2 op4");

  search = {};
  search.business_id = "b1";
  search.limit = 2;
  search.after = ListPosition{"2026-02-01T00:00:00.000Z", "b1", "op2"};
  auto page = store_->search_operations(search);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].record.operation_id, "op1");
  EXPECT_EQ(page[0].record.status, OperationStatus::failed);
  EXPECT_EQ(page[0].record.error, "CONFLICT");
  EXPECT_EQ(page[1].record.operation_id, "op0");
}

TEST_F(SqliteStoreTest, AResolutionIsRecordedOnceHidesTheFailureAndOutlivesPruning) {
  {
    auto tx = store_->begin_batch("b1");
    tx->record_operation({"bad", "customers", "update", "c", R"({"name":"x"})",
                          OperationStatus::failed, "CONFLICT", "newer write",
                          "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"});
    tx->commit();
  }
  OperationSearch unresolved;
  unresolved.unresolved_only = true;
  ASSERT_EQ(store_->search_operations(unresolved).size(), 1u);
  {
    auto tx = store_->begin_batch("b1");
    ASSERT_TRUE(tx->read_operation("bad"));
    EXPECT_EQ(tx->read_operation("bad")->payload, R"({"name":"x"})");
    EXPECT_FALSE(tx->read_operation("other"));
    EXPECT_FALSE(tx->is_resolved("bad"));
    tx->record_resolution(
        {"b1", "bad", "keep_server", "ana", "2026-02-02T00:00:00.000Z", "10.0.0.1", std::nullopt});
    EXPECT_TRUE(tx->is_resolved("bad"));
    tx->commit();
  }
  {
    auto tx = store_->begin_batch("b1");
    EXPECT_TRUE(tx->is_resolved("bad"));
    // A second one is refused by is_resolved in the service; the key still refuses two at
    // one instant (a repeat of the operation logged later may be resolved again).
    EXPECT_THROW(tx->record_resolution(
                     {"b1", "bad", "apply_client", "x", "2026-02-02T00:00:00.000Z", "", 1}),
                 std::exception)
        << "the key allows one resolution of an operation per instant";
  }
  EXPECT_TRUE(store_->search_operations(unresolved).empty());
  OperationSearch all;
  auto logged = store_->search_operations(all);
  ASSERT_EQ(logged.size(), 1u);
  ASSERT_TRUE(logged[0].resolution);
  EXPECT_EQ(logged[0].resolution->by, "ana");
  EXPECT_EQ(store_->prune_operations("2027-01-01T00:00:00.000Z"), 1u);
  auto audit = store_->list_resolutions(std::nullopt, std::nullopt, 10);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].address, "10.0.0.1");
  EXPECT_EQ(audit[0].at, "2026-02-02T00:00:00.000Z");
  EXPECT_FALSE(audit[0].version);
  EXPECT_TRUE(store_->list_resolutions(std::string("b2"), std::nullopt, 10).empty());
}

TEST_F(SqliteStoreTest, AWatchReportsACommitOfAnotherStoreOnTheFileForTheWatchedTenantsOnly) {
  const EntitySpec& c = *find_entity("customers");
  RecordingSink sink({"b1"});
  auto watch = store_->watch_changes(sink);
  auto other_server = open_sqlite_store(path_, {});
  other_server->create_business("b2", "Otra", "2026-01-01T00:00:00.000Z");
  auto insert = [&](std::string_view business, const std::string& id) {
    auto tx = other_server->begin_batch(business);
    tx->insert_row(c, id, customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->commit();
  };
  insert("b2", "id-1");
  insert("b1", "id-2");
  insert("b1", "id-3");
  EXPECT_TRUE(sink.wait_for("b1", 2));
  EXPECT_FALSE(sink.reported("b2"));
}

TEST_F(SqliteStoreTest, AWatchReportsTheStoresOwnCommits) {
  const EntitySpec& c = *find_entity("customers");
  RecordingSink sink({"b1"});
  auto watch = store_->watch_changes(sink);
  auto tx = store_->begin_batch("b1");
  tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
  tx->commit();
  EXPECT_TRUE(sink.wait_for("b1", 1));
}

TEST_F(SqliteStoreTest, ABatchsVersionIsWhereTheTenantsFeedStandsOnceCommitted) {
  const EntitySpec& c = *find_entity("customers");
  {
    auto tx = store_->begin_batch("b1");
    EXPECT_EQ(tx->version(), 0u);
    tx->insert_row(c, "id-1", customer("Ana"), {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    tx->insert_row(c, "id-2", customer("Luis"),
                   {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    EXPECT_EQ(tx->version(), 2u);
    tx->commit();
    EXPECT_EQ(tx->version(), 2u);
  }
  EXPECT_EQ(store_->read_changes("b1", {}).latest_version, 2u);
  auto unchanged = store_->begin_batch("b1");
  unchanged->commit();
  EXPECT_EQ(unchanged->version(), 2u);
}

TEST_F(SqliteStoreTest, DestroyingAWatchStopsItPromptly) {
  RecordingSink sink({"b1"});
  auto watch = store_->watch_changes(sink);
  ASSERT_TRUE(sink.wait_for("b1", 0));  // its first check ran
  auto started = std::chrono::steady_clock::now();
  watch.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(100));
}

// The probe: a burst grew the WAL to 870 MB and it never shrank. Once a checkpoint has
// copied the whole WAL into the database, the writer's next commit cuts the file back.
TEST(SqliteStoreWal, TheWalIsCutBackToItsLimitAfterACheckpoint) {
  avsync::testing::TestDir dir;
  const std::string path = dir.file("wal.db");
  StoreOptions options;
  options.sqlite_wal_size_limit = 256 << 10;
  auto store = open_sqlite_store(path, options);
  store->migrate();
  store->create_business("b1", "Tienda", "2026-01-01T00:00:00.000Z");
  const EntitySpec& c = *find_entity("customers");
  auto write = [&](int first, int count) {
    auto tx = store->begin_batch("b1");
    for (int i = first; i < first + count; ++i) {
      std::vector<std::optional<std::string>> values(c.fields.size());
      values[c.field_index("name")] = "Ana";
      values[c.field_index("notes")] = std::string(900, 'n');
      tx->insert_row(c, "id-" + std::to_string(i), values, {1, "2026-01-01T00:00:00.000Z", tx->next_version()});
    }
    tx->commit();
  };
  write(0, 4000);
  const std::filesystem::path wal = path + "-wal";
  ASSERT_GT(std::filesystem::file_size(wal), 2u << 20);  // the burst: several MiB
  // What the background checkpointer does every 200 ms, done now rather than waited for,
  // then one commit. The writer can start the WAL over only while no checkpoint is copying
  // from it, and the store's own checkpointer may be in the middle of one (for long, under
  // TSan): then the next try, 50 ms later, is the test. A WAL never cut back fails it.
  bool cut_back = false;
  for (int attempt = 0; attempt < 20 && !cut_back; ++attempt) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    {
      sqlite::Database db(path, sqlite::Database::Access::read_write);
      db.checkpoint_passive();
    }
    write(4000 + attempt, 1);
    cut_back = std::filesystem::file_size(wal) <=
               static_cast<std::uintmax_t>(options.sqlite_wal_size_limit);
  }
  EXPECT_TRUE(cut_back) << "WAL still " << std::filesystem::file_size(wal) << " bytes";
  store.reset();
}

}  // namespace
}  // namespace avsync::store

// ---------------------------------------------------------------------------------------
// GroupCommit's fairness rules (issue 9), checked by who gets the writer and which group
// each batch lands in, never by how long anything took: the clock is a fake the batches
// advance themselves, and the test waits for states (a batch admitted, N waiting), not
// for time to pass.

#include <future>
#include <mutex>

#include "store/sqlite/group_commit.hpp"

namespace avsync::store {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  // A batch run on its own thread: joins as `tenant`, then waits for the test to release
  // it, writes `rows` rows, moves the fake clock on by `takes_ms` and commits.
  struct Batch {
    std::string name;
    std::string tenant;
    int rows = 1;
    int takes_ms = 0;
    std::promise<void> release;
    bool released = false;
    std::uint64_t group = 0;
    std::thread thread;
  };

  GroupCommitTest() : db_(dir_.file("groups.db"), sqlite::Database::Access::read_write) {
    db_.exec("CREATE TABLE t (x INTEGER)");
  }
  ~GroupCommitTest() override {  // after a failed expectation, lets every batch run out
    for (auto& b : batches_)
      if (!b->released) b->release.set_value();
    finish_all();
  }

  void open(std::int64_t max_rows, std::chrono::milliseconds max_open) {
    GroupCommitOptions options;
    options.max_rows = max_rows;
    options.max_open = max_open;
    options.now = [this] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load())); };
    groups_ = std::make_unique<GroupCommit>(db_, std::move(options));
  }

  // Starts a batch and returns once it holds the writer or waits in the queue.
  Batch& start(std::string name, std::string tenant, int rows, int takes_ms = 0) {
    auto batch = std::make_unique<Batch>();
    Batch& b = *batch;
    b.name = std::move(name);
    b.tenant = std::move(tenant);
    b.rows = rows;
    b.takes_ms = takes_ms;
    const std::size_t admitted_before = admitted().size();
    const std::size_t waiting_before = groups_->waiting();
    auto released = b.release.get_future();
    b.thread = std::thread([this, &b, released = std::move(released)]() mutable {
      auto slot = groups_->join(b.tenant);
      {
        std::lock_guard lock(mutex_);
        admitted_.push_back(b.name);
      }
      released.wait();
      for (int i = 0; i < b.rows; ++i) db_.exec("INSERT INTO t (x) VALUES (1)");
      now_ms_ += b.takes_ms;
      b.group = slot.group();
      slot.commit();
    });
    batches_.push_back(std::move(batch));
    while (admitted().size() == admitted_before && groups_->waiting() == waiting_before) std::this_thread::yield();
    return b;
  }

  // Lets the batch holding the writer finish, and returns once the next one (if any
  // waits) has been given the writer.
  void release(Batch& b) {
    const std::size_t admitted_before = admitted().size();
    const bool someone_waits = groups_->waiting() > 0;
    b.released = true;
    b.release.set_value();
    if (someone_waits)
      while (admitted().size() == admitted_before) std::this_thread::yield();
    else
      b.thread.join();
  }

  std::vector<std::string> admitted() {
    std::lock_guard lock(mutex_);
    return admitted_;
  }

  void finish_all() {
    for (auto& b : batches_)
      if (b->thread.joinable()) b->thread.join();
  }

  avsync::testing::TestDir dir_;
  sqlite::Database db_;
  std::atomic<std::int64_t> now_ms_{0};
  std::unique_ptr<GroupCommit> groups_;
  std::mutex mutex_;
  std::vector<std::string> admitted_;
  std::vector<std::unique_ptr<Batch>> batches_;
};

TEST_F(GroupCommitTest, EachWaitingTenantGetsTheWriterOnceBeforeAnyTenantGetsItTwice) {
  open(1'000'000, std::chrono::hours(1));
  Batch& a1 = start("A1", "a", 1);
  Batch& a2 = start("A2", "a", 1);
  Batch& a3 = start("A3", "a", 1);
  Batch& b1 = start("B1", "b", 1);
  Batch& b2 = start("B2", "b", 1);
  Batch& c1 = start("C1", "c", 1);
  ASSERT_EQ(groups_->waiting(), 5u);
  for (Batch* b : {&a1, &b1, &c1, &a2, &b2, &a3}) release(*b);
  finish_all();
  EXPECT_EQ(admitted(), (std::vector<std::string>{"A1", "B1", "C1", "A2", "B2", "A3"}));
}

TEST_F(GroupCommitTest, ASmallBatchOfAnotherTenantIsServedBeforeTheNextLargeBatchOfABusyTenant) {
  // The probe's shape: tenant A keeps four large batches queued, B sends one operation.
  open(2000, std::chrono::hours(1));
  Batch& a1 = start("A1", "a", 1000);
  Batch& a2 = start("A2", "a", 1000);
  Batch& a3 = start("A3", "a", 1000);
  Batch& a4 = start("A4", "a", 1000);
  Batch& b = start("B", "b", 2);
  release(a1);
  EXPECT_EQ(admitted()[1], "B");
  for (Batch* x : {&b, &a2, &a3, &a4}) release(*x);
  finish_all();
}

TEST_F(GroupCommitTest, AGroupTakesInNoBatchExpectedToCarryItPastTheRowBound) {
  open(10, std::chrono::hours(1));
  Batch& a0 = start("A0", "a", 8);  // A's history: 8 rows a batch
  release(a0);
  Batch& a1 = start("A1", "a", 8);
  Batch& b = start("B", "b", 1);
  Batch& a2 = start("A2", "a", 8);
  release(a1);  // 8 rows, B expected small: B joins the group
  release(b);   // 9 rows, A2 expected to write 8: the group commits first
  release(a2);
  finish_all();
  EXPECT_EQ(b.group, a1.group);
  EXPECT_EQ(a2.group, b.group + 1);
  EXPECT_EQ(a1.group, a0.group + 1);
}

TEST_F(GroupCommitTest, AGroupThatReachedTheRowBoundCommitsBeforeTheNextBatch) {
  open(10, std::chrono::hours(1));
  Batch& a = start("A", "a", 10);
  Batch& b = start("B", "b", 1);  // expected small, but the group is full
  release(a);
  release(b);
  finish_all();
  EXPECT_EQ(b.group, a.group + 1);
  EXPECT_EQ(groups_->groups_ended(), 2u);
}

TEST_F(GroupCommitTest, AGroupOpenForMaxOpenCommitsAndASlowTenantsNextBatchStartsANewOne) {
  open(1'000'000, std::chrono::milliseconds(10));
  Batch& a1 = start("A1", "a", 1, /*takes_ms=*/11);
  Batch& b = start("B", "b", 1);
  release(a1);  // open 11 ms: commits alone
  Batch& a2 = start("A2", "a", 1);
  release(b);   // open 0 ms, but A's last turn took 11 ms: B does not wait for it
  release(a2);
  finish_all();
  EXPECT_EQ(b.group, a1.group + 1);
  EXPECT_EQ(a2.group, b.group + 1);
}

TEST_F(GroupCommitTest, QuickBatchesOfSeveralTenantsShareOneGroupAndEveryMemberIsCommitted) {
  open(2000, std::chrono::milliseconds(10));
  Batch& a = start("A", "a", 3);
  Batch& b = start("B", "b", 3);
  Batch& c = start("C", "c", 3);
  for (Batch* x : {&a, &b, &c}) release(*x);
  finish_all();
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(b.group, c.group);
  EXPECT_EQ(groups_->groups_ended(), 1u);
  sqlite::Database observer(dir_.file("groups.db"), sqlite::Database::Access::read_write);
  auto q = observer.query("SELECT count(*) FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), 9);
}

}  // namespace
}  // namespace avsync::store

// ---------------------------------------------------------------------------------------
// Migration 0005 (issue 15) rebuilds the operation log and the domain tables as rowid
// tables. A database written by the schema before it, with rows in every table, opens,
// is migrated, and keeps its rows, its feed, its log and its indexes.

namespace avsync::store {
namespace {

constexpr int kRowidTablesMigration = 5;

// The schema as the migrations before 0005 left it, recorded as the store records them.
void create_schema_before_rowid_tables(sqlite::Database& db) {
  db.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
      " applied_at TEXT NOT NULL)");
  for (const Migration& m : sqlite_migrations()) {
    if (m.version >= kRowidTablesMigration) break;
    db.exec(m.sql);
    auto q =
        db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, 't')");
    q.bind(1, static_cast<std::int64_t>(m.version)).bind(2, m.name);
    q.run();
  }
}

// Every named index as SQLite keeps its definition: (name, sql).
std::vector<std::pair<std::string, std::string>> named_indexes(sqlite::Database& db) {
  auto q = db.query(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(std::string(q.text(0)), std::string(q.text(1)));
  return out;
}

// A field's value in the rows this test writes: its entity, field and row number.
std::string value_of(const EntitySpec& e, const FieldSpec& f, int row) {
  return std::string(e.name) + "." + std::string(f.name) + "." + std::to_string(row);
}

TEST(SqliteMigration, ADatabaseOfTheSchemaBeforeRowidTablesKeepsEveryRowItsFeedLogAndIndexes) {
  avsync::testing::TestDir dir;
  const std::string path = dir.file("old.db");
  constexpr int kRowsPerEntity = 3;  // the last one of each entity is a tombstone
  std::vector<std::pair<std::string, std::string>> indexes_before;
  std::uint64_t version = 0;
  {
    sqlite::Database db(path, sqlite::Database::Access::read_write);
    create_schema_before_rowid_tables(db);
    db.exec(
        "INSERT INTO businesses (id, name, version, created_at) VALUES ('b1', 'Tienda', 15, 't');"
        "INSERT INTO auth_tokens (token_hash, business_id, user_id, expires_at_ms, created_at, id)"
        " VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'b1', 'ana', 9000000000000, 't', "
        "'aaaaaaaaaaaaaaaaaaaaaaaa');"
        "INSERT INTO sync_operations (business_id, operation_id, entity, action, entity_id, "
        "payload,"
        " status, error, message, client_timestamp, processed_at, created_at) VALUES"
        " ('b1', 'op-ok', 'customers', 'insert', 'customers-0', '{}', 'processed', NULL, NULL,"
        "  '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:01.000Z'),"
        " ('b1', 'op-bad', 'customers', 'update', 'customers-0', '{\"name\":\"x\"}', 'failed', "
        "'CONFLICT',"
        "  'newer write', NULL, '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:02.000Z');"
        "INSERT INTO conflict_resolutions (business_id, operation_id, resolution, resolved_by,"
        " resolved_at, address, version) VALUES ('b1', 'op-bad', 'keep_server', 'eva',"
        " '2026-01-01T00:00:03.000Z', '10.0.0.1', NULL)");
    // Rows of every entity, their versions interleaved between the entities as a feed has
    // them: row r of entity e has version r * entities + e + 1.
    const std::size_t entities = all_entities().size();
    for (int r = 0; r < kRowsPerEntity; ++r)
      for (std::size_t e = 0; e < entities; ++e) {
        const EntitySpec& entity = all_entities()[e];
        std::string columns =
            "business_id, id, created_at, updated_at, deleted, last_write_ms, version";
        std::string values = "'b1', ?1, 'c', 'u', " +
                             std::to_string(r == kRowsPerEntity - 1 ? 1 : 0) + ", 7, " +
                             std::to_string(++version);
        for (std::size_t f = 0; f < entity.fields.size(); ++f) {
          columns += ", " + std::string(entity.fields[f].name);
          values += ", ?" + std::to_string(f + 2);
        }
        auto q = db.query("INSERT INTO " + std::string(entity.name) + " (" + columns +
                          ") VALUES (" + values + ")");
        q.bind(1, std::string(entity.name) + "-" + std::to_string(r));
        for (std::size_t f = 0; f < entity.fields.size(); ++f)
          q.bind(static_cast<int>(f + 2), value_of(entity, entity.fields[f], r));
        q.run();
      }
    ASSERT_EQ(version, 15u);
    indexes_before = named_indexes(db);
  }

  auto store = open_sqlite_store(path, {});
  store->migrate();

  {
    sqlite::Database db(path, sqlite::Database::Access::read_write);
    auto applied = db.query("SELECT max(version) FROM schema_migrations");
    ASSERT_TRUE(applied.step());
    EXPECT_EQ(applied.int64(0), sqlite_migrations().back().version);
    EXPECT_EQ(named_indexes(db), indexes_before) << "every index keeps its name and definition";
    for (std::string_view table :
         {"sync_operations", "customers", "sales", "sale_items", "abonos", "distribuciones"})
      EXPECT_NO_THROW(db.query("SELECT rowid FROM " + std::string(table)))
          << table << " is a rowid table";
  }

  // The feed: every row, in version order, with its values, tombstones included or not.
  auto feed = store->read_changes("b1", {.limit = 100});
  ASSERT_EQ(feed.changes.size(), version);
  EXPECT_EQ(feed.latest_version, 15u);
  EXPECT_FALSE(feed.has_more);
  for (std::size_t i = 0; i < feed.changes.size(); ++i) {
    const RowChange& change = feed.changes[i];
    const int row = static_cast<int>(i / all_entities().size());
    const EntitySpec& entity = all_entities()[i % all_entities().size()];
    EXPECT_EQ(change.version, i + 1);
    EXPECT_EQ(change.entity, &entity);
    EXPECT_EQ(change.entity_id, std::string(entity.name) + "-" + std::to_string(row));
    EXPECT_EQ(change.deleted, row == kRowsPerEntity - 1);
    EXPECT_EQ(change.created_at, "c");
    EXPECT_EQ(change.updated_at, "u");
    for (std::size_t f = 0; f < entity.fields.size(); ++f)
      EXPECT_EQ(change.values[f], value_of(entity, entity.fields[f], row));
  }
  auto live = store->read_changes("b1", {.include_deleted = false, .limit = 100});
  EXPECT_EQ(live.changes.size(), all_entities().size() * (kRowsPerEntity - 1));
  auto paged = store->read_changes("b1", {.after_version = 4, .limit = 3});
  ASSERT_EQ(paged.changes.size(), 3u);
  EXPECT_EQ(paged.changes[0].version, 5u);
  EXPECT_TRUE(paged.has_more);
  EXPECT_EQ(paged.cursor_version, 7u);

  // The log, its resolution, the token.
  OperationSearch all;
  auto logged = store->search_operations(all);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0].record.operation_id, "op-bad");
  EXPECT_EQ(logged[0].record.error, "CONFLICT");
  ASSERT_TRUE(logged[0].resolution);
  EXPECT_EQ(logged[0].resolution->by, "eva");
  EXPECT_EQ(logged[1].record.operation_id, "op-ok");
  EXPECT_EQ(logged[1].record.client_timestamp, "2026-01-01T00:00:00.000Z");
  auto token = store->find_token("aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->user_id, "ana");

  // Writes after the migration: the keys still refuse and upsert as before.
  const EntitySpec& customers = *find_entity("customers");
  {
    auto tx = store->begin_batch("b1");
    EXPECT_EQ(tx->find_operation("op-ok"), OperationStatus::processed);
    EXPECT_TRUE(tx->is_resolved("op-bad"));
    tx->record_operation({"op-bad", "customers", "update", "customers-0", "{}",
                          OperationStatus::processed, std::nullopt, std::nullopt, std::nullopt,
                          "2026-01-02T00:00:00.000Z"});
    EXPECT_EQ(tx->find_operation("op-bad"), OperationStatus::processed);
    EXPECT_TRUE(tx->is_live(customers, "customers-0"));
    EXPECT_FALSE(tx->is_live(customers, "customers-2"));
    auto row = tx->find_row(customers, "customers-1");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->values[0], value_of(customers, customers.fields[0], 1));
    std::vector<std::optional<std::string>> values(customers.fields.size());
    EXPECT_THROW(tx->insert_row(customers, "customers-1", values, {1, "t", tx->next_version()}),
                 std::exception)
        << "the key still refuses a second row of one id";
    tx->update_row(customers, "customers-1", values, {8, "v", tx->next_version()});
    tx->commit();
  }
  auto after = store->read_changes("b1", {.after_version = 15});
  ASSERT_EQ(after.changes.size(), 1u);
  EXPECT_EQ(after.changes[0].entity_id, "customers-1");
  EXPECT_EQ(after.changes[0].version, 17u);
  EXPECT_EQ(store->search_operations(all).size(), 2u) << "the repeat replaced its log row";
}

}  // namespace
}  // namespace avsync::store

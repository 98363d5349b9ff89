// Store::watch_changes on PostgreSQL, at the store level: a commit on another store object
// (another server) reaches the watch as (tenant, version) through NOTIFY, and after the
// database restarts the watch says commits may have been missed and reports later ones.
// PgChangeWatch runs on the suite's shared cluster; PgChangeWatchRestart on a cluster of its
// own, since it stops it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/schema.hpp"
#include "store/postgres/pg.hpp"
#include "store/postgres/pg_store.hpp"

#ifndef AVSYNC_PG_CLUSTER_SCRIPT
#error "AVSYNC_PG_CLUSTER_SCRIPT must name scripts/pg-cluster"
#endif

namespace avsync::store {
namespace {

using namespace std::chrono_literals;
using Report = std::pair<std::string, std::uint64_t>;

// A ChangeSink that records what a watch reports, for a test to wait on.
class RecordingSink final : public ChangeSink {
 public:
  void changed(std::string_view business_id, std::uint64_t version) override {
    std::lock_guard lock(mutex_);
    reports_.emplace_back(business_id, version);
    reported_.notify_all();
  }
  void maybe_missed() override {
    std::lock_guard lock(mutex_);
    ++missed_;
    reported_.notify_all();
  }
  std::vector<std::string> watched_tenants() const override { return {}; }

  // Waits, for at most `timeout`, until the watch reports `tenant` at `version`.
  bool wait_for(std::string_view tenant, std::uint64_t version,
                std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return reported_.wait_for(lock, timeout, [&] {
      return std::find(reports_.begin(), reports_.end(), Report(tenant, version)) != reports_.end();
    });
  }
  // Waits, for at most `timeout`, until maybe_missed() was called `count` times.
  bool wait_for_missed(int count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return reported_.wait_for(lock, timeout, [&] { return missed_ >= count; });
  }
  std::vector<Report> reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable reported_;
  std::vector<Report> reports_;
  int missed_ = 0;
};

constexpr std::string_view kNow = "2026-01-01T00:00:00.000Z";

// Commits one batch inserting one customer (`uuid`) into `business`; returns the batch's
// version after commit.
std::uint64_t insert_customer(Store& store, std::string_view business, std::string_view uuid) {
  const EntitySpec& c = *find_entity("customers");
  std::vector<std::optional<std::string>> values(c.fields.size());
  values[c.field_index("name")] = "Ana";
  auto tx = store.begin_batch(business);
  tx->insert_row(c, uuid, values, {1, kNow, tx->next_version()});
  tx->commit();
  return tx->version();
}

std::string read_url(const std::filesystem::path& file) {
  std::string url;
  std::getline(std::ifstream(file), url);
  return url;
}

// A new database on the cluster at `base_url`; returns its URL.
std::string fresh_database(const std::string& base_url, const std::string& name) {
  pg::Connection admin(base_url);
  admin.exec("DROP DATABASE IF EXISTS " + name);
  admin.exec("CREATE DATABASE " + name);
  return base_url.substr(0, base_url.rfind('/') + 1) + name;
}

TEST(PgChangeWatch, ACommitOnAnotherStoreIsReportedWithItsVersionAndABatchThatWroteNothingIsNot) {
  const char* url_file = std::getenv("AVSYNC_TEST_PG_URL_FILE");
  ASSERT_TRUE(url_file && *url_file) << "AVSYNC_TEST_PG_URL_FILE names the shared cluster's URL";
  std::string url =
      fresh_database(read_url(url_file), "avsync_watch_" + std::to_string(::getpid()));
  auto store = open_postgres_store(url, {});
  store->migrate();
  store->create_business("b1", "Tienda", kNow);
  RecordingSink sink;
  auto watch = store->watch_changes(sink);
  ASSERT_TRUE(sink.wait_for_missed(1)) << "the watch never listened";

  auto other_server = open_postgres_store(url, {});
  other_server->create_business("b2", "Otra", kNow);
  other_server->begin_batch("b1")->commit();  // raises no version: announces nothing
  EXPECT_EQ(insert_customer(*other_server, "b2", "00000000-0000-4000-8000-000000000001"), 1u);
  EXPECT_EQ(insert_customer(*other_server, "b1", "00000000-0000-4000-8000-000000000002"), 1u);
  EXPECT_EQ(insert_customer(*store, "b1", "00000000-0000-4000-8000-000000000003"), 2u);
  ASSERT_TRUE(sink.wait_for("b1", 2));
  // In commit order, every tenant's (a watch on PostgreSQL is told which one committed).
  EXPECT_EQ(sink.reports(), (std::vector<Report>{{"b2", 1}, {"b1", 1}, {"b1", 2}}));
}

int cluster(const std::string& command, const std::filesystem::path& dir) {
  std::string line =
      std::string(AVSYNC_PG_CLUSTER_SCRIPT) + " " + command + " " + dir.string() + " >/dev/null";
  return std::system(line.c_str());
}

TEST(PgChangeWatchRestart, AfterARestartTheWatchSaysCommitsMayHaveBeenMissedAndReportsLaterOnes) {
  auto dir =
      std::filesystem::temp_directory_path() / ("avsync-pg-watch-" + std::to_string(::getpid()));
  ASSERT_EQ(cluster("start", dir), 0) << "PostgreSQL must start for this test";
  std::string url = read_url(dir / "url");
  auto store = open_postgres_store(url, {});
  store->migrate();
  store->create_business("b1", "Tienda", kNow);
  RecordingSink sink;
  auto watch = store->watch_changes(sink);
  ASSERT_TRUE(sink.wait_for_missed(1));
  ASSERT_EQ(insert_customer(*store, "b1", "00000000-0000-4000-8000-000000000001"), 1u);
  EXPECT_TRUE(sink.wait_for("b1", 1));

  ASSERT_EQ(cluster("stop", dir), 0);
  ASSERT_EQ(cluster("restart", dir), 0);
  EXPECT_TRUE(sink.wait_for_missed(2, 20s)) << "the watch did not listen again";
  std::uint64_t version = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; !version;) {
    try {
      version = insert_customer(*store, "b1", "00000000-0000-4000-8000-000000000002");
    } catch (const Unavailable&) {
      if (std::chrono::steady_clock::now() > deadline) throw;
    }
  }
  EXPECT_EQ(version, 2u);
  EXPECT_TRUE(sink.wait_for("b1", 2));

  // While the database is down the watch waits between attempts, and still stops at once.
  ASSERT_EQ(cluster("stop", dir), 0);
  EXPECT_FALSE(sink.wait_for_missed(3, 400ms));
  auto started = std::chrono::steady_clock::now();
  watch.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace avsync::store

// LogRetention over a hand-written store that records each prune, with a clock the test
// controls. The tests wait for the retention thread's prunes as events; none sleeps.

#include "server/log_retention.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "testing/fake_clock.hpp"

namespace avsync::server {
namespace {

using namespace std::chrono_literals;

using avsync::testing::FakeClock;

// Records the cutoff of every prune; fails the first `failures` prunes as unavailable.
class RecordingStore final : public store::Store {
 public:
  std::size_t prune_operations(std::string_view processed_before) override {
    std::lock_guard lock(mutex_);
    cutoffs_.emplace_back(processed_before);
    changed_.notify_all();
    if (failures_ > 0) {
      --failures_;
      throw store::Unavailable("database is restarting");
    }
    return 7;
  }
  // Blocks until at least `n` prunes have run; returns their cutoffs.
  std::vector<std::string> wait_for_prunes(std::size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return cutoffs_.size() >= n; });
    return cutoffs_;
  }
  std::vector<std::string> cutoffs() {
    std::lock_guard lock(mutex_);
    return cutoffs_;
  }
  void fail_next(int n) {
    std::lock_guard lock(mutex_);
    failures_ = n;
  }

  void migrate() override {}
  bool ping() override { return true; }
  std::unique_ptr<store::BatchTransaction> begin_batch(std::string_view) override { return nullptr; }
  std::unique_ptr<store::ChangeSnapshot> open_changes(std::string_view,
                                                      const store::ChangeQuery&) override {
    return nullptr;
  }
  std::unique_ptr<store::ChangeWatch> watch_changes(store::ChangeSink&) override { return nullptr; }
  void create_business(std::string_view, std::string_view, std::string_view) override {}
  bool ensure_business(std::string_view, std::string_view, std::string_view) override { return false; }
  bool business_exists(std::string_view) override { return false; }
  void create_token(const store::TokenRecord&, std::string_view) override {}
  bool revoke_token_by_id(std::string_view, std::string_view) override { return false; }
  std::vector<store::TokenInfo> list_tokens(std::string_view) override { return {}; }
  std::optional<store::TokenRecord> find_token(std::string_view) override { return std::nullopt; }
  bool revoke_token(std::string_view, std::string_view) override { return false; }
  std::vector<store::BusinessSummary> list_businesses(std::string_view, std::size_t,
                                                      std::string_view, UnixMillis) override {
    return {};
  }
  std::vector<store::LoggedOperation> search_operations(const store::OperationSearch&) override {
    return {};
  }
  std::optional<store::StoredRow> read_row(std::string_view, const EntitySpec&,
                                           std::string_view) override {
    return std::nullopt;
  }
  std::vector<store::ResolutionRecord> list_resolutions(const std::optional<std::string>&,
                                                        const std::optional<store::ListPosition>&,
                                                        std::size_t) override {
    return {};
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> cutoffs_;
  int failures_ = 0;
};

constexpr UnixMillis kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00.000Z
constexpr UnixMillis kDay = 86'400'000;

TEST(LogRetention, ItPrunesOnceAtStartEverythingProcessedBeforeTheWindow) {
  RecordingStore store;
  FakeClock clock(kNow);
  std::ostringstream log;
  {
    LogRetention retention(store, clock, std::chrono::days(90), 1h, log);
    EXPECT_EQ(store.wait_for_prunes(1).at(0), format_timestamp(kNow - 90 * kDay));
  }
  EXPECT_EQ(store.cutoffs().size(), 1u);  // the next one was an hour away
  EXPECT_NE(log.str().find("pruned 7 operation log rows processed before " + format_timestamp(kNow - 90 * kDay)),
            std::string::npos)
      << log.str();
}

TEST(LogRetention, ACallerPruneMovesTheCutoffWithTheClock) {
  RecordingStore store;
  FakeClock clock(kNow);
  std::ostringstream log;
  LogRetention retention(store, clock, std::chrono::days(30), 1h, log);
  store.wait_for_prunes(1);
  clock.advance(2 * kDay);
  EXPECT_EQ(retention.prune_now(), 7u);
  EXPECT_EQ(store.cutoffs().at(1), format_timestamp(kNow + 2 * kDay - 30 * kDay));
}

TEST(LogRetention, ItPrunesAgainEveryInterval) {
  RecordingStore store;
  FakeClock clock(kNow);
  std::ostringstream log;
  LogRetention retention(store, clock, std::chrono::days(1), 1ms, log);
  EXPECT_GE(store.wait_for_prunes(3).size(), 3u);
}

TEST(LogRetention, AFailedPruneIsLoggedAndTriedAgainAtTheNextPeriod) {
  RecordingStore store;
  store.fail_next(1);
  FakeClock clock(kNow);
  std::ostringstream log;
  {
    LogRetention retention(store, clock, std::chrono::days(1), 1ms, log);
    store.wait_for_prunes(2);
  }
  EXPECT_NE(log.str().find("pruning the operation log failed"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("database is restarting"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("pruned 7"), std::string::npos) << log.str();
}

TEST(LogRetention, ZeroDaysKeepsTheLogForever) {
  RecordingStore store;
  FakeClock clock(kNow);
  std::ostringstream log;
  {
    LogRetention retention(store, clock, std::chrono::days(0), 1ms, log);
    EXPECT_EQ(retention.prune_now(), 0u);
  }
  EXPECT_TRUE(store.cutoffs().empty());
  EXPECT_TRUE(log.str().empty());
}

TEST(LogRetention, TheDestructorDoesNotWaitForTheNextPeriod) {
  RecordingStore store;
  FakeClock clock(kNow);
  std::ostringstream log;
  auto started = std::chrono::steady_clock::now();
  {
    LogRetention retention(store, clock, std::chrono::days(1), 24h, log);
    store.wait_for_prunes(1);
  }
  // A destructor that slept out its period would block for a day; the run's timeout
  // would fail the test long before this line.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

TEST(LogRetention, ANegativeRetentionOrIntervalIsRefused) {
  RecordingStore store;
  FakeClock clock(kNow);
  EXPECT_THROW(LogRetention(store, clock, std::chrono::days(-1)), std::invalid_argument);
  EXPECT_THROW(LogRetention(store, clock, std::chrono::days(1), 0ms), std::invalid_argument);
}

}  // namespace
}  // namespace avsync::server

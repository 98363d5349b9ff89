// The sync service over a real SQLite store with a clock the test controls: last-write-wins
// and clamping decided to the millisecond, without sleeping.

#include "server/sync_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "testing/test_dir.hpp"

namespace avsync::server {
namespace {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixMillis start) : now_(start) {}
  UnixMillis now() const override { return now_; }
  void advance(UnixMillis ms) { now_ += ms; }

 private:
  std::atomic<UnixMillis> now_;
};

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::open_store("sqlite:" + dir_.file("s.db"));
    store_->migrate();
    store_->create_business("b", "B", "t");
  }
  OperationResult apply(const std::string& id, const std::string& action, const std::string& payload,
                        UnixMillis client_time) {
    std::string body = R"({"entity":"customers","action":")" + action + R"(","entityId":")" + kRow +
                       R"(","clientTimestamp":")" + format_timestamp(client_time) + R"(","payload":)" + payload + "}";
    std::vector<Operation> ops{{id, *parse_json(body)}};
    SyncService service(*store_, clock_);
    return service.apply_batch({"b", "u"}, ops).at(0);
  }
  std::string phone() {
    auto page = store_->read_changes("b", {});
    const EntitySpec& c = *find_entity("customers");
    return page.changes.at(0).values[c.field_index("phone")].value_or("null");
  }

  static constexpr const char* kRow = "6f1c2a3b-0000-4000-8000-000000000001";
  static constexpr UnixMillis kNow = 1'800'000'000'000;  // 2027-01-15
  avsync::testing::TestDir dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_{kNow};
};

TEST_F(SyncServiceTest, AFutureClientClockIsClampedToTheServerClock) {
  ASSERT_FALSE(apply("i", "insert", R"({"name":"A"})", kNow - 1000).error);
  // Stamped a year ahead: applies, but competes as "now".
  ASSERT_FALSE(apply("f", "update", R"({"phone":"future"})", kNow + 365LL * 86400000).error);
  // Same millisecond on the server: a tie, and the server keeps its row.
  auto tie = apply("t", "update", R"({"phone":"tie"})", kNow + 5000);
  ASSERT_TRUE(tie.error);
  EXPECT_EQ(tie.error->code, ErrorCode::conflict);
  clock_.advance(1);
  EXPECT_FALSE(apply("n", "update", R"({"phone":"next"})", kNow + 5000).error);
  EXPECT_EQ(phone(), "next");
}

TEST_F(SyncServiceTest, ResultsCarryTheServerClock) {
  auto r = apply("i", "insert", R"({"name":"A"})", kNow - 1000);
  EXPECT_EQ(r.server_time, kNow);
}

}  // namespace
}  // namespace avsync::server

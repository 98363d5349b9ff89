// docs/protocol.md §4: the compacted, exact change feed.

#include <atomic>
#include <set>
#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using ChangesTest = SyncServerTest;

TEST_F(ChangesTest, AFullSyncReturnsEveryLiveRowInItsLatestState) {
  std::string c = insert_customer("Ana");
  std::string gone = insert_customer("Gone");
  ASSERT_TRUE(push_one(operation("u", "customers", "update", c, R"({"phone":"5"})", ts(9))).success);
  ASSERT_TRUE(push_one(operation("d", "customers", "delete", gone, "", ts(9))).success);
  auto res = http->get_changes(token_a);
  ASSERT_EQ(res.status, 200);
  auto v = parse_json_body(res.body);
  EXPECT_FALSE(v.at("hasMore").as_bool());
  EXPECT_TRUE(v.at("serverTimestamp").is_string());
  const auto& changes = v.at("changes").as_array();
  ASSERT_EQ(changes.size(), 1u);  // compacted; the deleted row may be left out of a full sync
  const auto& change = changes[0].as_object();
  EXPECT_EQ(change.at("entity"), "customers");
  EXPECT_EQ(change.at("entityId"), c.c_str());
  EXPECT_EQ(change.at("action"), "upsert");
  const auto& data = change.at("data").as_object();
  EXPECT_EQ(data.at("phone"), "5");
  EXPECT_EQ(data.at("name"), "Ana");
  EXPECT_EQ(data.at("credit_limit"), "0.00");
  for (const char* key : {"id", "name", "phone", "email", "address", "notes", "credit_limit", "created_at", "updated_at"})
    EXPECT_TRUE(data.contains(key)) << key;
  EXPECT_FALSE(data.contains("business_id"));
  EXPECT_EQ(change.at("serverTimestamp"), data.at("updated_at"));
}

TEST_F(ChangesTest, AfterACursorOnlyWhatChangedComesBackAndDeletesAreTombstones) {
  std::string a = insert_customer("A");
  std::string b = insert_customer("B");
  std::string cursor;
  EXPECT_EQ(pull_all(token_a, "", 1000, &cursor).size(), 2u);
  EXPECT_TRUE(pull_all(token_a, cursor).empty());
  ASSERT_TRUE(push_one(operation("u1", "customers", "update", a, R"({"phone":"1"})", ts(5))).success);
  ASSERT_TRUE(push_one(operation("u2", "customers", "update", a, R"({"phone":"2"})", ts(6))).success);
  ASSERT_TRUE(push_one(operation("d", "customers", "delete", b, "", ts(5))).success);
  std::string next;
  auto rows = pull_all(token_a, cursor, 1000, &next);
  ASSERT_EQ(rows.size(), 2u);  // a once (compacted), then b's tombstone, in change order
  EXPECT_EQ(rows[0].entity, "customers/" + a);
  EXPECT_EQ(rows[0].data.at("phone"), "2");
  EXPECT_EQ(rows[1].entity, "customers/" + b);
  EXPECT_EQ(rows[1].action, "delete");
  EXPECT_TRUE(rows[1].data.is_null());
  EXPECT_TRUE(pull_all(token_a, next).empty());
}

TEST_F(ChangesTest, PagingWithASmallLimitVisitsEveryRowOnce) {
  std::vector<boost::json::object> ops;
  std::set<std::string> ids;
  for (int i = 0; i < 57; ++i) {
    std::string id = new_uuid();
    ids.insert("distribuciones/" + id);
    ops.push_back(operation("p" + std::to_string(i), "distribuciones", "insert", id,
                            R"({"product_name":"Arroz","quantity":)" + std::to_string(i + 1) + "}", ts(1)));
  }
  push(ops);
  auto first = parse_json_body(http->get_changes(token_a, "limit=10").body);
  EXPECT_EQ(first.at("changes").as_array().size(), 10u);
  EXPECT_TRUE(first.at("hasMore").as_bool());
  auto rows = pull_all(token_a, "", 10);
  std::set<std::string> seen;
  for (const auto& r : rows) EXPECT_TRUE(seen.insert(r.entity).second) << "twice: " << r.entity;
  EXPECT_EQ(seen, ids);
}

TEST_F(ChangesTest, IsoSinceReturnsRowsChangedAtOrAfterThatInstantInAnyOffset) {
  std::string old_row = insert_customer("Old");
  auto first = parse_json_body(http->get_changes(token_a).body);
  std::string changed_at = first.at("changes").at(0).at("serverTimestamp").as_string().c_str();
  // Wait for the server clock to move past the first write, then write again.
  auto later = [&] {
    auto v = parse_json_body(http->get_changes(token_a).body);
    return std::string(v.at("serverTimestamp").as_string().c_str()) > changed_at;
  };
  while (!later()) {
  }
  std::string new_row = insert_customer("New");
  auto rows = pull_all(token_a, changed_at);  // at or after: includes the old row
  EXPECT_EQ(rows.size(), 2u);
  auto new_changed_at = state_of(token_a)["customers/" + new_row].data.at("updated_at").as_string();
  auto only_new = pull_all(token_a, std::string(new_changed_at.c_str()));
  ASSERT_EQ(only_new.size(), 1u);
  EXPECT_EQ(only_new[0].entity, "customers/" + new_row);
  // The same instant written with another offset (percent-encoded '+' or a literal one).
  std::string at = new_changed_at.c_str();  // 2026-..T08:00:00.000Z
  int hour = std::stoi(at.substr(11, 2));
  if (hour < 22) {
    char shifted[64];
    std::snprintf(shifted, sizeof shifted, "%s%02d%s+02:00", at.substr(0, 11).c_str(), hour + 2,
                  at.substr(13, 10).c_str());
    std::string encoded = shifted;
    encoded.replace(encoded.find('+'), 1, "%2B");
    EXPECT_EQ(pull_all(token_a, encoded).size(), 1u) << encoded;
    EXPECT_EQ(pull_all(token_a, shifted).size(), 1u) << shifted;
  }
}

TEST_F(ChangesTest, MalformedSinceOrLimitIs400) {
  for (const std::string q : {"limit=0", "limit=-1", "limit=abc", "limit=1.5", "limit=", "since=garbage",
                               "since=v1.x", "since=2026-13-45T00:00:00Z", "since=v1.-3", "since=%zz"}) {
    auto res = http->get_changes(token_a, q);
    EXPECT_EQ(res.status, 400) << q << " " << res.body;
    EXPECT_EQ(parse_json_body(res.body).at("error").at("code"), "BAD_REQUEST") << q;
  }
  EXPECT_EQ(http->get_changes(token_a, "limit=99999999999999999999").status, 200);  // capped, not an error
  EXPECT_EQ(http->get_changes(token_a, "since=").status, 200);
}

TEST_F(ChangesTest, ACursorAheadOfTheFeedIsRefused) {
  insert_customer();
  std::string cursor;
  pull_all(token_a, "", 1000, &cursor);
  EXPECT_EQ(http->get_changes(token_a, "since=" + cursor).status, 200);
  auto res = http->get_changes(token_a, "since=v1.999999");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(parse_json_body(res.body).at("error").at("code"), "BAD_REQUEST");
}

TEST_F(ChangesTest, PagesDefaultToAThousandAndLimitsAboveTenThousandAreCapped) {
  std::vector<boost::json::object> ops;
  for (int round = 0; round < 21; ++round) {
    ops.clear();
    for (int i = 0; i < 500; ++i)
      ops.push_back(operation(new_uuid(), "distribuciones", "insert", new_uuid(),
                              R"({"product_name":"Arroz","quantity":1})", ts(1)));
    push(ops);
  }
  auto v = parse_json_body(http->get_changes(token_a, "limit=50000").body);
  EXPECT_EQ(v.at("changes").as_array().size(), 10000u);
  EXPECT_TRUE(v.at("hasMore").as_bool());
  auto unlimited = parse_json_body(http->get_changes(token_a).body);
  EXPECT_EQ(unlimited.at("changes").as_array().size(), 1000u) << "the default page size";
  EXPECT_TRUE(unlimited.at("hasMore").as_bool());
}

// Writers on several connections race a reader that follows the cursor. When the writers
// stop, the reader's accumulated state must equal a fresh full sync: nothing skipped,
// every row at its latest state.
TEST_F(ChangesTest, TheCursorIsExactWhileWritersRaceAReader) {
  constexpr int kWriters = 4, kBatches = 25;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      HttpClient client(server->port());
      std::vector<std::string> mine;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<boost::json::object> ops;
        for (int i = 0; i < 8; ++i) {
          std::string id = new_uuid();
          mine.push_back(id);
          ops.push_back(operation(new_uuid(), "customers", "insert", id, R"({"name":"W)" + std::to_string(w) + "\"}", ts(1)));
        }
        // Touch an older row again so rows also move forward in the feed.
        if (mine.size() > 8)
          ops.push_back(operation(new_uuid(), "customers", "update", mine[b], R"({"phone":")" + std::to_string(b) + "\"}",
                                  ts(10 + b)));
        if (b % 5 == 4)
          ops.push_back(operation(new_uuid(), "customers", "delete", mine[b + 1], "", ts(100 + b)));
        auto res = client.post_batch(token_a, batch_body(ops));
        EXPECT_EQ(res.status, 200);
      }
    });
  FeedFollower reader(server->port(), token_a, 7);
  reader.follow_until_done(writers);
  expect_matches_server(reader, token_a);
}

}  // namespace
}  // namespace avsync::testing

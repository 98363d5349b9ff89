// Errors classified by cause and bounded logs (issue 9): a value the database cannot keep
// fails only the operation carrying it, on both stores, with VALIDATION_ERROR, never a
// 5xx; what a failed operation leaves in the answer and the log is bounded; the log is
// pruned by age without breaking idempotency inside the window kept.

#include <boost/json.hpp>

#include "store/store.hpp"
#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class DataErrorsTest : public SyncServerTest {
 protected:
  // One operation as raw JSON text: boost::json cannot hold 1e99999999 as a number.
  static std::string raw_operation(const std::string& id, const std::string& entity, const std::string& action,
                                   const std::string& entity_id, const std::string& payload_json) {
    return "{\"operationId\":\"" + id + "\",\"entity\":" + boost::json::serialize(boost::json::value(entity)) +
           ",\"action\":\"" + action + "\",\"entityId\":" + boost::json::serialize(boost::json::value(entity_id)) +
           ",\"clientTimestamp\":\"" + ts(0) + "\"" + (payload_json.empty() ? "" : ",\"payload\":" + payload_json) +
           "}";
  }
  std::vector<OpResult> push_raw(const std::vector<std::string>& operations) {
    std::string body = "{\"operations\":[";
    for (std::size_t i = 0; i < operations.size(); ++i) body += (i ? "," : "") + operations[i];
    body += "]}";
    auto res = http->post_batch(token_a, body);
    EXPECT_EQ(res.status, 200) << res.body.substr(0, 2000);
    if (res.status != 200) return {};
    auto out = parse_batch_results(res.body);
    EXPECT_EQ(out.size(), operations.size());
    return out;
  }
  bool on_sqlite() const { return server->db_url().starts_with("sqlite:"); }
  // The log row of an operation of tenant A: status, error, entity, action, entity_id,
  // payload (as text), message.
  std::optional<std::vector<std::optional<std::string>>> log_row(const std::string& operation_id) {
    auto rows = query_database(server->db_url(),
                               std::string("SELECT status, error, entity, action, entity_id, ") +
                                   (on_sqlite() ? "payload" : "payload::text") +
                                   ", message FROM sync_operations WHERE business_id = $1 AND operation_id = $2",
                               {business_a, operation_id});
    if (rows.empty()) return std::nullopt;
    return rows.at(0);
  }
};

constexpr const char* kHuge = "1e99999999";

TEST_F(DataErrorsTest, ANumberOutsideNumericRangeFailsOnlyItsOperationAndTheRestOfTheBatchApplies) {
  std::string first = new_uuid(), last = new_uuid();
  std::vector<std::string> batch{
      raw_operation("ok-1", "customers", "insert", first, R"({"name":"Ana"})"),
      raw_operation("known", "customers", "insert", new_uuid(), std::string(R"({"name":"B","credit_limit":)") + kHuge + "}"),
      raw_operation("unknown", "customers", "insert", new_uuid(), std::string(R"({"name":"C","nickname":)") + kHuge + "}"),
      raw_operation("delete", "customers", "delete", new_uuid(), std::string(R"({"x":[)") + kHuge + "]}"),
      raw_operation("ok-2", "customers", "insert", last, R"({"name":"Luis"})"),
  };
  for (int attempt = 0; attempt < 2; ++attempt) {  // the same answers when the client retries
    SCOPED_TRACE(attempt);
    auto results = push_raw(batch);
    ASSERT_EQ(results.size(), 5u);
    EXPECT_TRUE(results[0].success) << results[0].message;
    for (int i : {1, 2, 3}) {
      EXPECT_FALSE(results[i].success);
      EXPECT_EQ(results[i].error, "VALIDATION_ERROR") << results[i].message;
      EXPECT_NE(results[i].message.find("out of range"), std::string::npos) << results[i].message;
    }
    EXPECT_TRUE(results[4].success) << results[4].message;
  }
  auto state = state_of(token_a);
  EXPECT_EQ(state.size(), 2u);
  EXPECT_TRUE(state.count("customers/" + first));
  EXPECT_TRUE(state.count("customers/" + last));
  for (const char* id : {"known", "unknown", "delete"}) {
    SCOPED_TRACE(id);
    auto row = log_row(id);
    ASSERT_TRUE(row);
    EXPECT_EQ((*row)[0], "failed");
    EXPECT_EQ((*row)[1], "VALIDATION_ERROR");
    // Kept as text, so no store has to parse the number: valid JSON either way.
    boost::system::error_code ec;
    auto payload = boost::json::parse((*row)[5].value_or(""), ec);
    ASSERT_FALSE(ec) << (*row)[5].value_or("NULL");
    EXPECT_NE(payload.at("payloadText").as_string().find(kHuge), std::string::npos);
  }
  EXPECT_EQ(log_row("ok-1").value().at(0), "processed");
}

TEST_F(DataErrorsTest, AFailedOperationsHugeFieldsAreCutInTheAnswerAndInTheLog) {
  const std::string mebibyte(60 << 10, 'x');  // under the parser's 64 KiB string cap
  auto results = push_raw({
      raw_operation("huge-entity", mebibyte, "insert", new_uuid(), R"({"name":"A"})"),
      raw_operation("huge-payload", "customers", "insert", new_uuid(), R"({"name":"A","notes":")" + mebibyte + "\"}"),
      raw_operation("huge-id", "customers", "update", mebibyte, R"({"name":"A"})"),
      raw_operation("fine", "customers", "insert", new_uuid(), R"({"name":"A"})"),
  });
  ASSERT_EQ(results.size(), 4u);
  for (int i : {0, 1, 2}) {
    SCOPED_TRACE(results[i].operation_id);
    EXPECT_EQ(results[i].error, "VALIDATION_ERROR");
    EXPECT_LE(results[i].message.size(), 1024u);
    auto row = log_row(results[i].operation_id);
    ASSERT_TRUE(row);
    for (int column : {2, 3, 4, 6}) EXPECT_LE((*row)[column].value_or("").size(), 1024u) << column;
    // PostgreSQL prints jsonb with a space after each colon: a few bytes over the limit.
    EXPECT_LE((*row)[5].value_or("").size(), 1040u);
    boost::system::error_code ec;
    boost::json::parse((*row)[5].value_or(""), ec);
    EXPECT_FALSE(ec) << (*row)[5].value_or("NULL");
  }
  EXPECT_NE(results[0].message.find("\u2026"), std::string::npos) << "the cut is marked";
  EXPECT_TRUE(results[3].success);
}

TEST_F(DataErrorsTest, AnAppliedDeletesIgnoredPayloadIsLoggedBounded) {
  const std::string id = insert_customer("To delete");
  const std::string mebibyte(60 << 10, 'x');  // under the parser's 64 KiB string cap
  std::string op = raw_operation("delete-with-junk", "customers", "delete", id, R"({"junk":")" + mebibyte + "\"}");
  op.replace(op.find(ts(0)), ts(0).size(), ts(50));  // newer than the insert's write
  auto results = push_raw({op});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].success) << results[0].message;
  auto row = log_row("delete-with-junk");
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)[0].value_or(""), "processed");
  EXPECT_LE((*row)[5].value_or("").size(), 1040u) << "the payload a delete ignores is not kept whole";
  EXPECT_TRUE(state_of(token_a).empty());
}

TEST_F(DataErrorsTest, PruningTheLogKeepsTheWindowAndAnOperationInsideItStillAnswersIdempotently) {
  std::string old_row = new_uuid(), recent_row = new_uuid();
  ASSERT_TRUE(push_one(operation("old", "customers", "insert", old_row, R"({"name":"Old"})", ts(0))).success);
  ASSERT_FALSE(push_one(operation("old-failed", "customers", "insert", "nope", R"({"name":"X"})", ts(0))).success);
  ASSERT_TRUE(push_one(operation("recent", "customers", "insert", recent_row, R"({"name":"Recent"})", ts(0))).success);
  // Processed long ago, as far as the log knows.
  query_database(server->db_url(),
                 on_sqlite() ? "UPDATE sync_operations SET processed_at = '2020-01-01T00:00:00.000Z'"
                               " WHERE operation_id IN ('old', 'old-failed')"
                             : "UPDATE sync_operations SET processed_at = '2020-01-01T00:00:00.000Z'::timestamptz"
                               " WHERE operation_id IN ('old', 'old-failed')");

  {
    auto store = store::open_store(server->db_url());
    EXPECT_EQ(store->prune_operations("2021-01-01T00:00:00.000Z"), 2u);
    EXPECT_EQ(store->prune_operations("2021-01-01T00:00:00.000Z"), 0u);
  }
  EXPECT_FALSE(log_row("old"));
  EXPECT_FALSE(log_row("old-failed"));
  ASSERT_TRUE(log_row("recent"));

  // Inside the window: a resend is acknowledged and not applied again, even changed.
  const auto version = tenant_version(business_a);
  auto again = push_one(operation("recent", "customers", "update", recent_row, R"({"name":"Changed"})", ts(5)));
  EXPECT_TRUE(again.success) << again.message;
  EXPECT_EQ(tenant_version(business_a), version);
  EXPECT_EQ(state_of(token_a).at("customers/" + recent_row).data.at("name"), "Recent");
}

}  // namespace
}  // namespace avsync::testing

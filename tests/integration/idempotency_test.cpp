// docs/protocol.md §3.2: (businessId, operationId) is applied at most once, ever.

#include <thread>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using IdempotencyTest = SyncServerTest;

TEST_F(IdempotencyTest, ARepeatInALaterBatchSucceedsWithoutReapplying) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("ins", "customers", "insert", id, R"({"name":"Ana"})", ts(1))).success);
  auto update = operation("upd", "customers", "update", id, R"({"phone":"1"})", ts(5));
  ASSERT_TRUE(push_one(update).success);
  // A newer update lands; replaying the old one must not undo it nor conflict.
  ASSERT_TRUE(push_one(operation("upd2", "customers", "update", id, R"({"phone":"2"})", ts(9))).success);
  std::string cursor;
  pull_all(token_a, "", 1000, &cursor);
  EXPECT_TRUE(push_one(update).success);
  EXPECT_TRUE(pull_all(token_a, cursor).empty());
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("phone"), "2");
}

TEST_F(IdempotencyTest, TheSameOperationTwiceInOneBatchAppliesOnce) {
  std::string id = new_uuid();
  auto abono_customer = insert_customer();
  auto insert = operation("twice", "abonos", "insert", id, R"({"customer_id":")" + abono_customer + R"(","amount":10})", ts(1));
  // Applied twice, the update would tie with itself and answer CONFLICT.
  auto update = operation("twice-u", "abonos", "update", id, R"({"amount":11})", ts(2));
  auto before = tenant_version(business_a);
  auto results = push({insert, insert, update, update});
  for (const auto& r : results) EXPECT_TRUE(r.success) << r.operation_id << ": " << r.message;
  EXPECT_EQ(tenant_version(business_a) - before, 2);
}

TEST_F(IdempotencyTest, ARepeatedDeleteIsAnsweredFromTheLog) {
  // A delete replayed later is answered from the log: success, nothing touched.
  std::string id = insert_customer();
  auto del = operation("del", "customers", "delete", id, "", ts(5));
  ASSERT_TRUE(push_one(del).success);
  auto before = tenant_version(business_a);
  EXPECT_TRUE(push_one(del).success);
  EXPECT_EQ(tenant_version(business_a), before);
}

TEST_F(IdempotencyTest, AFailedOperationIsEvaluatedAgainOnRetry) {
  std::string id = new_uuid();
  auto update = operation("early", "customers", "update", id, R"({"phone":"9"})", ts(5));
  EXPECT_EQ(push_one(update).error, "NOT_FOUND");
  ASSERT_TRUE(push_one(operation("ins", "customers", "insert", id, R"({"name":"Ana"})", ts(1))).success);
  EXPECT_TRUE(push_one(update).success);  // the same operation id now applies
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("phone"), "9");
}

TEST_F(IdempotencyTest, OperationIdsAreScopedPerTenant) {
  std::string id_a = new_uuid(), id_b = new_uuid();
  EXPECT_TRUE(push_as(token_a, {operation("shared-id", "customers", "insert", id_a, R"({"name":"A"})", ts(1))})[0].success);
  EXPECT_TRUE(push_as(token_b, {operation("shared-id", "customers", "insert", id_b, R"({"name":"B"})", ts(1))})[0].success);
  EXPECT_EQ(state_of(token_b).count("customers/" + id_b), 1u);
}

TEST_F(IdempotencyTest, TwentyConcurrentIdenticalRequestsApplyOnce) {
  std::string customer = insert_customer();
  std::string abono = new_uuid();
  std::string body = batch_body({operation("race", "abonos", "insert", abono,
                                           R"({"customer_id":")" + customer + R"(","amount":"50.00"})", ts(1)),
                                 operation("race-2", "customers", "update", customer, R"({"phone":"7"})", ts(2))});
  auto before = tenant_version(business_a);
  std::vector<std::thread> threads;
  std::vector<HttpResult> results(20);
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&, i] { results[i] = HttpClient(server->port()).post_batch(token_a, body); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = parse_json_body(r.body);
    for (const auto& res : v.at("results").as_array()) EXPECT_TRUE(res.at("success").as_bool()) << r.body;
  }
  EXPECT_EQ(tenant_version(business_a) - before, 2);  // one insert, one update
  auto rows = pull_all(token_a);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [&](const FeedRow& r) { return r.entity == "abonos/" + abono; }), 1);
}

}  // namespace
}  // namespace avsync::testing

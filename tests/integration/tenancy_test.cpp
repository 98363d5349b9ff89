// docs/protocol.md §2: the tenant comes only from the token; another tenant's rows are
// invisible, and every answer is what it would be if they did not exist.

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using TenancyTest = SyncServerTest;

TEST_F(TenancyTest, UpdatingAnotherTenantsRowIsNotFoundAndChangesNothing) {
  std::string id = insert_customer("Ana", token_a);
  auto r = push_as(token_b, {operation("x", "customers", "update", id, R"({"name":"Hacked"})", ts(50))});
  EXPECT_EQ(r[0].error, "NOT_FOUND");
  auto missing = push_as(token_b, {operation("y", "customers", "update", new_uuid(), R"({"name":"H"})", ts(50))});
  // Same answer as for a row that exists nowhere (the message names only the given id).
  EXPECT_EQ(missing[0].error, r[0].error);
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("name"), "Ana");
}

TEST_F(TenancyTest, DeletingAnotherTenantsRowSucceedsWithNoEffect) {
  std::string id = insert_customer("Ana", token_a);
  auto r = push_as(token_b, {operation("x", "customers", "delete", id, "", ts(50))});
  EXPECT_TRUE(r[0].success);
  EXPECT_EQ(state_of(token_a).count("customers/" + id), 1u);
}

TEST_F(TenancyTest, ReferencingAnotherTenantsRowIsAValidationError) {
  std::string customer = insert_customer("Ana", token_a);
  std::string sale = insert_sale(customer, token_a);
  auto r = push_as(token_b, {operation("s", "sales", "insert", new_uuid(),
                                       R"({"customer_id":")" + customer + R"(","total":1,"payment_type":"cash"})", ts(1)),
                             operation("i", "sale_items", "insert", new_uuid(),
                                       R"({"sale_id":")" + sale + R"(","product_name":"P","quantity":1,"unit_price":1})", ts(1))});
  EXPECT_EQ(r[0].error, "VALIDATION_ERROR");
  EXPECT_EQ(r[1].error, "VALIDATION_ERROR");
}

TEST_F(TenancyTest, TheSameEntityIdInTwoTenantsIsTwoIndependentRows) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_as(token_a, {operation("a", "customers", "insert", id, R"({"name":"A"})", ts(1))})[0].success);
  ASSERT_TRUE(push_as(token_b, {operation("b", "customers", "insert", id, R"({"name":"B"})", ts(1))})[0].success);
  ASSERT_TRUE(push_as(token_b, {operation("c", "customers", "delete", id, "", ts(2))})[0].success);
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("name"), "A");
  EXPECT_EQ(state_of(token_b).count("customers/" + id), 0u);
}

TEST_F(TenancyTest, BusinessIdSentByTheClientIsIgnoredEverywhere) {
  std::string id = new_uuid();
  boost::json::object op = operation("inj", "customers", "insert", id,
                                     R"({"name":"A","businessId":")" + business_b + R"(","business_id":")" + business_b + "\"}",
                                     ts(1));
  op["businessId"] = business_b;
  boost::json::object envelope{{"operations", boost::json::array{op}}, {"businessId", business_b},
                               {"business_id", business_b}};
  auto res = http->request("POST", "/sync/batch?businessId=" + business_b + "&business_id=" + business_b,
                           boost::json::serialize(envelope),
                           {{"Authorization", "Bearer " + token_a}, {"Content-Type", "application/json"}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(parse_json_body(res.body).at("results").at(0).at("success").as_bool());
  EXPECT_EQ(state_of(token_a).count("customers/" + id), 1u);
  EXPECT_EQ(state_of(token_b).count("customers/" + id), 0u);
  auto feed = http->get_changes(token_b, "businessId=" + business_a + "&business_id=" + business_a);
  EXPECT_EQ(feed.body.find(id), std::string::npos);
  EXPECT_EQ(feed.body.find("business"), std::string::npos) << "the feed never echoes a tenant";
}

TEST_F(TenancyTest, TheFeedShowsOnlyTheCallersTenant) {
  std::string a = insert_customer("A", token_a);
  std::string b = insert_customer("B", token_b);
  auto state_a = state_of(token_a);
  auto state_b = state_of(token_b);
  EXPECT_EQ(state_a.count("customers/" + b), 0u);
  EXPECT_EQ(state_b.count("customers/" + a), 0u);
  EXPECT_EQ(state_a.size(), 1u);
  EXPECT_EQ(state_b.size(), 1u);
}

TEST_F(TenancyTest, ACursorReplayedByAnotherTenantRevealsNothingOfTheFirst) {
  for (int i = 0; i < 5; ++i) insert_customer("A" + std::to_string(i), token_a);
  std::string cursor_a;
  pull_all(token_a, "", 1000, &cursor_a);
  std::string b = insert_customer("B", token_b);
  auto rows = pull_all(token_b, "v1.0");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].entity, "customers/" + b);
  // A's cursor is ahead of anything B's feed issued: refused, and nothing of A is shown.
  auto replay = http->get_changes(token_b, "since=" + cursor_a);
  EXPECT_EQ(replay.status, 400) << replay.body;
  EXPECT_EQ(parse_json_body(replay.body).at("error").at("code"), "BAD_REQUEST");
  // A cursor of A that B's feed has also reached reads B's changes after it, never A's.
  std::string b2 = insert_customer("B2", token_b);
  std::string early_a = parse_json_body(http->get_changes(token_a, "limit=1").body).at("cursor").as_string().c_str();
  ASSERT_EQ(early_a, "v1.1");
  auto after = pull_all(token_b, early_a);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].entity, "customers/" + b2);
}

}  // namespace
}  // namespace avsync::testing

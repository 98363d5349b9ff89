// docs/protocol.md §3.4: the v1 conflict rules, one test each.

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using ConflictTest = SyncServerTest;

OpResult expect_fails(const OpResult& r, const std::string& code) {
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error, code) << r.message;
  return r;
}

TEST_F(ConflictTest, ReplayedInsertWithTheSameValuesSucceedsWithoutChange) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("a", "customers", "insert", id, R"({"name":"Ana","credit_limit":150.5})", ts(1))).success);
  std::string cursor;
  pull_all(token_a, "", 1000, &cursor);
  // Another operation id, same values written differently: "150.50" equals 150.5.
  auto r = push_one(operation("b", "customers", "insert", id, R"({"name":"Ana","credit_limit":"150.50"})", ts(2)));
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_TRUE(pull_all(token_a, cursor).empty()) << "a no-op insert is not a change";
}

TEST_F(ConflictTest, InsertOfAnExistingIdWithOtherValuesIsAConflict) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("a", "customers", "insert", id, R"({"name":"Ana"})", ts(1))).success);
  expect_fails(push_one(operation("b", "customers", "insert", id, R"({"name":"Eva"})", ts(2))), "CONFLICT");
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("name"), "Ana");
}

TEST_F(ConflictTest, InsertOfADeletedIdIsAConflict) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("a", "customers", "insert", id, R"({"name":"Ana"})", ts(1))).success);
  ASSERT_TRUE(push_one(operation("b", "customers", "delete", id, "", ts(2))).success);
  expect_fails(push_one(operation("c", "customers", "insert", id, R"({"name":"Ana"})", ts(3))), "CONFLICT");
}

TEST_F(ConflictTest, UpdateOfAMissingOrDeletedRowIsNotFound) {
  expect_fails(push_one(operation("a", "customers", "update", new_uuid(), R"({"name":"X"})", ts(1))), "NOT_FOUND");
  std::string id = insert_customer();
  ASSERT_TRUE(push_one(operation("d", "customers", "delete", id, "", ts(5))).success);
  expect_fails(push_one(operation("u", "customers", "update", id, R"({"name":"X"})", ts(9))), "NOT_FOUND");
}

TEST_F(ConflictTest, NewerUpdateWinsOlderOrEqualIsAConflictAndTheServerRowStays) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("i", "customers", "insert", id, R"({"name":"Ana"})", ts(10))).success);
  EXPECT_TRUE(push_one(operation("u1", "customers", "update", id, R"({"phone":"111"})", ts(20))).success);
  expect_fails(push_one(operation("u2", "customers", "update", id, R"({"phone":"222"})", ts(15))), "CONFLICT");
  expect_fails(push_one(operation("u3", "customers", "update", id, R"({"phone":"333"})", ts(20))), "CONFLICT");  // tie: server wins
  expect_fails(push_one(operation("u4", "customers", "update", id, R"({"phone":"444"})", ts(5))), "CONFLICT");   // older than the insert
  EXPECT_TRUE(push_one(operation("u5", "customers", "update", id, R"({"name":"Ana R"})", ts(21))).success);
  auto row = state_of(token_a)["customers/" + id].data;
  EXPECT_EQ(row.at("phone"), "111");
  EXPECT_EQ(row.at("name"), "Ana R");  // an update changes only the fields it carries
}

TEST_F(ConflictTest, AFailedOperationIsNotAWrite) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("i", "customers", "insert", id, R"({"name":"Ana"})", ts(10))).success);
  // A rejected update with a later time must not raise the row's last write time.
  expect_fails(push_one(operation("bad", "customers", "update", id, R"({"credit_limit":-1})", ts(50))),
               "VALIDATION_ERROR");
  EXPECT_TRUE(push_one(operation("u", "customers", "update", id, R"({"phone":"1"})", ts(20))).success);
}

TEST_F(ConflictTest, FutureClientClocksAreClampedToTheServerClock) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("i", "customers", "insert", id, R"({"name":"Ana"})", ts(10))).success);
  ASSERT_TRUE(push_one(operation("f", "customers", "update", id, R"({"phone":"future"})",
                                 "2999-01-01T00:00:00.000Z")).success);
  // Had the year-2999 write kept its time, nothing could ever win again. Clamped to the
  // server's clock, a write stamped a little later than now wins.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
  }
  auto now_plus = [] {
    auto t = std::chrono::system_clock::now() + std::chrono::seconds(1);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = ms / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf) + ".000Z";
  };
  auto r = push_one(operation("later", "customers", "update", id, R"({"phone":"now"})", now_plus()));
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(state_of(token_a)["customers/" + id].data.at("phone"), "now");
}

TEST_F(ConflictTest, DeleteFollowsLastWriteWins) {
  std::string id = new_uuid();
  ASSERT_TRUE(push_one(operation("i", "customers", "insert", id, R"({"name":"Ana"})", ts(10))).success);
  ASSERT_TRUE(push_one(operation("u", "customers", "update", id, R"({"phone":"1"})", ts(30))).success);
  expect_fails(push_one(operation("d1", "customers", "delete", id, "", ts(20))), "CONFLICT");
  EXPECT_EQ(state_of(token_a).count("customers/" + id), 1u);
  EXPECT_TRUE(push_one(operation("d2", "customers", "delete", id, "", ts(40))).success);
  EXPECT_EQ(state_of(token_a).count("customers/" + id), 0u);
}

TEST_F(ConflictTest, DeletingAReferencedRowIsAConflictNamingTheReferences) {
  std::string customer = insert_customer();
  std::string sale = insert_sale(customer);
  std::string item = new_uuid(), abono = new_uuid();
  auto r = push({operation("it", "sale_items", "insert", item,
                           R"({"sale_id":")" + sale + R"(","product_name":"Pan","quantity":1,"unit_price":2})", ts(1)),
                 operation("ab", "abonos", "insert", abono,
                           R"({"customer_id":")" + customer + R"(","sale_id":")" + sale + R"(","amount":5})", ts(1))});
  ASSERT_TRUE(r[0].success && r[1].success);
  auto c = expect_fails(push_one(operation("dc", "customers", "delete", customer, "", ts(100))), "CONFLICT");
  EXPECT_NE(c.message.find("sales"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("abonos"), std::string::npos) << c.message;
  auto s = expect_fails(push_one(operation("ds", "sales", "delete", sale, "", ts(100))), "CONFLICT");
  EXPECT_NE(s.message.find("sale_items"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("abonos"), std::string::npos) << s.message;
  // Once the referencing rows are deleted, the delete goes through.
  auto d = push({operation("d1", "sale_items", "delete", item, "", ts(100)),
                 operation("d2", "abonos", "delete", abono, "", ts(100)),
                 operation("d3", "sales", "delete", sale, "", ts(100)),
                 operation("d4", "customers", "delete", customer, "", ts(100))});
  for (const auto& x : d) EXPECT_TRUE(x.success) << x.operation_id << ": " << x.message;
}

TEST_F(ConflictTest, DeletingAMissingOrDeletedRowSucceeds) {
  EXPECT_TRUE(push_one(operation("a", "customers", "delete", new_uuid(), "", ts(1))).success);
  std::string id = insert_customer();
  EXPECT_TRUE(push_one(operation("b", "customers", "delete", id, "", ts(5))).success);
  EXPECT_TRUE(push_one(operation("c", "customers", "delete", id, "", ts(6))).success);
  EXPECT_TRUE(push_one(operation("d", "customers", "delete", id, "", ts(1))).success);
}

TEST_F(ConflictTest, AForeignKeyToAMissingOrDeletedRowIsAValidationError) {
  auto r = expect_fails(push_one(operation("a", "sales", "insert", new_uuid(),
                                           R"({"customer_id":")" + new_uuid() + R"(","total":1,"payment_type":"cash"})",
                                           ts(1))),
                        "VALIDATION_ERROR");
  EXPECT_NE(r.message.find("sales.customer_id"), std::string::npos) << r.message;
  std::string customer = insert_customer();
  ASSERT_TRUE(push_one(operation("d", "customers", "delete", customer, "", ts(5))).success);
  expect_fails(push_one(operation("b", "abonos", "insert", new_uuid(),
                                  R"({"customer_id":")" + customer + R"(","amount":1})", ts(6))),
               "VALIDATION_ERROR");
  // An update that points a row at a missing row fails the same way.
  std::string live = insert_customer();
  std::string sale = insert_sale(live);
  expect_fails(push_one(operation("c", "sales", "update", sale,
                                  R"({"customer_id":")" + customer + "\"}", ts(7))),
               "VALIDATION_ERROR");
}

TEST_F(ConflictTest, ServerManagedFieldsInThePayloadAreIgnored) {
  std::string id = new_uuid();
  auto r = push_one(operation("a", "customers", "insert", id,
                              R"({"name":"Ana","id":"other","business_id":"b","created_at":"1999-01-01T00:00:00Z",)"
                              R"("updated_at":"x","sync_status":"pending","sync_attempts":9})", ts(1)));
  ASSERT_TRUE(r.success) << r.message;
  auto row = state_of(token_a)["customers/" + id].data;
  EXPECT_EQ(row.at("id"), id.c_str());
  EXPECT_NE(row.at("created_at"), "1999-01-01T00:00:00.000Z");
  EXPECT_FALSE(row.as_object().contains("business_id"));
  EXPECT_FALSE(row.as_object().contains("businessId"));
}

}  // namespace
}  // namespace avsync::testing

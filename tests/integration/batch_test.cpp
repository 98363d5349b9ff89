// docs/protocol.md §1 and §3: the batch envelope, validation errors, per-operation atomicity
// and the operation log.

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class BatchTest : public SyncServerTest {
 protected:
  HttpResult post_raw(const std::string& body, const std::string& content_type = "application/json") {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + token_a}};
    if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
    return http->request("POST", "/sync/batch", body, headers);
  }
  void expect_error(const HttpResult& res, int status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body;
    auto v = parse_json_body(res.body);
    EXPECT_EQ(v.at("error").at("code"), code.c_str()) << res.body;
    EXPECT_FALSE(v.at("error").at("message").as_string().empty());
  }
  // Nothing of tenant A changed.
  void expect_nothing_applied() { EXPECT_TRUE(pull_all(token_a).empty()); }
};

TEST_F(BatchTest, EnvelopeProblemsAre400AndApplyNothing) {
  auto good = operation("op-good", "customers", "insert", new_uuid(), R"({"name":"Ana"})", ts(0));
  std::string good_json = boost::json::serialize(good);
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string(R"({"operations": {}})"),
        std::string(R"({"operations": "x"})"), std::string("{}"),
        R"({"operations": [)" + good_json + R"(, 5]})",
        R"({"operations": [)" + good_json + R"(, {"entity": "customers"}]})",
        R"({"operations": [)" + good_json + R"(, {"operationId": 12}]})",
        R"({"operations": [)" + good_json + R"(, {"operationId": ""}]})",
        R"({"operations": [)" + good_json + R"(, {"operationId": ")" + std::string(129, 'x') + "\"}]}",
        std::string("{\"operations\": [{\"operationId\": \"\xff\"}]}")}) {
    SCOPED_TRACE(body);
    expect_error(post_raw(body), 400, "BAD_REQUEST");
  }
  expect_nothing_applied();
}

TEST_F(BatchTest, ContentTypeMustBeJson) {
  std::string body = batch_body({operation("op", "customers", "insert", new_uuid(), R"({"name":"A"})", ts(0))});
  expect_error(post_raw(body, ""), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post_raw(body, "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post_raw(body, "application/jsonx"), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_nothing_applied();
  EXPECT_EQ(post_raw(body, "Application/JSON; charset=utf-8").status, 200);
}

TEST_F(BatchTest, TooManyOperationsIs413BatchTooLargeAndAppliesNothing) {
  std::vector<boost::json::object> ops;
  for (int i = 0; i < 501; ++i)
    ops.push_back(operation("op-" + std::to_string(i), "customers", "insert", new_uuid(), R"({"name":"A"})", ts(0)));
  expect_error(post_raw(batch_body(ops)), 413, "BATCH_TOO_LARGE");
  expect_nothing_applied();
  ops.pop_back();
  EXPECT_EQ(post_raw(batch_body(ops)).status, 200);  // 500 is within the default limit
}

TEST_F(BatchTest, BodyOverFourMebibytesIs413PayloadTooLarge) {
  std::string notes(5 << 20, 'x');
  std::string body = batch_body({operation("op", "customers", "insert", new_uuid(),
                                           R"({"name":"A","notes":")" + notes + "\"}", ts(0))});
  expect_error(post_raw(body), 413, "PAYLOAD_TOO_LARGE");
  // The server keeps answering afterwards.
  EXPECT_EQ(http->request("GET", "/healthz").status, 200);
  expect_nothing_applied();
}

TEST_F(BatchTest, UnknownRouteAndWrongMethod) {
  expect_error(http->request("GET", "/sync/nothing"), 404, "NOT_FOUND");
  auto res = http->request("GET", "/sync/batch");
  expect_error(res, 405, "METHOD_NOT_ALLOWED");
  EXPECT_EQ(res.headers["allow"], "POST");
  expect_error(http->request("DELETE", "/sync/changes"), 405, "METHOD_NOT_ALLOWED");
}

TEST_F(BatchTest, HealthzAnswersOk) {
  auto res = http->request("GET", "/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(parse_json_body(res.body).at("status"), "ok");
}

TEST_F(BatchTest, EachValidationErrorFailsOnlyItsOperation) {
  std::string customer = insert_customer();
  std::string sale = insert_sale(customer);
  struct Case {
    std::string entity, action, entity_id, payload, timestamp, message;
  };
  std::string id = new_uuid();
  std::vector<Case> cases{
      {"widgets", "insert", id, "{}", ts(1), "entity: unknown entity 'widgets'"},
      {"customers", "upsert", id, R"({"name":"A"})", ts(1), "action: must be 'insert', 'update' or 'delete'"},
      {"customers", "insert", "not-a-uuid", R"({"name":"A"})", ts(1), "entityId: must be a UUID"},
      {"customers", "insert", id, R"({"name":"A","colour":"red"})", ts(1), "customers.colour: unknown field"},
      {"customers", "insert", id, R"({"phone":"1"})", ts(1), "customers.name: is required"},
      {"customers", "insert", id, R"({"name":7})", ts(1), "customers.name: must be text"},
      {"customers", "insert", id, R"({"name":"A\u0000B"})", ts(1), "customers.name: must not contain U+0000"},
      {"customers", "insert", id, R"({"name":")" + std::string(201, 'a') + "\"}", ts(1),
       "customers.name: must be at most 200 characters"},
      {"customers", "insert", id, R"({"name":"A","credit_limit":"1.001"})", ts(1),
       "customers.credit_limit: has more than 2 decimal places"},
      {"sales", "insert", id, R"({"total":-5,"payment_type":"cash"})", ts(1), "sales.total: must be a decimal >= 0"},
      {"sales", "insert", id, R"({"total":5,"payment_type":"barter"})", ts(1),
       "sales.payment_type: must be one of 'cash' or 'credit'"},
      {"sales", "insert", id, R"({"total":5,"payment_type":"cash","customer_id":")" + new_uuid() + "\"}", ts(1), ""},
      {"sale_items", "insert", id, R"({"sale_id":")" + sale + R"(","product_name":"Pan","quantity":0,"unit_price":1})",
       ts(1), "sale_items.quantity: must be a decimal > 0"},
      {"sale_items", "insert", id, R"({"sale_id":")" + sale + R"(","product_name":"Pan","quantity":"1.0001","unit_price":1})",
       ts(1), "sale_items.quantity: has more than 3 decimal places"},
      {"abonos", "insert", id, R"({"customer_id":")" + customer + R"(","amount":0})", ts(1),
       "abonos.amount: must be a decimal > 0"},
      {"abonos", "insert", id, R"({"customer_id":")" + customer + R"(","amount":5,"method":"gold"})", ts(1),
       "abonos.method: must be one of 'cash', 'transfer', 'card' or 'other'"},
      {"distribuciones", "insert", id, R"({"product_name":"Arroz","quantity":2,"distributed_at":"tuesday"})", ts(1), ""},
      {"customers", "insert", id, R"({"name":"A"})", "not a time", ""},
      {"customers", "insert", id, R"({"name":"A"})", "", ""},
      {"customers", "insert", id, "", ts(1), "payload: must be an object"},
      {"customers", "update", customer, R"({"name":null})", ts(1), "customers.name: must not be null"},
  };
  std::vector<boost::json::object> ops;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto op = operation("bad-" + std::to_string(i), cases[i].entity, cases[i].action, cases[i].entity_id,
                        cases[i].payload, cases[i].timestamp);
    if (cases[i].timestamp.empty()) op.erase("clientTimestamp");
    ops.push_back(op);
    // A good operation after each bad one still applies (§3.1).
    ops.push_back(operation("good-" + std::to_string(i), "distribuciones", "insert", new_uuid(),
                            R"({"product_name":"Arroz","quantity":1})", ts(1)));
  }
  auto results = push(ops);
  ASSERT_EQ(results.size(), ops.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].entity + " " + cases[i].payload);
    EXPECT_FALSE(results[2 * i].success);
    EXPECT_EQ(results[2 * i].error, "VALIDATION_ERROR");
    if (!cases[i].message.empty()) {
      EXPECT_EQ(results[2 * i].message, cases[i].message);
    }
    EXPECT_TRUE(results[2 * i + 1].success) << results[2 * i + 1].message;
  }
  auto state = state_of(token_a);
  EXPECT_EQ(state.size(), 2 + cases.size());  // customer, sale and one distribucion per case
  EXPECT_EQ(state.count("customers/" + id), 0u);
}

TEST_F(BatchTest, ResultsComeBackInRequestOrder) {
  std::vector<boost::json::object> ops;
  for (int i = 0; i < 50; ++i)
    ops.push_back(operation("order-" + std::to_string(i), "customers", i % 3 ? "insert" : "update",
                            new_uuid(), R"({"name":"A"})", ts(0)));
  auto results = push(ops);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(results[i].operation_id, "order-" + std::to_string(i));
    EXPECT_EQ(results[i].success, i % 3 != 0);
    if (i % 3 == 0) {
      EXPECT_EQ(results[i].error, "NOT_FOUND");
    }
  }
}

TEST_F(BatchTest, DecimalsAreExactAndReturnedAsStrings) {
  std::string customer = insert_customer();
  std::string sale = new_uuid(), item = new_uuid();
  auto r = push({operation("s", "sales", "insert", sale,
                           R"({"customer_id":")" + customer + R"(","total":999999999999.99,"payment_type":"cash"})", ts(1)),
                 operation("i", "sale_items", "insert", item,
                           R"({"sale_id":")" + sale + R"(","product_name":"Pan","quantity":"1.5","unit_price":0.1})", ts(1))});
  ASSERT_TRUE(r[0].success) << r[0].message;
  ASSERT_TRUE(r[1].success) << r[1].message;
  auto state = state_of(token_a);
  EXPECT_EQ(state["sales/" + sale].data.at("total"), "999999999999.99");
  EXPECT_EQ(state["sale_items/" + item].data.at("quantity"), "1.500");
  EXPECT_EQ(state["sale_items/" + item].data.at("unit_price"), "0.10");
  EXPECT_EQ(state["sale_items/" + item].data.at("subtotal"), "0.15");  // default quantity * unit_price
  EXPECT_EQ(state["sales/" + sale].data.at("status"), "completed");
  EXPECT_EQ(state["sales/" + sale].data.at("sold_at"), ts(1).c_str());  // default clientTimestamp
}

TEST_F(BatchTest, IdsAndTimestampsAreNormalised) {
  std::string id = new_uuid();
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto r = push({operation("n", "distribuciones", "insert", upper,
                           R"({"product_name":"Arroz","quantity":1,"distributed_at":"2026-01-01T03:00:00-05:00"})",
                           "2026-01-01T01:00:00+01:00")});
  ASSERT_TRUE(r[0].success) << r[0].message;
  auto state = state_of(token_a);
  ASSERT_EQ(state.count("distribuciones/" + id), 1u);
  EXPECT_EQ(state["distribuciones/" + id].data.at("id"), id.c_str());
  EXPECT_EQ(state["distribuciones/" + id].data.at("distributed_at"), "2026-01-01T08:00:00.000Z");
}

TEST_F(BatchTest, PaymentsIsAnAliasOfAbonos) {
  std::string customer = insert_customer();
  std::string abono = new_uuid();
  auto r = push({operation("p", "payments", "insert", abono,
                           R"({"customer_id":")" + customer + R"(","amount":"20"})", ts(1))});
  ASSERT_TRUE(r[0].success) << r[0].message;
  auto state = state_of(token_a);
  ASSERT_EQ(state.count("abonos/" + abono), 1u);
  EXPECT_EQ(state["abonos/" + abono].data.at("method"), "cash");
  EXPECT_EQ(state["abonos/" + abono].data.at("amount"), "20.00");
}

TEST_F(BatchTest, EveryOperationIsLoggedAppliedOrFailed) {
  std::string id = new_uuid();
  push({operation("log-ok", "customers", "insert", id, R"({"name":"A","businessId":"x"})", ts(1)),
        operation("log-bad", "customers", "update", new_uuid(), R"({"name":"B"})", ts(2))});
  auto rows = query_database(server->db_url(),
                             "SELECT operation_id, entity, action, entity_id, payload, status, error, message,"
                             " client_timestamp, processed_at, created_at FROM sync_operations"
                             " WHERE business_id = $1 ORDER BY operation_id",
                             {business_a});
  ASSERT_EQ(rows.size(), 2u);
  const auto& bad = rows[0];
  EXPECT_EQ(bad[0], "log-bad");
  EXPECT_EQ(bad[5], "failed");
  EXPECT_EQ(bad[6], "NOT_FOUND");
  EXPECT_FALSE(bad[7].value_or("").empty());
  const auto& ok = rows[1];
  EXPECT_EQ(ok[0], "log-ok");
  EXPECT_EQ(ok[1], "customers");
  EXPECT_EQ(ok[2], "insert");
  EXPECT_EQ(ok[3], id);
  // businessId is never stored; compared as JSON (PostgreSQL's jsonb spaces it out).
  EXPECT_EQ(parse_json_body(ok[4].value_or("")), parse_json_body(R"({"name":"A"})"));
  EXPECT_EQ(ok[5], "processed");
  EXPECT_FALSE(ok[6].has_value());
  EXPECT_EQ(ok[8], ts(1));
  EXPECT_FALSE(ok[9].value_or("").empty());
  EXPECT_FALSE(ok[10].value_or("").empty());
}

}  // namespace
}  // namespace avsync::testing

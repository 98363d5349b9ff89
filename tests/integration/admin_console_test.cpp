// The operations console's data routes (docs/protocol.md §7.2 to §7.5): businesses with
// their activity, the operation log searched and paged, conflicts resolved by an operator
// and the audit of each resolution. Opened only by the admin credential.

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "sync_fixture.hpp"
#include "testing/jwt_signer.hpp"
#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
namespace json = boost::json;

constexpr char kConsoleCredential[] = "adm_Zq4Lx8Vw2Ns6Kp1Ty9Rb3Mc7Hd5Jf0Gg2We4Ua";
constexpr char kConsoleJwtSecret[] = "the-app-backend-hs256-secret-of-32-bytes-or-more";

// Every byte but unreserved ones %-encoded, as a caller puts a value in a URL.
std::string url_encoded(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class AdminConsoleTest : public SyncServerTest {
 protected:
  AdminConsoleTest() {
    std::ofstream(dir_.file("admin-token")) << kConsoleCredential;
    std::ofstream(dir_.file("jwt-secret")) << kConsoleJwtSecret;
  }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--admin-token-file", dir_.file("admin-token"), "--jwt-secret-file",
                             dir_.file("jwt-secret")});
    return args;
  }

  HttpResult admin(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   const std::string& authorization = std::string("Bearer ") + kConsoleCredential) {
    Headers headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    if (method == "POST") headers.emplace_back("Content-Type", "application/json");
    return http->request(method, target, body, headers);
  }
  json::value get(const std::string& target) {
    auto res = admin("GET", target);
    EXPECT_EQ(res.status, 200) << target << ": " << res.body;
    return res.status == 200 ? parse_json_body(res.body) : json::value(json::object{});
  }
  HttpResult resolve(const std::string& business_id, const std::string& operation_id,
                     const std::string& body) {
    return admin("POST",
                 "/admin/conflicts/" + url_encoded(business_id) + "/" + url_encoded(operation_id) +
                     "/resolve",
                 body);
  }
  // Every item of a listing, page by page (`key` names the list), checking nextCursor.
  std::vector<json::object> all_pages(const std::string& target, const std::string& key,
                                      int limit) {
    std::vector<json::object> out;
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
      const char sep = target.find('?') == std::string::npos ? '?' : '&';
      auto body = get(target + sep + "limit=" + std::to_string(limit) +
                      (cursor.empty() ? "" : "&cursor=" + url_encoded(cursor)));
      const auto& items = body.at(key).as_array();
      EXPECT_LE(items.size(), static_cast<std::size_t>(limit));
      for (const auto& item : items) out.push_back(item.as_object());
      if (body.at("nextCursor").is_null()) return out;
      EXPECT_EQ(items.size(), static_cast<std::size_t>(limit)) << "only a full page has a next one";
      cursor = std::string(body.at("nextCursor").as_string());
    }
    ADD_FAILURE() << "the pages never end";
    return out;
  }
  void expect_error(const HttpResult& res, int status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body;
    if (res.status == status) {
      EXPECT_EQ(parse_json_body(res.body).at("error").at("code").as_string(), code) << res.body;
    }
  }
  std::string jwt_of(const std::string& business_id) {
    const std::int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() +
                             600;
    return JwtSigner::hs256(kConsoleJwtSecret)
        .sign({{"sub", "admin"}, {"businessId", business_id}, {"role", "admin"}, {"exp", exp}});
  }
  // A customer of `token`'s tenant updated at ts(5) by one device, then a conflicting
  // update at ts(3) from another: returns {customer id, the failed operation's id}.
  std::pair<std::string, std::string> make_conflict(const std::string& writer,
                                                    const std::string& late_device,
                                                    const std::string& server_name,
                                                    const std::string& client_name) {
    const std::string customer = new_uuid();
    auto first = push_as(writer, {operation(new_uuid(), "customers", "insert", customer,
                                            R"({"name":"Original","phone":"555-0100"})", ts(1)),
                                  operation(new_uuid(), "customers", "update", customer,
                                            R"({"name":")" + server_name + R"("})", ts(5))});
    EXPECT_TRUE(first.at(0).success && first.at(1).success);
    const std::string late = new_uuid();
    auto results = push_as(
        late_device, {operation(late, "customers", "update", customer,
                                R"({"name":")" + client_name + R"(","notes":"from B"})", ts(3))});
    EXPECT_EQ(results.at(0).error, "CONFLICT") << results.at(0).message;
    return {customer, late};
  }
  std::string count(const std::string& table) {
    return *query_database(server->db_url(), "SELECT count(*) FROM " + table)[0][0];
  }

  TestDir dir_;
};

const std::vector<std::pair<std::string, std::string>> kConsoleRoutes{
    {"GET", "/admin/businesses"},
    {"GET", "/admin/operations"},
    {"GET", "/admin/conflicts"},
    {"GET", "/admin/audit"},
    {"POST", "/admin/conflicts/b/op/resolve"},
};

TEST_F(AdminConsoleTest, EveryConsoleRouteRefusesATenantTokenAJwtAndAnyOtherCredential) {
  auto [customer, failed] = make_conflict(token_a, token_a, "Server", "Client");
  const std::string jwt = jwt_of(business_a);
  ASSERT_EQ(http->get_changes(jwt).status, 200) << "the JWT opens /sync/*";
  const std::string credential = kConsoleCredential;
  const std::vector<std::string> refused{"",
                                         "Bearer " + token_a,
                                         "Bearer " + jwt,
                                         "Bearer " + credential + "x",
                                         "Bearer " + credential.substr(1),
                                         "Basic " + credential,
                                         credential};
  auto routes = kConsoleRoutes;
  routes.emplace_back("POST",
                      "/admin/conflicts/" + url_encoded(business_a) + "/" + failed + "/resolve");
  for (const auto& [method, target] : routes)
    for (const std::string& authorization : refused)
      expect_error(admin(method, target, R"({"resolution":"apply_client"})", authorization), 401,
                   "UNAUTHENTICATED");
  EXPECT_EQ(get("/admin/conflicts").at("conflicts").as_array().size(), 1u)
      << "nothing was resolved";
  EXPECT_EQ(count("conflict_resolutions"), "0");
}

TEST_F(SyncServerTest, WithoutAnAdminCredentialTheConsoleRoutesDoNotExist) {
  for (const auto& [method, target] : kConsoleRoutes) {
    auto res = http->request(
        method, target, R"({"resolution":"keep_server"})",
        {{"Authorization", "Bearer " + token_a}, {"Content-Type", "application/json"}});
    EXPECT_EQ(res.status, 404) << method << " " << target << ": " << res.body;
  }
}

TEST_F(AdminConsoleTest, OperationsAreSearchedNewestFirstAndEveryPageHoldsEachRowOnce) {
  std::vector<json::object> ops;
  std::set<std::string> customers;
  for (int i = 0; i < 12; ++i) {
    const std::string id = new_uuid();
    customers.insert(id);
    ops.push_back(operation(new_uuid(), "customers", "insert", id,
                            R"({"name":"C)" + std::to_string(i) + R"("})", ts(i)));
  }
  for (int i = 0; i < 5; ++i)  // updates of rows that do not exist: NOT_FOUND
    ops.push_back(
        operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"x"})", ts(20)));
  for (int i = 0; i < 4; ++i)  // a sale without a total: VALIDATION_ERROR
    ops.push_back(
        operation(new_uuid(), "sales", "insert", new_uuid(), R"({"total":"-1"})", ts(21)));
  push(ops);
  push({operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"Tail"})", ts(30))});
  push_as(token_b,
          {operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"B"})", ts(1)),
           operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"B"})", ts(2))});

  const std::string a = "/admin/operations?businessId=" + url_encoded(business_a);
  auto all = all_pages(a, "operations", 4);
  ASSERT_EQ(all.size(), 22u);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(seen.insert(std::string(all[i].at("operationId").as_string())).second)
        << "a row seen twice";
    EXPECT_EQ(all[i].at("businessId"), business_a.c_str());
    if (i) {
      EXPECT_GE(std::string_view(all[i - 1].at("processedAt").as_string()),
                std::string_view(all[i].at("processedAt").as_string()))
          << "newest first";
    }
    EXPECT_TRUE(all[i].at("payload").is_object());
  }
  // The last push is the newest (or shares its millisecond with the newest).
  auto tail = std::find_if(all.begin(), all.end(), [](const json::object& o) {
    return o.at("payload").at("name") == "Tail";
  });
  ASSERT_NE(tail, all.end());
  EXPECT_EQ(tail->at("processedAt"), all[0].at("processedAt"));
  EXPECT_EQ(tail->at("status"), "applied");
  EXPECT_TRUE(tail->at("errorCode").is_null());
  EXPECT_TRUE(tail->at("message").is_null());
  EXPECT_TRUE(tail->at("resolution").is_null());
  EXPECT_EQ(tail->at("entity"), "customers");
  EXPECT_EQ(tail->at("action"), "insert");
  // Every page size gives the same rows in the same order.
  for (int limit : {1, 7, 22, 500}) {
    auto again = all_pages(a, "operations", limit);
    ASSERT_EQ(again.size(), all.size()) << limit;
    for (std::size_t i = 0; i < all.size(); ++i)
      EXPECT_EQ(again[i].at("operationId"), all[i].at("operationId"));
  }

  auto failed = all_pages(a + "&status=failed", "operations", 3);
  EXPECT_EQ(failed.size(), 9u);
  for (const auto& op : failed) EXPECT_EQ(op.at("status"), "failed");
  EXPECT_EQ(all_pages(a + "&status=applied", "operations", 5).size(), 13u);
  auto not_found = all_pages(a + "&errorCode=NOT_FOUND", "operations", 2);
  ASSERT_EQ(not_found.size(), 5u);
  EXPECT_EQ(not_found[0].at("action"), "update");
  EXPECT_FALSE(not_found[0].at("message").as_string().empty());
  EXPECT_EQ(all_pages(a + "&errorCode=VALIDATION_ERROR&entity=sales", "operations", 2).size(), 4u);
  EXPECT_EQ(all_pages(a + "&entity=customers", "operations", 6).size(), 18u);
  EXPECT_EQ(all_pages(a + "&status=applied&errorCode=NOT_FOUND", "operations", 6).size(), 0u);
  auto one =
      get(a + "&operationId=" + url_encoded(std::string(all[5].at("operationId").as_string())));
  ASSERT_EQ(one.at("operations").as_array().size(), 1u);
  EXPECT_EQ(one.at("operations").at(0).at("operationId"), all[5].at("operationId"));
  // A time range: [from, to) of processedAt.
  const std::string newest(all[0].at("processedAt").as_string());
  EXPECT_EQ(get(a + "&from=" + newest).at("operations").as_array().size(),
            static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](auto& o) {
              return o.at("processedAt") == newest.c_str();
            })));
  EXPECT_EQ(get(a + "&to=" + url_encoded(std::string(all.back().at("processedAt").as_string())))
                .at("operations")
                .as_array()
                .size(),
            0u);
  EXPECT_EQ(get(a + "&from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00.000Z")
                .at("operations")
                .as_array()
                .size(),
            22u);

  // Without a business: every tenant, each row once.
  auto everyone = all_pages("/admin/operations", "operations", 5);
  EXPECT_EQ(everyone.size(), 24u);
  std::set<std::string> keys;
  for (const auto& op : everyone)
    keys.insert(std::string(op.at("businessId").as_string()) + "/" +
                std::string(op.at("operationId").as_string()));
  EXPECT_EQ(keys.size(), 24u);
  EXPECT_EQ(all_pages("/admin/operations?status=failed", "operations", 4).size(), 10u);
  EXPECT_EQ(all_pages("/admin/operations?errorCode=NOT_FOUND", "operations", 4).size(), 6u);
}

TEST_F(AdminConsoleTest, BadFiltersAndCursorsAre400AndHostileStringsAreOnlyValues) {
  push({operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"x"})", ts(2))});
  const std::string operations = count("sync_operations");
  for (const std::string& target :
       std::vector<std::string>{"/admin/operations?status=processed",
                                "/admin/operations?status=Failed",
                                "/admin/operations?limit=0",
                                "/admin/operations?limit=501",
                                "/admin/operations?limit=ten",
                                "/admin/operations?limit=-1",
                                "/admin/operations?from=yesterday",
                                "/admin/operations?to=2026-13-01T00:00:00Z",
                                "/admin/operations?cursor=not-a-cursor",
                                "/admin/operations?cursor=W10",
                                "/admin/operations?cursor=WyJ4IiwieSIsInoiXQ",
                                "/admin/operations?businessId=%ZZ",
                                "/admin/operations?businessId=" + std::string(129, 'b'),
                                "/admin/operations?entity=" + std::string(129, 'e'),
                                "/admin/businesses?limit=1001",
                                "/admin/businesses?cursor=%25%25",
                                "/admin/conflicts?limit=501",
                                "/admin/conflicts?cursor=bad",
                                "/admin/audit?limit=0",
                                "/admin/audit?cursor=bad"}) {
    auto res = admin("GET", target);
    expect_error(res, 400, "BAD_REQUEST");
  }
  // A cursor of one tenant's listing is refused by another's.
  push({operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"y"})", ts(3))});
  auto page = get("/admin/operations?limit=1&businessId=" + url_encoded(business_a));
  ASSERT_TRUE(page.at("nextCursor").is_string());
  expect_error(admin("GET", "/admin/operations?businessId=" + url_encoded(business_b) +
                                "&cursor=" + std::string(page.at("nextCursor").as_string())),
               400, "BAD_REQUEST");

  for (const std::string& hostile :
       std::vector<std::string>{"x' OR '1'='1", "%", "_", "\"; DROP TABLE sync_operations; --",
                                "' OR 1=1 --", "customers' --", "\\", "a\"b"}) {
    const std::string v = url_encoded(hostile);
    for (const std::string& filter :
         std::vector<std::string>{"businessId", "entity", "errorCode", "operationId"})
      EXPECT_EQ(get("/admin/operations?" + filter + "=" + v).at("operations").as_array().size(), 0u)
          << filter << "=" << hostile;
    EXPECT_EQ(get("/admin/conflicts?businessId=" + v).at("conflicts").as_array().size(), 0u);
    EXPECT_EQ(get("/admin/audit?businessId=" + v).at("audit").as_array().size(), 0u);
    expect_error(resolve(hostile, hostile, R"({"resolution":"keep_server"})"), 404, "NOT_FOUND");
  }
  for (const std::string& body : std::vector<std::string>{
           "", "{", "[]", R"({"resolution":"both"})", R"({"resolution":1})", "{}",
           R"({"resolution":"keep_server","by":""})", R"({"resolution":"keep_server","x":1})",
           R"({"resolution":"keep_server","by":")" + std::string(201, 'a') + R"("})"})
    expect_error(resolve(business_a, "op", body), 400, "BAD_REQUEST");
  // A control character is refused, not cut: PostgreSQL would read "abc%00zzz" as "abc".
  for (const std::string& filter : std::vector<std::string>{"entity", "errorCode", "operationId"})
    expect_error(admin("GET", "/admin/operations?" + filter + "=abc%00zzz"), 400, "BAD_REQUEST");
  expect_error(resolve(business_a, "op", R"({"resolution":"keep_server","by":"a\u0000b"})"), 400,
               "BAD_REQUEST");
  expect_error(resolve(business_a, std::string("op\0x", 4), R"({"resolution":"keep_server"})"), 404,
               "NOT_FOUND");
  EXPECT_EQ(count("sync_operations"), std::to_string(std::stoi(operations) + 1));
  EXPECT_EQ(count("conflict_resolutions"), "0");
}

TEST_F(AdminConsoleTest, AConflictResolvedWithTheClientsFieldsReachesEveryDevice) {
  const std::string device_b = server->create_token(business_a, "seller-b2");
  auto [customer, failed] = make_conflict(token_a, device_b, "Server name", "Client name");
  std::string cursor_a, cursor_b;
  pull_all(token_a, "", 1000, &cursor_a);
  pull_all(device_b, "", 1000, &cursor_b);

  auto conflicts =
      get("/admin/conflicts?businessId=" + url_encoded(business_a)).at("conflicts").as_array();
  ASSERT_EQ(conflicts.size(), 1u);
  const auto& conflict = conflicts[0];
  EXPECT_EQ(conflict.at("operationId"), failed.c_str());
  EXPECT_EQ(conflict.at("errorCode"), "CONFLICT");
  EXPECT_EQ(conflict.at("status"), "failed");
  EXPECT_EQ(conflict.at("entityId"), customer.c_str());
  EXPECT_EQ(conflict.at("payload").at("name"), "Client name");
  EXPECT_EQ(conflict.at("serverRow").at("name"), "Server name");
  EXPECT_EQ(conflict.at("serverRow").at("phone"), "555-0100");
  EXPECT_EQ(conflict.at("serverRow").at("deleted"), false);
  EXPECT_TRUE(conflict.at("resolution").is_null());

  const std::int64_t before = tenant_version(business_a);
  auto res = resolve(business_a, failed, R"({"resolution":"apply_client","by":"ana@ops"})");
  ASSERT_EQ(res.status, 200) << res.body;
  auto resolved = parse_json_body(res.body);
  EXPECT_EQ(resolved.at("resolution"), "apply_client");
  EXPECT_EQ(resolved.at("by"), "ana@ops");
  EXPECT_EQ(resolved.at("businessId"), business_a.c_str());
  EXPECT_TRUE(resolved.at("version").is_string());
  EXPECT_EQ(tenant_version(business_a), before + 1) << "one new write";

  // Both devices, following the feed from where they were, receive B's fields.
  for (auto [token, cursor] : {std::pair{token_a, cursor_a}, std::pair{device_b, cursor_b}}) {
    std::string after;
    auto changes = pull_all(token, cursor, 1000, &after);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].data.at("name"), "Client name");
    EXPECT_EQ(changes[0].data.at("notes"), "from B");
    EXPECT_EQ(changes[0].data.at("phone"), "555-0100") << "fields the client did not send stay";
    EXPECT_EQ(after, std::string(resolved.at("version").as_string()));
    EXPECT_EQ(state_of(token).at("customers/" + customer).data.at("name"), "Client name");
  }
  EXPECT_TRUE(get("/admin/conflicts?businessId=" + url_encoded(business_a))
                  .at("conflicts")
                  .as_array()
                  .empty());
  expect_error(resolve(business_a, failed, R"({"resolution":"apply_client"})"), 409, "CONFLICT");
  expect_error(resolve(business_a, failed, R"({"resolution":"keep_server"})"), 409, "CONFLICT");
  EXPECT_EQ(tenant_version(business_a), before + 1);

  // The log shows the resolution on the operation, and the server's write as applied.
  auto logged = get("/admin/operations?operationId=" + failed).at("operations").at(0);
  EXPECT_EQ(logged.at("resolution").at("resolution"), "apply_client");
  EXPECT_EQ(logged.at("resolution").at("by"), "ana@ops");
  auto newest =
      get("/admin/operations?limit=1&businessId=" + url_encoded(business_a)).at("operations").at(0);
  EXPECT_EQ(newest.at("status"), "applied");
  EXPECT_EQ(newest.at("entityId"), customer.c_str());
  EXPECT_NE(newest.at("operationId"), failed.c_str());
}

// A failed operation sent again is evaluated again (docs/protocol.md §3.2): a resolution
// settled the operation as it was logged then, and a repeat that fails again is a new
// conflict to decide, with its own audit record.
TEST_F(AdminConsoleTest, AResolvedOperationSentAgainThatFailsAgainIsANewConflict) {
  auto [customer, late] = make_conflict(token_a, token_a, "Server", "Client");
  auto listed = [&] {
    std::size_t n = 0;
    for (const auto& c :
         all_pages("/admin/conflicts?businessId=" + url_encoded(business_a), "conflicts", 50))
      n += c.at("operationId") == late.c_str();
    return n;
  };
  ASSERT_EQ(listed(), 1u);
  ASSERT_EQ(resolve(business_a, late, R"({"resolution":"keep_server"})").status, 200);
  EXPECT_EQ(listed(), 0u);
  auto again = push_as(token_a, {operation(late, "customers", "update", customer,
                                           R"({"name":"Client","notes":"from B"})", ts(3))});
  ASSERT_EQ(again.at(0).error, "CONFLICT") << again.at(0).message;
  EXPECT_EQ(listed(), 1u) << "the repeat failed again: a conflict nobody has decided on";
  auto res = resolve(business_a, late, R"({"resolution":"keep_server","by":"second look"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(listed(), 0u);
  expect_error(resolve(business_a, late, R"({"resolution":"keep_server"})"), 409, "CONFLICT");
  auto audit = get("/admin/audit?businessId=" + url_encoded(business_a)).at("audit").as_array();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].at("by"), "second look");
  EXPECT_EQ(audit[1].at("by"), "admin");
  EXPECT_EQ(state_of(token_a).at("customers/" + customer).data.at("name"), "Server");
}

TEST_F(AdminConsoleTest, KeepServerChangesNoRowAndTheAuditListsEveryResolution) {
  auto [kept_customer, kept] = make_conflict(token_a, token_a, "Kept", "Dropped");
  auto [applied_customer, applied] = make_conflict(token_a, token_a, "Old", "New");
  const std::int64_t before = tenant_version(business_a);
  auto res = resolve(business_a, kept, R"({"resolution":"keep_server"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(parse_json_body(res.body).at("version").is_null());
  EXPECT_EQ(parse_json_body(res.body).at("by"), "admin") << "the default resolver";
  EXPECT_EQ(tenant_version(business_a), before) << "no feed version";
  EXPECT_EQ(state_of(token_a).at("customers/" + kept_customer).data.at("name"), "Kept");
  ASSERT_EQ(resolve(business_a, applied, R"({"resolution":"apply_client","by":"luis"})").status,
            200);
  expect_error(resolve(business_a, kept, R"({"resolution":"keep_server"})"), 409, "CONFLICT");

  auto audit = get("/admin/audit?businessId=" + url_encoded(business_a)).at("audit").as_array();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].at("operationId"), applied.c_str()) << "newest first";
  EXPECT_EQ(audit[0].at("by"), "luis");
  EXPECT_EQ(audit[0].at("resolution"), "apply_client");
  EXPECT_TRUE(audit[0].at("version").is_string());
  EXPECT_EQ(audit[1].at("operationId"), kept.c_str());
  EXPECT_EQ(audit[1].at("by"), "admin");
  EXPECT_EQ(audit[1].at("resolution"), "keep_server");
  EXPECT_TRUE(audit[1].at("version").is_null());
  for (const auto& record : audit) {
    EXPECT_EQ(record.at("action"), "resolve_conflict");
    EXPECT_EQ(record.at("address"), "127.0.0.1");
    EXPECT_EQ(record.at("businessId"), business_a.c_str());
    EXPECT_FALSE(record.at("at").as_string().empty());
  }
  EXPECT_EQ(all_pages("/admin/audit", "audit", 1).size(), 2u);
  EXPECT_TRUE(
      get("/admin/audit?businessId=" + url_encoded(business_b)).at("audit").as_array().empty());
  // The audit outlives the log: pruning every operation keeps it.
  query_database(server->db_url(), "DELETE FROM sync_operations");
  EXPECT_EQ(get("/admin/audit").at("audit").as_array().size(), 2u);
  EXPECT_TRUE(get("/admin/conflicts").at("conflicts").as_array().empty());
}

TEST_F(AdminConsoleTest, ResolvingNeverTouchesAnotherBusinessesRowWithTheSameId) {
  auto [customer, failed] = make_conflict(token_a, token_a, "A server", "A client");
  // Tenant B has a row with the same id: keys are per tenant.
  ASSERT_TRUE(push_as(token_b, {operation(new_uuid(), "customers", "insert", customer,
                                          R"({"name":"B's own"})", ts(1))})
                  .at(0)
                  .success);
  const std::int64_t b_version = tenant_version(business_b);
  expect_error(resolve(business_b, failed, R"({"resolution":"apply_client"})"), 404, "NOT_FOUND");
  ASSERT_EQ(resolve(business_a, failed, R"({"resolution":"apply_client"})").status, 200);
  EXPECT_EQ(state_of(token_b).at("customers/" + customer).data.at("name"), "B's own");
  EXPECT_EQ(tenant_version(business_b), b_version);
  EXPECT_EQ(state_of(token_a).at("customers/" + customer).data.at("name"), "A client");
  auto b_conflicts =
      get("/admin/conflicts?businessId=" + url_encoded(business_b)).at("conflicts").as_array();
  EXPECT_TRUE(b_conflicts.empty());
}

TEST_F(AdminConsoleTest, AClientWriteThatCannotBeAppliedIsRefusedAndChangesNothing) {
  // An update of a row that never existed, without the name an insert needs: 422.
  const std::string missing = new_uuid();
  const std::string incomplete = new_uuid();
  push({operation(incomplete, "customers", "update", missing, R"({"notes":"only notes"})", ts(2))});
  // The same with a name: applying it inserts the row.
  const std::string complete = new_uuid(), missing_too = new_uuid();
  push({operation(complete, "customers", "update", missing_too, R"({"name":"Revived"})", ts(2))});
  // A conflicting update of a row deleted since: 409.
  auto [deleted_customer, stale] = make_conflict(token_a, token_a, "Soon gone", "Stale");
  ASSERT_TRUE(push({operation(new_uuid(), "customers", "delete", deleted_customer, "", ts(9))})
                  .at(0)
                  .success);
  // A delete refused because sales still point at the customer, and still do: 409.
  const std::string referenced = insert_customer("Referenced");
  insert_sale(referenced);
  const std::string refused_delete = new_uuid();
  ASSERT_EQ(
      push({operation(refused_delete, "customers", "delete", referenced, "", ts(50))}).at(0).error,
      "CONFLICT");

  // An operation that names no row at all (its id is not a UUID): no server row, 422.
  const std::string nameless = new_uuid();
  ASSERT_EQ(push({operation(nameless, "customers", "update", "x'; --", R"({"name":"n"})", ts(2))})
                .at(0)
                .error,
            "VALIDATION_ERROR");

  const std::int64_t before = tenant_version(business_a);
  const std::string operations = count("sync_operations");
  expect_error(resolve(business_a, nameless, R"({"resolution":"apply_client"})"), 422,
               "VALIDATION_ERROR");
  auto res = resolve(business_a, incomplete, R"({"resolution":"apply_client"})");
  expect_error(res, 422, "VALIDATION_ERROR");
  EXPECT_NE(res.body.find("no longer exists"), std::string::npos) << res.body;
  expect_error(resolve(business_a, stale, R"({"resolution":"apply_client"})"), 409, "CONFLICT");
  expect_error(resolve(business_a, refused_delete, R"({"resolution":"apply_client"})"), 409,
               "CONFLICT");
  EXPECT_EQ(tenant_version(business_a), before);
  EXPECT_EQ(count("sync_operations"), operations);
  EXPECT_EQ(count("conflict_resolutions"), "0");
  EXPECT_EQ(get("/admin/conflicts?businessId=" + url_encoded(business_a))
                .at("conflicts")
                .as_array()
                .size(),
            5u);
  auto listed = get("/admin/conflicts?businessId=" + url_encoded(business_a)).at("conflicts");
  for (const auto& c : listed.as_array()) {
    if (c.at("operationId") == stale.c_str()) {
      EXPECT_EQ(c.at("serverRow").at("deleted"), true);
    }
    if (c.at("operationId") == nameless.c_str()) {
      EXPECT_TRUE(c.at("serverRow").is_null());
    }
    if (c.at("operationId") == incomplete.c_str()) {
      EXPECT_TRUE(c.at("serverRow").is_null());
    }
  }

  // Unknown, applied or other tenants' operations are 404.
  expect_error(resolve(business_a, new_uuid(), R"({"resolution":"keep_server"})"), 404,
               "NOT_FOUND");
  auto applied = get("/admin/operations?status=applied&limit=1").at("operations").at(0);
  expect_error(resolve(std::string(applied.at("businessId").as_string()),
                       std::string(applied.at("operationId").as_string()),
                       R"({"resolution":"keep_server"})"),
               404, "NOT_FOUND");

  auto inserted = resolve(business_a, complete, R"({"resolution":"apply_client"})");
  ASSERT_EQ(inserted.status, 200) << inserted.body;
  EXPECT_EQ(state_of(token_a).at("customers/" + missing_too).data.at("name"), "Revived");
}

TEST_F(AdminConsoleTest,
       BusinessIdsWithSlashesQuotesAndPercentSignsAreResolvedThroughTheirEncodedPath) {
  const std::string odd = "org/'50%\" x";
  ASSERT_EQ(admin("POST", "/admin/businesses",
                  json::serialize(json::object{{"id", odd}, {"name", "Odd"}}))
                .status,
            201);
  const std::string token = server->create_token(odd, "seller");
  auto [customer, failed] = make_conflict(token, token, "S", "C");
  auto conflicts =
      get("/admin/conflicts?businessId=" + url_encoded(odd)).at("conflicts").as_array();
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].at("businessId"), odd.c_str());
  expect_error(admin("POST", "/admin/conflicts/org/'50%25%22%20x/" + failed + "/resolve",
                     R"({"resolution":"keep_server"})"),
               404, "NOT_FOUND");
  expect_error(admin("POST", "/admin/conflicts/org%ZZ/" + failed + "/resolve",
                     R"({"resolution":"keep_server"})"),
               400, "BAD_REQUEST");
  auto res = resolve(odd, failed, R"({"resolution":"apply_client"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(parse_json_body(res.body).at("businessId"), odd.c_str());
  EXPECT_EQ(state_of(token).at("customers/" + customer).data.at("name"), "C");
}

TEST_F(AdminConsoleTest, BusinessesAreListedInIdOrderWithTheirDaysActivity) {
  push({operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"x"})", ts(1)),
        operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"x"})", ts(1)),
        operation(new_uuid(), "customers", "update", new_uuid(), R"({"name":"x"})", ts(1)),
        operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"y"})", ts(1))});
  server->create_token(business_a, "second");
  const std::string revoked = server->create_token(business_a, "third");
  server->revoke_token(revoked);
  ASSERT_EQ(admin("POST", "/admin/businesses", R"({"id":"zz-idle","name":"Idle"})").status, 201);

  auto all = all_pages("/admin/businesses", "businesses", 1);
  ASSERT_EQ(all.size(), 3u);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(std::string_view(all[i - 1].at("id").as_string()),
              std::string_view(all[i].at("id").as_string()));
  auto find = [&](const std::string& id) {
    for (const auto& b : all)
      if (b.at("id") == id.c_str()) return b;
    ADD_FAILURE() << id << " is not listed";
    return json::object{};
  };
  auto a = find(business_a);
  EXPECT_EQ(a.at("name"), "Tienda A");
  EXPECT_EQ(a.at("operations24h").as_int64(), 4);
  EXPECT_EQ(a.at("failed24h").as_int64(), 2);
  EXPECT_DOUBLE_EQ(a.at("failureRate24h").as_double(), 0.5);
  EXPECT_EQ(a.at("activeTokens").as_int64(), 2);
  EXPECT_TRUE(a.at("lastPushAt").is_string());
  EXPECT_FALSE(a.at("createdAt").as_string().empty());
  auto idle = find("zz-idle");
  EXPECT_TRUE(idle.at("lastPushAt").is_null());
  EXPECT_EQ(idle.at("operations24h").as_int64(), 0);
  EXPECT_EQ(idle.at("failureRate24h").as_double(), 0.0);
  EXPECT_EQ(idle.at("activeTokens").as_int64(), 0);
  EXPECT_EQ(get("/admin/businesses").at("businesses").as_array().size(), 3u);
}

}  // namespace
}  // namespace avsync::testing

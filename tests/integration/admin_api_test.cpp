// The admin API (docs/protocol.md §7): businesses and device tokens over HTTP,
// opened only by the operator's credential (--admin-token-file).

#include <fstream>

#include "sync_fixture.hpp"
#include "testing/jwt_signer.hpp"
#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kCredential[] = "adm_3q9VwXk2Lr8sT1uYp0ZbNc4Md6Fh7Jg5Ke2Qw8Rt";

class AdminApiTest : public SyncServerTest {
 protected:
  AdminApiTest() {
    std::ofstream(dir_.file("admin-token")) << kCredential << "\n";  // a trailing newline is trimmed
    std::ofstream(dir_.file("jwt-secret")) << kJwtSecret;
  }
  // JWTs are accepted too, so a JWT that works on /sync/* can be shown not to open /admin/*.
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--admin-token-file", dir_.file("admin-token"), "--jwt-secret-file", dir_.file("jwt-secret")});
    return args;
  }
  static constexpr char kJwtSecret[] = "the-app-backend-hs256-secret-of-32-bytes-or-more";

  HttpResult admin(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& credential = kCredential) {
    Headers headers{{"Authorization", "Bearer " + credential}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return http->request(method, target, body, headers);
  }
  std::string count(const std::string& table) {
    return *query_database(server->db_url(), "SELECT count(*) FROM " + table)[0][0];
  }
  void expect_error(const HttpResult& res, int status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(parse_json_body(res.body).at("error").at("code").as_string(), code) << res.body;
  }

  TestDir dir_;
};

TEST_F(AdminApiTest, ABusinessAndADeviceTokenMadeOverHttpSyncAndTheTokenIsRevokedByItsId) {
  auto business = admin("POST", "/admin/businesses", R"({"id":"org_8fJk2LmQ","name":"Tienda Norte"})");
  ASSERT_EQ(business.status, 201) << business.body;
  EXPECT_EQ(parse_json_body(business.body).at("id"), "org_8fJk2LmQ");

  auto issued = admin("POST", "/admin/tokens", R"({"businessId":"org_8fJk2LmQ","userId":"ana","ttlHours":2})");
  ASSERT_EQ(issued.status, 201) << issued.body;
  auto token = parse_json_body(issued.body);
  const std::string secret(token.at("token").as_string()), id(token.at("id").as_string());
  EXPECT_TRUE(secret.starts_with("avs_"));
  EXPECT_EQ(token.at("businessId"), "org_8fJk2LmQ");

  std::string customer = new_uuid();
  auto results = push_as(secret, {operation(new_uuid(), "customers", "insert", customer, R"({"name":"Eva"})", ts(1))});
  ASSERT_TRUE(results.at(0).success) << results.at(0).message;
  EXPECT_EQ(pull_all(secret).size(), 1u);
  EXPECT_EQ(pull_all(token_a).size(), 0u);  // the new business is a tenant of its own

  auto listed = admin("GET", "/admin/tokens?businessId=org_8fJk2LmQ");
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto tokens = parse_json_body(listed.body).at("tokens").as_array();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].at("id").as_string(), id);
  EXPECT_EQ(tokens[0].at("userId"), "ana");
  EXPECT_EQ(tokens[0].at("state"), "active");
  EXPECT_TRUE(tokens[0].at("revokedAt").is_null());
  EXPECT_EQ(listed.body.find(secret), std::string::npos) << "a listing never shows the token";
  EXPECT_EQ(listed.body.find("avs_"), std::string::npos);

  auto revoked = admin("DELETE", "/admin/tokens/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(http->get_changes(secret).status, 401);
  auto after = parse_json_body(admin("GET", "/admin/tokens?businessId=org_8fJk2LmQ").body).at("tokens").as_array();
  EXPECT_EQ(after.at(0).at("state"), "revoked");
  const auto revoked_at = after.at(0).at("revokedAt");
  EXPECT_TRUE(revoked_at.is_string());
  // Revoking twice is fine and keeps the first time.
  EXPECT_EQ(admin("DELETE", "/admin/tokens/" + id).status, 200);
  EXPECT_EQ(parse_json_body(admin("GET", "/admin/tokens?businessId=org_8fJk2LmQ").body).at("tokens").at(0).at("revokedAt"),
            revoked_at);
  EXPECT_EQ(http->get_changes(token_a).status, 200);  // other tokens unaffected
}

TEST_F(AdminApiTest, ABusinessWithoutAnIdGetsAUuidAndIdsAreAnyPrintableAscii) {
  auto made = admin("POST", "/admin/businesses", R"({"name":"Sin id"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(std::string(parse_json_body(made.body).at("id").as_string()).size(), 36u);

  // Spaces and slashes are fine in an id; the listing takes it %-encoded.
  ASSERT_EQ(admin("POST", "/admin/businesses", R"({"id":"org/norte 7","name":"N"})").status, 201);
  ASSERT_EQ(admin("POST", "/admin/tokens", R"({"businessId":"org/norte 7","userId":"u"})").status, 201);
  auto listed = admin("GET", "/admin/tokens?businessId=org%2Fnorte%207");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(parse_json_body(listed.body).at("tokens").as_array().size(), 1u);
}

TEST_F(AdminApiTest, BadRequestsAreRefusedWithAClearErrorAndChangeNothing) {
  ASSERT_EQ(admin("POST", "/admin/businesses", R"({"id":"org_1","name":"Uno"})").status, 201);
  const std::string businesses = count("businesses"), tokens = count("auth_tokens");
  expect_error(admin("POST", "/admin/businesses", R"({"id":"org_1","name":"Otra"})"), 409, "CONFLICT");
  expect_error(admin("POST", "/admin/businesses", R"({"id":"org_2"})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":""})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":"x","id":""})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":"x","id":")" + std::string(129, 'a') + "\"}"), 400,
               "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":"x","id":"tab\there"})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":"x","id":"ñandú"})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"({"name":"x","owner":"y"})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", R"(["name"])"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/businesses", "{not json"), 400, "BAD_REQUEST");
  expect_error(http->request("POST", "/admin/businesses", R"({"name":"x"})",
                             {{"Authorization", std::string("Bearer ") + kCredential}, {"Content-Type", "text/plain"}}),
               415, "UNSUPPORTED_MEDIA_TYPE");

  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_missing","userId":"u"})"), 404, "NOT_FOUND");
  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_1"})"), 400, "BAD_REQUEST");
  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_1","userId":"u","ttlHours":0})"), 400,
               "BAD_REQUEST");
  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_1","userId":"u","ttlHours":"2"})"), 400,
               "BAD_REQUEST");
  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_1","userId":"u","ttlHours":1.5})"), 400,
               "BAD_REQUEST");
  expect_error(admin("POST", "/admin/tokens", R"({"businessId":"org_1","userId":"u","scope":"all"})"), 400,
               "BAD_REQUEST");

  expect_error(admin("GET", "/admin/tokens"), 400, "BAD_REQUEST");
  expect_error(admin("GET", "/admin/tokens?businessId=org_missing"), 404, "NOT_FOUND");
  expect_error(admin("GET", "/admin/tokens?businessId=%zz"), 400, "BAD_REQUEST");
  expect_error(admin("DELETE", "/admin/tokens/0123456789abcdef01234567"), 404, "NOT_FOUND");
  expect_error(admin("DELETE", "/admin/tokens/not-an-id"), 404, "NOT_FOUND");
  expect_error(admin("DELETE", "/admin/tokens/" + std::string(64, 'a')), 404, "NOT_FOUND");
  expect_error(admin("PUT", "/admin/tokens"), 405, "METHOD_NOT_ALLOWED");

  EXPECT_EQ(count("businesses"), businesses);
  EXPECT_EQ(count("auth_tokens"), tokens);
}

TEST_F(AdminApiTest, OnlyTheAdminCredentialOpensItNeverATenantTokenOrAJwt) {
  const std::string businesses = count("businesses"), tokens = count("auth_tokens");
  const std::string credential = kCredential;
  // A valid JWT of this server (it opens /sync/*), even one whose claims say "admin".
  const std::int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count() + 600;
  const std::string jwt = JwtSigner::hs256(kJwtSecret).sign(
      {{"sub", "admin"}, {"businessId", business_a}, {"role", "admin"}, {"exp", exp}});
  ASSERT_EQ(http->get_changes(jwt).status, 200);
  const std::vector<std::string> refused{"",
                                         "Bearer " + token_a,
                                         "Bearer " + jwt,
                                         "Bearer " + credential + "x",
                                         "Bearer " + credential.substr(0, credential.size() - 1),
                                         "Bearer " + credential.substr(1),
                                         "Basic " + credential,
                                         credential,
                                         "Bearer " + credential + " " + credential};
  for (const std::string& authorization : refused) {
    SCOPED_TRACE("Authorization: " + authorization);
    Headers headers{{"Content-Type", "application/json"}};
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    expect_error(http->request("POST", "/admin/businesses", R"({"name":"intrusa"})", headers), 401, "UNAUTHENTICATED");
    expect_error(http->request("POST", "/admin/tokens", R"({"businessId":")" + business_a + R"(","userId":"x"})", headers),
                 401, "UNAUTHENTICATED");
    expect_error(http->request("GET", "/admin/tokens?businessId=" + business_a, "", headers), 401, "UNAUTHENTICATED");
    expect_error(http->request("DELETE", "/admin/tokens/0123456789abcdef01234567", "", headers), 401,
                 "UNAUTHENTICATED");
  }
  EXPECT_EQ(count("businesses"), businesses);
  EXPECT_EQ(count("auth_tokens"), tokens);
  // The credential is not a tenant token either.
  EXPECT_EQ(http->get_changes(credential).status, 401);
  EXPECT_EQ(admin("GET", "/admin/tokens?businessId=" + business_a).status, 200);
}

// Wrong credentials spend the address's budget of failed authentications.
class AdminFailureLimitTest : public AdminApiTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = AdminApiTest::serve_args();
    args.insert(args.end(), {"--auth-failure-limit", "1", "--auth-failure-burst", "3"});
    return args;
  }
};

TEST_F(AdminFailureLimitTest, GuessingTheCredentialIsRateLimited) {
  const std::string wrong = std::string(kCredential).substr(1) + "x";
  for (int i = 0; i < 3; ++i) expect_error(admin("GET", "/admin/tokens?businessId=x", "", wrong), 401, "UNAUTHENTICATED");
  expect_error(admin("GET", "/admin/tokens?businessId=x", "", wrong), 429, "RATE_LIMITED");
}

TEST_F(SyncServerTest, WithoutAnAdminCredentialTheAdminApiDoesNotExist) {
  const Headers headers{{"Authorization", "Bearer " + token_a}, {"Content-Type", "application/json"}};
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/admin/businesses"}, {"POST", "/admin/tokens"}, {"GET", "/admin/tokens?businessId=x"},
           {"DELETE", "/admin/tokens/0123456789abcdef01234567"}}) {
    auto res = http->request(method, target, method == "POST" ? R"({"name":"x"})" : "", headers);
    EXPECT_EQ(res.status, 404) << method << " " << target << ": " << res.body;
  }
}

}  // namespace
}  // namespace avsync::testing

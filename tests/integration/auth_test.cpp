// docs/protocol.md §2: every /sync/* request needs exactly one valid bearer token.

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class AuthTest : public SyncServerTest {
 protected:
  void expect_unauthenticated(const HttpResult& res) {
    EXPECT_EQ(res.status, 401) << res.body;
    auto v = parse_json_body(res.body);
    EXPECT_EQ(v.at("error").at("code"), "UNAUTHENTICATED");
    EXPECT_TRUE(v.at("error").at("message").is_string());
  }
  HttpResult batch_with(const std::string& authorization) {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return http->request("POST", "/sync/batch", batch_body({}), headers);
  }
  HttpResult changes_with(const std::string& authorization) {
    return http->request("GET", "/sync/changes", "", {{"Authorization", authorization}});
  }
};

TEST_F(AuthTest, MissingOrMalformedAuthorizationIs401OnBothEndpoints) {
  for (const std::string& header : std::vector<std::string>{
           std::string(""), "Basic " + token_a, token_a, "Bearer", "Bearer ", "Bearer  " + token_a,
        "Bearer " + token_a + " " + token_a, "Bearer " + token_a + "\t" + token_a, "Token " + token_a}) {
    SCOPED_TRACE("Authorization: " + header);
    expect_unauthenticated(batch_with(header));
    expect_unauthenticated(changes_with(header));
  }
}

TEST_F(AuthTest, UnknownTokenIs401) {
  expect_unauthenticated(batch_with("Bearer avs_not-a-real-token"));
  expect_unauthenticated(changes_with("Bearer " + token_a + "x"));
}

TEST_F(AuthTest, ValidTokenIsAccepted) {
  EXPECT_EQ(batch_with("Bearer " + token_a).status, 200);
  EXPECT_EQ(changes_with("Bearer " + token_a).status, 200);
  EXPECT_EQ(changes_with("bearer " + token_a).status, 200);  // the scheme is case-insensitive
}

TEST_F(AuthTest, RevocationTakesEffectOnTheVeryNextRequest) {
  EXPECT_EQ(changes_with("Bearer " + token_a).status, 200);
  server->revoke_token(token_a);
  expect_unauthenticated(changes_with("Bearer " + token_a));
  expect_unauthenticated(batch_with("Bearer " + token_a));
  EXPECT_EQ(changes_with("Bearer " + token_b).status, 200);  // other tokens unaffected
}

TEST_F(AuthTest, ExpiredTokenIs401) {
  std::string token = server->create_token(business_a, "short-lived", "1");
  EXPECT_EQ(changes_with("Bearer " + token).status, 200);
  // Age the token past its expiry, as an hour passing would.
  query_database(server->db_url(), "UPDATE auth_tokens SET expires_at_ms = 1000 WHERE user_id = 'short-lived'");
  ASSERT_EQ(query_database(server->db_url(), "SELECT count(*) FROM auth_tokens WHERE expires_at_ms = 1000")[0][0], "1");
  expect_unauthenticated(changes_with("Bearer " + token));
}

TEST_F(AuthTest, TokensAreStoredOnlyAsHashes) {
  auto rows = query_database(server->db_url(),
                             "SELECT count(*) FROM auth_tokens WHERE token_hash = $1 OR token_hash LIKE $2",
                             {token_a, "%" + token_a.substr(4, 20) + "%"});
  EXPECT_EQ(rows.at(0).at(0), "0");
}

TEST_F(AuthTest, AdminRejectsBadTokenRequests) {
  EXPECT_EQ(run_server_command({"admin", "create-token", "--business", new_uuid(), "--user", "x",
                                "--db", server->db_url()}).exit_code, 1);
  EXPECT_EQ(run_server_command({"admin", "create-token", "--business", business_a, "--user", "x",
                                "--ttl-hours", "0", "--db", server->db_url()}).exit_code, 2);
  EXPECT_EQ(run_server_command({"admin", "revoke-token", "--token", "avs_nope", "--db",
                                server->db_url()}).exit_code, 1);
}

}  // namespace
}  // namespace avsync::testing

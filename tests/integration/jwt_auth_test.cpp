// JWT bearer tokens (docs/auth.md): the app's own auth signs them, the server verifies them
// against a JWKS (a file or a URL) or an HS256 secret, and the business claim is the
// tenant. Every refusal is a 401 that says why and changes nothing.

#include <fstream>
#include <sstream>
#include <thread>

#include "document_server.hpp"
#include "testing/jwt_signer.hpp"
#include "sync_fixture.hpp"
#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

using boost::json::object;

constexpr char kIssuer[] = "https://app.example.com";
constexpr char kAudience[] = "avsync";
constexpr char kSecret[] = "a-shared-hs256-secret-of-at-least-32-bytes";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path + ".tmp");
  out << text;
  out.close();
  std::filesystem::rename(path + ".tmp", path);  // a reader never sees half a file
}

// A server configured as docs/auth.md shows for Better Auth, with the business claim named
// as that plugin's definePayload is often written (activeOrganizationId).
class JwtAuthTest : public SyncServerTest {
 protected:
  JwtAuthTest() {
    write_file(jwks_path(), jwks_json({key_.jwk(), rsa_.jwk()}));
    write_file(dir_.file("secret"), std::string(kSecret) + "\n");
  }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--jwks-file", jwks_path(), "--jwt-secret-file", dir_.file("secret"), "--jwt-issuer",
                             kIssuer, "--jwt-audience", kAudience, "--jwt-business-claim", "activeOrganizationId"});
    return args;
  }
  std::string jwks_path() const { return dir_.file("jwks.json"); }

  // A payload shaped like Better Auth's JWT plugin output with the organization added.
  static object better_auth_payload(const std::string& organization, const std::string& user = "usr_5Hq2ZkP9") {
    const std::int64_t now = now_seconds();
    return {{"iat", now},
            {"iss", kIssuer},
            {"aud", kAudience},
            {"exp", now + 15 * 60},
            {"sub", user},
            {"activeOrganizationId", organization},
            {"email", "ana@example.com"},
            {"name", "Ana"}};
  }
  std::string token_for(const std::string& organization) const { return key_.sign(better_auth_payload(organization)); }

  std::string count(const std::string& table) {
    return *query_database(server->db_url(), "SELECT count(*) FROM " + table)[0][0];
  }
  HttpResult push_raw(const std::string& token) {
    return http->post_batch(token, batch_body({operation(new_uuid(), "customers", "insert", new_uuid(),
                                                         R"({"name":"Intrusa"})", ts(1))}));
  }

  TestDir dir_;
  JwtSigner key_ = JwtSigner::ed25519("c5c7995d-0037-4553-8aee-b5b620b89b23");
  JwtSigner rsa_ = JwtSigner::rs256("rsa-1");
};

TEST_F(JwtAuthTest, ABetterAuthTokenIsAcceptedAndItsOrganizationIsTheTenant) {
  const std::string organization = "org_8fJk2LmQ";  // Better Auth's ids are not UUIDs
  const std::string token = token_for(organization);
  ASSERT_EQ(count("businesses"), "2");

  const std::string customer = new_uuid();
  auto results = push_as(token, {operation(new_uuid(), "customers", "insert", customer,
                                           R"({"name":"Eva","business_id":")" + business_a + R"("})", ts(1))});
  ASSERT_TRUE(results.at(0).success) << results.at(0).message;
  // The business was created on first use, and the write is in it and nowhere else.
  EXPECT_EQ(count("businesses"), "3");
  EXPECT_EQ(tenant_version(organization), 1);
  auto rows = pull_all(token);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].data.at("id").as_string(), customer);
  EXPECT_TRUE(pull_all(token_a).empty());
  EXPECT_EQ(tenant_version(business_a), 0);

  // A second token of the same organization, another user, sees the same tenant; another
  // organization sees nothing.
  EXPECT_EQ(pull_all(key_.sign(better_auth_payload(organization, "usr_other"))).size(), 1u);
  EXPECT_TRUE(pull_all(token_for("org_Other")).empty());
  // Any printable ASCII names a business: spaces, slashes, quotes.
  const std::string quoted = R"(acme / "norte" 7)";
  EXPECT_TRUE(pull_all(token_for(quoted)).empty());
  EXPECT_EQ(count("businesses"), "5");
  // The request log stays one JSON object per line, whatever a claim holds.
  int logged = 0;
  std::istringstream log(server->log());
  for (std::string line; std::getline(log, line);) {
    if (!line.starts_with("{\"method\"")) continue;
    auto entry = parse_json_body(line);
    if (entry.is_object() && entry.at("business").as_string() == quoted) ++logged;
  }
  EXPECT_GE(logged, 1) << server->log();
}

TEST_F(JwtAuthTest, AJwtNamingAnOpaqueTokensBusinessSharesItsData) {
  insert_customer("De A");
  EXPECT_EQ(pull_all(token_for(business_a)).size(), 1u);
  EXPECT_TRUE(pull_all(token_for(business_b)).empty());
}

TEST_F(JwtAuthTest, Hs256TokensAreVerifiedWithTheSecretFile) {
  auto hs = JwtSigner::hs256(kSecret);
  auto results = push_as(hs.sign(better_auth_payload("org_hs")),
                         {operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"H"})", ts(1))});
  ASSERT_TRUE(results.at(0).success) << results.at(0).message;
  auto wrong = JwtSigner::hs256(std::string(kSecret) + "x");
  EXPECT_EQ(http->get_changes(wrong.sign(better_auth_payload("org_hs"))).status, 401);
}

TEST_F(JwtAuthTest, EveryRejectionIs401SaysWhyAndChangesNothing) {
  ASSERT_EQ(http->get_changes(token_for("org_seen")).status, 200);  // one business made on purpose
  const std::string businesses = count("businesses"), operations = count("sync_operations");
  const std::int64_t now = now_seconds();
  // The good payload with one claim changed (null: removed).
  auto with = [&](const std::string& name, boost::json::value value) {
    object payload = better_auth_payload("org_attacker");
    if (value.is_null()) payload.erase(name);
    else payload[name] = std::move(value);
    return payload;
  };
  object business_null = better_auth_payload("org_attacker");
  business_null["activeOrganizationId"] = nullptr;  // what a session without an active organization signs
  object business_under_another_name = with("activeOrganizationId", nullptr);
  business_under_another_name["businessId"] = "org_x";
  const std::string good = token_for("org_attacker");
  std::string bad_signature = good;
  bad_signature[bad_signature.size() - 5] = bad_signature[bad_signature.size() - 5] == 'A' ? 'B' : 'A';
  const std::string header_b64 = good.substr(0, good.find('.'));
  auto unsigned_token = [&](const std::string& alg) {
    return encode_base64url(R"({"alg":")" + alg + R"(","typ":"JWT"})") + "." +
           encode_base64url(boost::json::serialize(better_auth_payload("org_attacker"))) + ".";
  };
  // The classic confusion: HS256 "signed" with the RSA key's public PEM, naming that key.
  auto confused = JwtSigner::hs256(rsa_.public_pem(), rsa_.kid()).sign(better_auth_payload("org_attacker"));
  auto stranger = JwtSigner::ed25519("kid-nobody-published");

  struct Case {
    std::string what, token, says;
  };
  const std::vector<Case> cases{
      {"alg none", unsigned_token("none"), "none"},
      {"alg NONE", unsigned_token("NONE"), "none"},
      {"an RSA public key as an HS256 secret", confused, "does not match"},
      {"an unsupported alg", key_.sign({{"alg", "PS256"}, {"kid", key_.kid()}}, better_auth_payload("org_attacker")),
       "unsupported alg"},
      {"EdDSA naming the RSA key", key_.sign({{"alg", "EdDSA"}, {"kid", rsa_.kid()}}, better_auth_payload("org_attacker")),
       "does not match"},
      {"a bad signature", bad_signature, "signature"},
      {"a signature by another key with a known kid",
       JwtSigner::ed25519(key_.kid()).sign(better_auth_payload("org_attacker")), "signature"},
      {"no exp", key_.sign(with("exp", nullptr)), "exp"},
      {"exp past the leeway", key_.sign(with("exp", now - 120)), "expired"},
      {"exp as a string", key_.sign(with("exp", boost::json::string(std::to_string(now + 600)))), "exp"},
      {"nbf in the future", key_.sign(with("nbf", now + 600)), "not valid before"},
      {"another issuer", key_.sign(with("iss", "https://evil.example.com")), "iss"},
      {"no issuer", key_.sign(with("iss", nullptr)), "iss"},
      {"another audience", key_.sign(with("aud", "someone-else")), "aud"},
      {"an unknown kid", stranger.sign(better_auth_payload("org_attacker")), "unknown kid"},
      {"no business claim", key_.sign(with("activeOrganizationId", nullptr)), "activeOrganizationId"},
{"a null business claim", key_.sign(business_null), "not a string"},
      {"the default claim name instead of the configured one", key_.sign(business_under_another_name),
       "activeOrganizationId"},
      {"a numeric business claim", key_.sign(with("activeOrganizationId", 42)), "not a string"},
      {"an empty business claim", key_.sign(with("activeOrganizationId", "")), "printable ASCII"},
      {"a business claim of 129 characters", key_.sign(with("activeOrganizationId", boost::json::string(129, 'o'))),
       "printable ASCII"},
      {"a business claim with a newline", key_.sign(with("activeOrganizationId", "org\nx")), "printable ASCII"},
      {"a business claim beyond ASCII", key_.sign(with("activeOrganizationId", "org_ñ")), "printable ASCII"},
      {"no user", key_.sign(with("sub", nullptr)), "sub"},
      {"a header that is not base64url", "e~J." + good.substr(good.find('.') + 1), "base64url"},
      {"a payload that is not JSON", key_.sign_raw(R"({"alg":"EdDSA","kid":")" + key_.kid() + R"("})", "{\"sub\":"),
       "JSON"},
      {"a payload that is an array", key_.sign_raw(R"({"alg":"EdDSA","kid":")" + key_.kid() + R"("})", "[1,2]"),
       "object"},
      {"four parts", good + ".x", "three parts"},
      {"a token over 8 KiB", key_.sign(with("padding", boost::json::string(9000, 'p'))), "8 KiB"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    for (const HttpResult& res : {push_raw(c.token), http->get_changes(c.token)}) {
      EXPECT_EQ(res.status, 401) << res.body;
      auto error = parse_json_body(res.body).at("error");
      EXPECT_EQ(error.at("code"), "UNAUTHENTICATED");
      EXPECT_NE(std::string(error.at("message").as_string()).find(c.says), std::string::npos)
          << "the message should say '" << c.says << "': " << error.at("message");
    }
  }
  EXPECT_EQ(count("businesses"), businesses);
  EXPECT_EQ(count("sync_operations"), operations);
  EXPECT_EQ(count("customers"), "0");
  EXPECT_EQ(http->get_changes(good).status, 200);  // the good token was never the problem
}

TEST_F(JwtAuthTest, ANewKeyInTheJwksFileIsPickedUpWithoutARestart) {
  ASSERT_EQ(http->get_changes(token_for("org_r")).status, 200);
  auto rotated = JwtSigner::es256("key-2026-12");
  // The app rotates: the new key is published, the old one withdrawn.
  write_file(jwks_path(), jwks_json({rotated.jwk(), rsa_.jwk()}));
  auto results = push_as(rotated.sign(better_auth_payload("org_r")),
                         {operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"R"})", ts(1))});
  ASSERT_TRUE(results.at(0).success) << results.at(0).message;
  // The refresh that found the new key dropped the withdrawn one.
  auto old = http->get_changes(token_for("org_r"));
  EXPECT_EQ(old.status, 401) << old.body;
  EXPECT_NE(old.body.find("unknown kid"), std::string::npos) << old.body;
}

// Keys from the app's JWKS endpoint, served here by a stand-in that can go down.
class JwksUrlTest : public JwtAuthTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--jwks-url", endpoint_.url(), "--jwt-issuer", kIssuer, "--jwt-audience", kAudience,
                             "--jwt-business-claim", "activeOrganizationId"});
    return args;
  }
  // The server fetches the URL in the background at start; until then a JWT is a 503.
  void SetUp() override {
    JwtAuthTest::SetUp();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (http->get_changes(token_for("org_warmup")).status == 503 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  DocumentServer endpoint_{jwks_json({key_.jwk()})};
};

TEST_F(JwksUrlTest, KeysComeFromTheUrlAndRotationNeedsNoRestart) {
  const std::string token = token_for("org_url");
  ASSERT_EQ(push_as(token, {operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"U"})", ts(1))})
                .at(0)
                .success,
            true);
  auto rotated = JwtSigner::ed25519("kid-rotated");
  endpoint_.set_document(jwks_json({key_.jwk(), rotated.jwk()}));
  // The first request naming the new kid starts a refresh and waits up to 1 s for it. On a
  // loaded machine the fetch can take longer (a clean-clone run once saw a 401 here); the
  // refresh still lands, and a later request finds the key without any restart.
  const std::string rotated_token = rotated.sign(better_auth_payload("org_url"));
  int status = http->get_changes(rotated_token).status;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       status != 200 && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = http->get_changes(rotated_token).status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(http->get_changes(token).status, 200);
}

TEST_F(JwksUrlTest, WhenTheUrlIsDownTheCachedKeysKeepWorking) {
  const std::string token = token_for("org_down");
  ASSERT_EQ(http->get_changes(token).status, 200);
  endpoint_.take_down();
  for (int i = 0; i < 20; ++i) {
    auto res = push_as(token, {operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"D"})", ts(1))});
    ASSERT_TRUE(res.at(0).success) << res.at(0).message;
  }
  // A token naming a key nobody published is refused, and the cached key still works after.
  auto stranger = JwtSigner::ed25519("kid-while-down");
  auto refused = http->get_changes(stranger.sign(better_auth_payload("org_down")));
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(http->get_changes(token).status, 200);
  EXPECT_EQ(pull_all(token).size(), 20u);
}

// The app's key server is down when avsync starts: JWTs are "retry" (503), never "sign in
// again" (401), and device tokens work.
class JwksUrlDownAtStartTest : public JwksUrlTest {
 protected:
  JwksUrlDownAtStartTest() { endpoint_.take_down(); }
  void SetUp() override { JwtAuthTest::SetUp(); }
};

TEST_F(JwksUrlDownAtStartTest, JwtsAreToldToRetryNotRefused) {
  for (int i = 0; i < 3; ++i) {
    auto res = http->get_changes(token_for("org_early"));
    EXPECT_EQ(res.status, 503) << res.body;
    EXPECT_EQ(res.headers["retry-after"], "1");
    EXPECT_EQ(parse_json_body(res.body).at("error").at("code").as_string(), "UNAVAILABLE");
  }
  EXPECT_EQ(http->get_changes(token_a).status, 200);
  EXPECT_EQ(count("businesses"), "2") << "nothing was created for a token not yet verified";
}

// Refused JWTs count against their address's failed authentications, like unknown tokens.
class JwtFailureLimitTest : public JwtAuthTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = JwtAuthTest::serve_args();
    args.insert(args.end(), {"--auth-failure-limit", "1", "--auth-failure-burst", "3"});
    return args;
  }
};

TEST_F(JwtFailureLimitTest, RefusedJwtsSpendTheAddresssFailureBudget) {
  object expired = better_auth_payload("org_guess");
  expired["exp"] = now_seconds() - 3600;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http->get_changes(key_.sign(expired)).status, 401) << i;
  auto limited = http->get_changes(JwtSigner::ed25519(key_.kid()).sign(better_auth_payload("org_guess")));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_TRUE(limited.headers.count("retry-after"));
}

// The randomized tenant attack of tenant_attack_test.cpp, with both tenants signed in by JWT.
TEST_F(JwtAuthTest, JwtTenantsAreIsolatedUnderRandomAttack) {
  business_a = "org_A-" + new_uuid().substr(0, 8);
  business_b = "org_B-" + new_uuid().substr(0, 8);
  token_a = token_for(business_a);
  token_b = token_for(business_b);
  ASSERT_EQ(http->get_changes(token_a).status, 200);  // both businesses exist from here on
  ASSERT_EQ(http->get_changes(token_b).status, 200);
  run_tenant_attack();
}

}  // namespace
}  // namespace avsync::testing

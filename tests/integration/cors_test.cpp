// CORS (docs/protocol.md §8): a browser app on a listed origin may call /sync/*;
// any other origin gets no CORS headers, so the browser refuses to show it the answer.

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kApp[] = "https://app.example.com";
constexpr char kDev[] = "http://localhost:5173";

class CorsTest : public SyncServerTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--cors-origin", kApp, "--cors-origin", kDev, "--body-limit", "4096"});
    return args;
  }
  HttpResult preflight(const std::string& path, const std::string& origin, const std::string& method) {
    return http->request("OPTIONS", path, "",
                         {{"Origin", origin},
                          {"Access-Control-Request-Method", method},
                          {"Access-Control-Request-Headers", "authorization, content-type"}});
  }
  static bool has(const HttpResult& res, const std::string& header) { return res.headers.count(header) > 0; }
};

TEST_F(CorsTest, APreflightFromAListedOriginIsAllowedForTheRoutesMethod) {
  for (const auto& [path, method] : std::vector<std::pair<std::string, std::string>>{
           {"/sync/batch", "POST"}, {"/sync/changes", "GET"}}) {
    for (const char* origin : {kApp, kDev}) {
      SCOPED_TRACE(path + " from " + origin);
      auto res = preflight(path, origin, method);
      EXPECT_EQ(res.status, 204);
      EXPECT_EQ(res.body, "");
      EXPECT_EQ(res.headers["access-control-allow-origin"], origin);
      EXPECT_EQ(res.headers["access-control-allow-methods"], method);
      EXPECT_NE(res.headers["access-control-allow-headers"].find("Authorization"), std::string::npos);
      EXPECT_NE(res.headers["access-control-allow-headers"].find("Content-Type"), std::string::npos);
      EXPECT_EQ(res.headers["vary"], "Origin");
      EXPECT_FALSE(has(res, "access-control-allow-credentials")) << "tokens travel in a header, never cookies";
    }
  }
}

TEST_F(CorsTest, AnyOtherOriginOrMethodGetsNoCorsHeaders) {
  const std::vector<std::string> strangers{"https://evil.example.com", "https://app.example.com.evil.com",
                                           "https://app.example.com/", "http://app.example.com",
                                           "https://app.example.com:8443", "null", "*", ""};
  for (const std::string& origin : strangers) {
    SCOPED_TRACE("Origin: " + origin);
    auto res = preflight("/sync/batch", origin, "POST");
    EXPECT_EQ(res.status, 204);
    EXPECT_FALSE(has(res, "access-control-allow-origin"));
    auto changes = http->request("GET", "/sync/changes", "", {{"Authorization", "Bearer " + token_a}, {"Origin", origin}});
    EXPECT_EQ(changes.status, 200);
    EXPECT_FALSE(has(changes, "access-control-allow-origin"));
  }
  EXPECT_FALSE(has(preflight("/sync/batch", kApp, "DELETE"), "access-control-allow-origin"));
  EXPECT_FALSE(has(preflight("/sync/changes", kApp, "POST"), "access-control-allow-origin"));
}

TEST_F(CorsTest, AnswersToAListedOriginCarryTheOriginErrorsAndRetryAfterIncluded) {
  auto ok = http->request("GET", "/sync/changes", "", {{"Authorization", "Bearer " + token_a}, {"Origin", kApp}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.headers["access-control-allow-origin"], kApp);
  EXPECT_EQ(ok.headers["vary"], "Origin");
  EXPECT_NE(ok.headers["access-control-expose-headers"].find("Retry-After"), std::string::npos);

  auto pushed = http->request("POST", "/sync/batch", batch_body({}),
                              {{"Authorization", "Bearer " + token_a}, {"Content-Type", "application/json"}, {"Origin", kDev}});
  EXPECT_EQ(pushed.status, 200);
  EXPECT_EQ(pushed.headers["access-control-allow-origin"], kDev);

  // The app must be able to read a 401 to ask its user to sign in again.
  auto refused = http->request("GET", "/sync/changes", "", {{"Authorization", "Bearer avs_nope"}, {"Origin", kApp}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers["access-control-allow-origin"], kApp);

  // The HTTP layer's own refusals too: a browser app must see a 413 to split its batch.
  auto too_large = http->request("POST", "/sync/batch", std::string(5000, ' '),
                                 {{"Authorization", "Bearer " + token_a}, {"Content-Type", "application/json"},
                                  {"Origin", kApp}});
  EXPECT_EQ(too_large.status, 413) << too_large.body;
  EXPECT_EQ(too_large.headers["access-control-allow-origin"], kApp);

  // Only /sync/* is offered to browsers.
  auto health = http->request("GET", "/healthz", "", {{"Origin", kApp}});
  EXPECT_EQ(health.status, 200);
  EXPECT_FALSE(has(health, "access-control-allow-origin"));
  EXPECT_EQ(http->request("OPTIONS", "/healthz", "", {{"Origin", kApp}}).status, 405);
}

TEST_F(SyncServerTest, WithoutCorsOriginsAPreflightIsMethodNotAllowed) {
  auto res = http->request("OPTIONS", "/sync/batch", "",
                           {{"Origin", kApp}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(res.status, 405) << res.body;
  EXPECT_EQ(res.headers.count("access-control-allow-origin"), 0u);
}

}  // namespace
}  // namespace avsync::testing

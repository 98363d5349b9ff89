// The operations console at /admin/ (docs/protocol.md §7): its files, compiled into the
// server, are served without a credential and under a strict content security policy when
// the server has an admin credential, and not at all without one. The admin API's routes
// beside it still answer as the API, and no path reaches anything but the console's files.
// What the page does in a browser is clients/web/test/e2e/admin.test.ts.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "server/static_files.hpp"
#include "sync_fixture.hpp"
#include "testing/test_dir.hpp"

// A namespace of its own: the suite is compiled in one unit with the others (unity build).
namespace avsync::testing::admin_ui {
namespace {

namespace fs = std::filesystem;

constexpr char kCredential[] = "adm_7Hq2Wm9Lx4Rt8Vz1Pn6Kc3Bd5Fg0Js2Yw";
constexpr char kPolicy[] =
    "default-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const fs::path kSources = fs::path(AVSYNC_SOURCE_DIR) / "src" / "server" / "admin_ui";

std::string read_source(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every file of src/server/admin_ui, by its name there.
std::vector<std::string> console_files() {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(kSources))
    if (entry.is_regular_file())
      names.push_back(entry.path().lexically_relative(kSources).generic_string());
  return names;
}

class AdminUiTest : public SyncServerTest {
 protected:
  AdminUiTest() { std::ofstream(dir_.file("admin-token")) << kCredential << "\n"; }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--admin-token-file", dir_.file("admin-token")});
    return args;
  }
  HttpResult with_credential(const std::string& method, const std::string& target,
                             const std::string& credential = kCredential) {
    return http->request(method, target, "", {{"Authorization", "Bearer " + credential}});
  }

  TestDir dir_;
};

TEST_F(AdminUiTest, TheConsolesPageIsServedAtAdminWithStrictHeaders) {
  const std::string index = read_source(kSources / "index.html");
  ASSERT_FALSE(index.empty());
  for (std::string target : {"/admin/", "/admin/index.html", "/admin/?x=1"}) {
    SCOPED_TRACE(target);
    auto res = http->request("GET", target);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, index);
    EXPECT_EQ(res.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(res.headers["content-security-policy"], kPolicy);
    EXPECT_EQ(res.headers["x-content-type-options"], "nosniff");
    EXPECT_EQ(res.headers["cache-control"], "no-cache");
    EXPECT_EQ(res.headers["referrer-policy"], "no-referrer");
    EXPECT_EQ(res.headers["x-frame-options"], "DENY");
    EXPECT_EQ(res.headers["etag"].size(), 34u) << res.headers["etag"];
    EXPECT_EQ(res.headers.count("set-cookie"), 0u);
  }
  auto redirect = http->request("GET", "/admin");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.headers["location"], "/admin/")
      << "the page's relative URLs resolve under /admin/";
}

TEST_F(AdminUiTest, EveryFileOfTheConsoleIsServedAsItIsInTheSourceWithTheTypeOfItsExtension) {
  const auto names = console_files();
  ASSERT_GE(names.size(), 5u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto res = http->request("GET", "/admin/" + name);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_source(kSources / name)) << "the binary holds this build's file";
    EXPECT_EQ(res.headers["content-type"], server::content_type_for(name));
    EXPECT_EQ(res.headers["content-security-policy"], kPolicy);
    EXPECT_EQ(res.headers["x-content-type-options"], "nosniff");
  }
  EXPECT_EQ(http->request("GET", "/admin/app.js").headers["content-type"],
            "text/javascript; charset=utf-8");
  EXPECT_EQ(http->request("GET", "/admin/style.css").headers["content-type"],
            "text/css; charset=utf-8");
}

TEST_F(AdminUiTest, ThePageRunsNoInlineScriptAndTheScriptsNeverParseHtml) {
  // The policy forbids inline scripts and styles: the page must not need them. And values
  // a device sent reach the page as text only: no script builds HTML from a string.
  const std::string index = http->request("GET", "/admin/").body;
  std::size_t scripts = 0;
  for (std::size_t at = index.find("<script"); at != std::string::npos;
       at = index.find("<script", at + 1)) {
    ++scripts;
    EXPECT_EQ(index.compare(at, 34, "<script type=\"module\" src=\"app.js\""), 0)
        << index.substr(at, 60);
  }
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(index.find("style="), std::string::npos);
  EXPECT_EQ(index.find("<style"), std::string::npos);
  EXPECT_FALSE(std::regex_search(index, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)))
      << "no inline event handler";
  for (const std::string& name : console_files()) {
    if (!name.ends_with(".js")) continue;
    SCOPED_TRACE(name);
    const std::string script = http->request("GET", "/admin/" + name).body;
    for (std::string sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                             "eval(", "new Function", "localStorage", "document.cookie"})
      EXPECT_EQ(script.find(sink), std::string::npos) << sink;
  }
}

TEST_F(AdminUiTest, AnIfNoneMatchHoldingTheETagIsAnswered304AndAHeadSendsNoBody) {
  auto first = http->request("GET", "/admin/app.js");
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto again = http->request("GET", "/admin/app.js", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], etag);
  EXPECT_EQ(again.headers["content-security-policy"], kPolicy);
  EXPECT_EQ(http->request("GET", "/admin/app.js", "", {{"If-None-Match", "\"other\""}}).body,
            first.body);
  EXPECT_NE(http->request("GET", "/admin/style.css").headers["etag"], etag);

  const std::string raw = send_raw(server->port(),
                                   "HEAD /admin/app.js HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /admin/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_NE(raw.find("Content-Length: " + std::to_string(first.body.size())), std::string::npos);
  EXPECT_EQ(raw.find(first.body), std::string::npos) << "the HEAD sent no body";
  EXPECT_TRUE(raw.ends_with(read_source(kSources / "index.html")));
}

TEST_F(AdminUiTest, TheConsoleNeedsNoCredentialWhileTheAdminApiBesideItStillDoes) {
  EXPECT_EQ(http->request("GET", "/admin/").status, 200);
  EXPECT_EQ(with_credential("GET", "/admin/", "not-the-credential").status, 200);
  // /admin/tokens is an API route: 401 without the credential, the API's 400 with it.
  EXPECT_EQ(http->request("GET", "/admin/tokens").status, 401);
  EXPECT_EQ(with_credential("GET", "/admin/tokens", token_a).status, 401)
      << "a device token never opens the admin API";
  auto listed = with_credential("GET", "/admin/tokens");
  EXPECT_EQ(listed.status, 400) << listed.body;
  EXPECT_EQ(parse_json_body(listed.body).at("error").at("code"), "BAD_REQUEST");
  EXPECT_EQ(http->request("POST", "/admin/businesses", R"({"name":"x"})",
                          {{"Content-Type", "application/json"}})
                .status,
            401);
  auto businesses = with_credential("GET", "/admin/businesses?limit=1");
  EXPECT_EQ(businesses.status, 200) << businesses.body;
  EXPECT_TRUE(parse_json_body(businesses.body).as_object().contains("businesses"));
  // The routes of the console's data are the API's, never a file of the console, whatever
  // the method: without the credential a JSON error, never the page.
  for (std::string target :
       {"/admin/businesses", "/admin/operations", "/admin/conflicts", "/admin/audit",
        "/admin/overview", "/admin/conflicts/b1/op1/resolve", "/admin/tokens/abc"}) {
    for (std::string method : {"GET", "POST", "DELETE"}) {
      SCOPED_TRACE(method + " " + target);
      auto res = http->request(method, target, method == "POST" ? "{}" : "",
                               {{"Content-Type", "application/json"}});
      EXPECT_NE(res.status, 200);
      EXPECT_TRUE(res.headers["content-type"].starts_with("application/json"))
          << res.headers["content-type"];
      EXPECT_TRUE(parse_json_body(res.body).as_object().contains("error")) << res.body;
      EXPECT_EQ(res.headers.count("content-security-policy"), 0u);
    }
  }
}

TEST_F(AdminUiTest, HostilePathsFindNothing) {
  const std::vector<std::string> targets = {
      "/admin/../CMakeLists.txt",
      "/admin/../../../../etc/passwd",
      "/admin/%2e%2e/%2e%2e/etc/passwd",
      "/admin/%2E%2E%2Fapp.js",
      "/admin/..%2fapp.js",
      "/admin/../admin/app.js",
      "/admin/./app.js",
      "/admin//app.js",
      "/admin//",
      "/admin/%2fapp.js",
      "/admin/%61pp.js",
      "/admin/app.js%00",
      "/admin/app.js%00.html",
      "/admin/app%00.js",
      "/admin/app.js/",
      "/admin/app.js/..",
      "/admin/index.html/",
      "/admin/APP.JS",
      "/admin/app.js.map",
      "/admin/%",
      "/admin/%zz",
      "/admin/..\\app.js",
      "/admin/%5capp.js",
      "/admin/" + std::string(8000, 'a'),
      "/admin/" + std::string(2000, '.') + "/etc/passwd",
      "/adminapp.js",
      "/admin.js",
      "/demo/",
  };
  for (const std::string& target : targets) {
    SCOPED_TRACE(target.substr(0, 60));
    for (const std::string credential : {"", kCredential}) {
      auto res = credential.empty() ? http->request("GET", target)
                                    : with_credential("GET", target, credential);
      EXPECT_EQ(res.status, 404) << res.body.substr(0, 200);
      for (std::string leaked : {"<!doctype", "import ", "root:", "project("})
        EXPECT_EQ(res.body.find(leaked), std::string::npos) << leaked;
    }
  }
  // A NUL in the request line itself is not HTTP: the connection is refused, nothing served.
  constexpr char kNul[] = "GET /admin/app.js\0.html HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string raw = send_raw(server->port(), std::string(kNul, sizeof kNul - 1));
  EXPECT_FALSE(raw.starts_with("HTTP/1.1 200")) << raw.substr(0, 200);
}

TEST_F(AdminUiTest, OnlyGetAndHeadAreAllowedOnTheConsolesFiles) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/admin/"},
                                                        {"PUT", "/admin/app.js"},
                                                        {"DELETE", "/admin"},
                                                        {"OPTIONS", "/admin/index.html"}}) {
    SCOPED_TRACE(method + " " + target);
    auto res = http->request(method, target, method == "POST" ? "{}" : "",
                             {{"Content-Type", "application/json"}});
    EXPECT_EQ(res.status, 405);
    EXPECT_EQ(res.headers["allow"], "GET, HEAD");
    EXPECT_EQ(parse_json_body(res.body).at("error").at("code"), "METHOD_NOT_ALLOWED");
  }
}

TEST_F(AdminUiTest, TheStartupLineSaysWhereTheConsoleIs) {
  std::ifstream in(server->dir() / "serve.out");
  const std::string said{std::istreambuf_iterator<char>(in), {}};
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(said, "avsync-server listening on " + base + "; console at " + base + "/admin/\n");
}

TEST(AdminUiOff, WithoutAnAdminCredentialTheConsoleIsNotThere) {
  ServerProcess server;
  server.start();
  HttpClient http(server.port());
  for (std::string target : {"/admin/", "/admin", "/admin/index.html", "/admin/app.js"}) {
    auto res = http.request("GET", target);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_NE(res.body.find("no such route"), std::string::npos) << res.body;
  }
  std::ifstream in(server.dir() / "serve.out");
  const std::string said{std::istreambuf_iterator<char>(in), {}};
  EXPECT_EQ(said.find("console"), std::string::npos) << said;
}

}  // namespace
}  // namespace avsync::testing::admin_ui

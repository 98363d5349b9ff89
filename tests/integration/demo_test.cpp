// `serve --demo` (docs/configuration.md): the web demo app's files under /demo/, read into
// memory at start, served without a token and with the demo's own headers, while the sync
// API keeps asking for one. Nothing outside the demo's directory is ever served.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kIndex[] =
    "<!doctype html><title>avsync demo</title><script type=\"module\" src=\"demo.js\"></script>";
constexpr char kScript[] = "navigator.serviceWorker.register('sw.js', {scope: './'});";
constexpr char kWorker[] = "self.addEventListener('fetch', () => {});";
constexpr char kPolicy[] =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; "
    "script-src 'self'; base-uri 'none'; frame-ancestors 'none'; worker-src 'self'";

// A directory of the test's own: site/ is the demo, beside it a file the demo must never
// serve, which site/escape.txt links to.
fs::path make_site() {
  const fs::path base =
      fs::temp_directory_path() / ("avsync-demo-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(base);
  const fs::path site = base / "site";
  fs::create_directories(site / "assets");
  auto write = [&](const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  write(site / "index.html", kIndex);
  write(site / "demo.js", kScript);
  write(site / "sw.js", kWorker);
  write(site / "demo.js.map", "{\"version\":3}");
  write(site / "app.webmanifest", "{\"name\":\"avsync demo\"}");
  write(site / "assets" / "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
  write(site / ".hidden", "SECRET-DOTFILE");
  write(base / "secret.txt", "SECRET-OUTSIDE");
  fs::create_symlink(base / "secret.txt", site / "escape.txt");
  return site;
}

class DemoTest : public SyncServerTest {
 protected:
  void SetUp() override {
    site_ = make_site();
    SyncServerTest::SetUp();
  }
  void TearDown() override {
    SyncServerTest::TearDown();
    fs::remove_all(site_.parent_path());
  }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--demo", "--demo-dir", site_.string()});
    return args;
  }

  fs::path site_;
};

TEST_F(DemoTest, TheIndexIsServedAtTheDemosRootWithTheDemosHeaders) {
  for (std::string target : {"/demo/", "/demo/index.html", "/demo/?token=ignored"}) {
    SCOPED_TRACE(target);
    auto res = http->request("GET", target);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, kIndex);
    EXPECT_EQ(res.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(res.headers["cache-control"], "no-cache");
    EXPECT_EQ(res.headers["x-content-type-options"], "nosniff");
    EXPECT_EQ(res.headers["content-security-policy"], kPolicy);
    EXPECT_EQ(res.headers["etag"].size(), 34u) << res.headers["etag"];
  }
  auto redirect = http->request("GET", "/demo");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.headers["location"], "/demo/")
      << "relative URLs in the page resolve under /demo/";
  EXPECT_EQ(redirect.body, "");
}

TEST_F(DemoTest, EachFileIsServedWithTheContentTypeOfItsExtension) {
  const std::vector<std::tuple<std::string, std::string, std::string>> files = {
      {"/demo/demo.js", "text/javascript; charset=utf-8", kScript},
      {"/demo/sw.js?v=2", "text/javascript; charset=utf-8", kWorker},
      {"/demo/demo.js.map", "application/json", "{\"version\":3}"},
      {"/demo/app.webmanifest", "application/manifest+json", "{\"name\":\"avsync demo\"}"},
      {"/demo/assets/logo.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"},
  };
  for (const auto& [target, type, body] : files) {
    auto res = http->request("GET", target);
    EXPECT_EQ(res.status, 200) << target;
    EXPECT_EQ(res.headers["content-type"], type) << target;
    EXPECT_EQ(res.body, body) << target;
  }
}

TEST_F(DemoTest, AnIfNoneMatchHoldingTheETagIsAnswered304WithoutTheFile) {
  const std::string etag = http->request("GET", "/demo/demo.js").headers["etag"];
  ASSERT_FALSE(etag.empty());
  for (const std::string& header :
       std::vector<std::string>{etag, "W/" + etag, "\"other\", " + etag, "*"}) {
    auto res = http->request("GET", "/demo/demo.js", "", {{"If-None-Match", header}});
    EXPECT_EQ(res.status, 304) << header;
    EXPECT_EQ(res.body, "") << header;
    EXPECT_EQ(res.headers["etag"], etag) << header;
    EXPECT_EQ(res.headers["cache-control"], "no-cache") << header;
  }
  auto changed = http->request("GET", "/demo/demo.js", "", {{"If-None-Match", "\"other\""}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, kScript);
  EXPECT_NE(http->request("GET", "/demo/sw.js").headers["etag"], etag)
      << "another file, another tag";
}

TEST_F(DemoTest, AHeadIsAnsweredLikeAGetWithoutTheBodyAndTheConnectionGoesOn) {
  // Two requests on one connection: a body sent after the HEAD's head would be read as the
  // start of the second answer.
  const std::string raw =
      send_raw(server->port(),
               "HEAD /demo/demo.js HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /demo/sw.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
  const std::size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << raw;
  const std::string head = raw.substr(0, head_end);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(std::string(kScript).size())),
            std::string::npos)
      << head;
  EXPECT_NE(head.find("Content-Type: text/javascript; charset=utf-8"), std::string::npos) << head;
  EXPECT_TRUE(raw.substr(head_end + 4).starts_with("HTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_TRUE(raw.ends_with(kWorker)) << raw;
  EXPECT_EQ(raw.find(kScript), std::string::npos) << "the HEAD sent no body";
}

TEST_F(DemoTest, HostilePathsFindNothingAndNeverAFileOutsideTheDemo) {
  const std::vector<std::string> targets = {
      "/demo/../CMakeLists.txt",
      "/demo/../../../../../../etc/passwd",
      "/demo/%2e%2e/%2e%2e/etc/passwd",
      "/demo/%2E%2E%2F%2E%2E%2Fsecret.txt",
      "/demo/..%2fsecret.txt",
      "/demo//etc/passwd",
      "/demo/%2fetc%2fpasswd",
      "/demo/.hidden",
      "/demo/%2ehidden",
      "/demo/assets/../.hidden",
      "/demo/escape.txt",
      "/demo/a%00b",
      "/demo/index.html%00.js",
      "/demo/%",
      "/demo/%zz",
      "/demo/..\\secret.txt",
      "/demo/%5c..%5csecret.txt",
      "/demo/assets\\logo.svg",
      "/demo/" + std::string(8000, 'a'),
      "/demo/" + std::string(2000, '.') + "/etc/passwd",
      "/demos/index.html",
      "/demoindex.html",
  };
  for (const std::string& target : targets) {
    SCOPED_TRACE(target.substr(0, 60));
    auto res = http->request("GET", target);
    EXPECT_EQ(res.status, 404);
    for (std::string leaked : {"SECRET", "root:", "project("})
      EXPECT_EQ(res.body.find(leaked), std::string::npos) << leaked;
  }
}

TEST_F(DemoTest, OnlyGetAndHeadAreAllowed) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/demo/"},
                                                        {"PUT", "/demo/demo.js"},
                                                        {"DELETE", "/demo"},
                                                        {"OPTIONS", "/demo/"}}) {
    auto res = http->request(method, target, method == "POST" ? "{}" : "",
                             {{"Content-Type", "application/json"}});
    EXPECT_EQ(res.status, 405) << method << " " << target;
    EXPECT_EQ(res.headers["allow"], "GET, HEAD") << method << " " << target;
  }
}

TEST_F(DemoTest, TheDemoNeedsNoTokenWhileTheSyncApiStillDoes) {
  EXPECT_EQ(http->request("GET", "/demo/", "", {{"Authorization", "Bearer not-a-token"}}).status,
            200);
  EXPECT_EQ(http->request("GET", "/sync/changes").status, 401);
  EXPECT_EQ(
      http->request("GET", "/sync/changes", "", {{"Authorization", "Bearer not-a-token"}}).status,
      401);
  EXPECT_EQ(
      http->request("POST", "/sync/batch", batch_body({}), {{"Content-Type", "application/json"}})
          .status,
      401);
  EXPECT_EQ(http->get_changes(token_a).status, 200);
  EXPECT_EQ(http->request("GET", "/healthz").status, 200);
}

TEST_F(DemoTest, TheStartupLineSaysWhereTheDemoIs) {
  std::ifstream in(server->dir() / "serve.out");
  const std::string said{std::istreambuf_iterator<char>(in), {}};
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(said, "avsync-server listening on " + base + "; demo at " + base + "/demo/\n");
}

TEST(DemoOff, WithoutTheFlagTheDemosPathsAreNotRoutes) {
  ServerProcess server;
  server.start();
  HttpClient http(server.port());
  for (std::string target : {"/demo/", "/demo", "/demo/index.html"}) {
    auto res = http.request("GET", target);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_NE(res.body.find("no such route"), std::string::npos) << res.body;
  }
  EXPECT_EQ(http.request("POST", "/demo/", "{}", {{"Content-Type", "application/json"}}).status,
            404);
}

TEST(DemoOff, AMissingDemoStopsTheStartWithHowToBuildIt) {
  const fs::path base =
      fs::temp_directory_path() / ("avsync-demo-missing-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "empty");
  const std::string db = "sqlite:" + (base / "never.db").string();
  for (const auto& [dir, problem] : std::vector<std::pair<fs::path, std::string>>{
           {base / "absent", (base / "absent").string() + " does not exist"},
           {base / "empty", "no index.html in " + (base / "empty").string()}}) {
    auto out = run_server_command(
        {"serve", "--demo", "--demo-dir", dir.string(), "--db", db, "--listen", "127.0.0.1:0"});
    EXPECT_EQ(out.exit_code, 2) << out.err;
    EXPECT_EQ(
        out.err,
        "avsync-server: --demo: " + problem +
            "; the demo app is not built there: run `make web` in the checkout, or pass --demo-dir "
            "DIR\n");
    EXPECT_EQ(out.out, "") << "nothing listened";
  }
  EXPECT_FALSE(fs::exists(base / "never.db"))
      << "the demo is checked before the database is opened";
  fs::remove_all(base);
}

}  // namespace
}  // namespace avsync::testing

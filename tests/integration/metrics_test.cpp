// GET /metrics, GET /admin/overview, request ids and log levels (docs/protocol.md §6, §7),
// over HTTP against a real server on each store.

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "sync_fixture.hpp"
#include "testing/jwt_signer.hpp"
#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kMetricsCredential[] = "adm_Metrics7Lr8sT1uYp0ZbNc4Md6Fh7Jg5Ke2Qw8Rt";
constexpr char kMetricsJwtSecret[] = "the-app-backend-hs256-secret-of-32-bytes-or-more";

// A scrape, every line checked: a comment (# HELP / # TYPE) or `name{labels} value`.
// Returns the samples by series ("name{labels}").
std::map<std::string, double> parse_scrape(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::map<std::string, double> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(line, kComment)) << line;
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, kSample)) << line;
    const auto space = line.rfind(' ');
    EXPECT_FALSE(out.contains(line.substr(0, space))) << "repeated series: " << line;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double value_of(const std::map<std::string, double>& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

class MetricsTest : public SyncServerTest {
 protected:
  MetricsTest() {
    std::ofstream(dir_.file("admin-token")) << kMetricsCredential << "\n";
    std::ofstream(dir_.file("jwt-secret")) << kMetricsJwtSecret;
  }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--admin-token-file", dir_.file("admin-token"), "--jwt-secret-file",
                             dir_.file("jwt-secret")});
    return args;
  }
  HttpResult scrape() {
    return http->request("GET", "/metrics", "",
                         {{"Authorization", std::string("Bearer ") + kMetricsCredential}});
  }
  std::map<std::string, double> samples() {
    auto res = scrape();
    EXPECT_EQ(res.status, 200) << res.body;
    return parse_scrape(res.body);
  }
  std::string jwt() const {
    const std::int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() +
                             600;
    return JwtSigner::hs256(kMetricsJwtSecret)
        .sign({{"sub", "admin"}, {"businessId", business_a}, {"exp", exp}});
  }

  TestDir dir_;
};

TEST_F(MetricsTest, AScrapeIsTheTextFormatWithCumulativeBucketsEndingAtTheCount) {
  insert_customer();
  ASSERT_EQ(http->get_changes(token_a).status, 200);
  ASSERT_EQ(http->request("GET", "/no/such/route").status, 404);
  auto res = scrape();
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto s = parse_scrape(res.body);
  EXPECT_GE(value_of(s, R"(avsync_http_requests_total{route="POST /sync/batch",status="200"})"), 1);
  EXPECT_GE(value_of(s, R"(avsync_http_requests_total{route="unknown",status="404"})"), 1);
  EXPECT_GT(value_of(s, "process_resident_memory_bytes"), 0);
  EXPECT_GT(value_of(s, "process_open_fds"), 0);
  EXPECT_GT(value_of(s, "process_start_time_seconds"), 1.7e9);

  // Every histogram series: buckets never decrease, in ascending le, and +Inf is _count.
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // series -> (le, value)
  for (const auto& [series, value] : s) {
    const auto at = series.find("_bucket{");
    if (at == std::string::npos) continue;
    const auto le = series.find("le=\"");
    ASSERT_NE(le, std::string::npos) << series;
    const std::string bound = series.substr(le + 4, series.find('"', le + 4) - le - 4);
    std::string labels = series.substr(at + 8, le - at - 8);
    if (!labels.empty() && labels.back() == ',') labels.pop_back();
    const std::string name = series.substr(0, at) + "{" + labels + "}";
    buckets[name].emplace_back(bound == "+Inf" ? INFINITY : std::stod(bound), value);
  }
  ASSERT_FALSE(buckets.empty());
  EXPECT_TRUE(
      buckets.contains(R"(avsync_http_request_duration_seconds{route="POST /sync/batch"})"));
  for (auto& [name, list] : buckets) {
    SCOPED_TRACE(name);
    std::sort(list.begin(), list.end());
    for (std::size_t i = 1; i < list.size(); ++i) EXPECT_LE(list[i - 1].second, list[i].second);
    EXPECT_EQ(list.back().first, INFINITY);
    const std::string base = name.substr(0, name.find('{'));
    std::string labels = name.substr(name.find('{'));
    if (labels == "{}") labels.clear();
    EXPECT_EQ(list.back().second, value_of(s, base + "_count" + labels));
    EXPECT_TRUE(s.contains(base + "_sum" + labels));
  }
}

TEST_F(MetricsTest, ABatchMovesTheCountersByExactlyItsOperations) {
  const auto before = samples();
  std::vector<boost::json::object> ops;
  for (int i = 0; i < 3; ++i)
    ops.push_back(
        operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"Ana"})", ts(0)));
  ops.push_back(operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":""})", ts(0)));
  auto results = push(ops);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_EQ(results[3].error, "VALIDATION_ERROR");
  ASSERT_EQ(http->get_changes(token_a, "limit=2").status, 200);
  const auto after = samples();
  auto moved = [&](const std::string& series) {
    return value_of(after, series) - value_of(before, series);
  };
  EXPECT_EQ(
      moved(R"(avsync_operations_total{entity="customers",action="insert",outcome="applied"})"), 3);
  EXPECT_EQ(
      moved(
          R"(avsync_operations_total{entity="customers",action="insert",outcome="VALIDATION_ERROR"})"),
      1);
  EXPECT_EQ(moved("avsync_batches_total"), 1);
  EXPECT_EQ(moved(R"(avsync_http_requests_total{route="POST /sync/batch",status="200"})"), 1);
  EXPECT_EQ(moved(R"(avsync_http_request_duration_seconds_count{route="POST /sync/batch"})"), 1);
  EXPECT_EQ(moved("avsync_pull_pages_total"), 1);
  EXPECT_EQ(moved("avsync_pulled_rows_total"), 2);
  // The scrape before this one is counted by the time this one renders.
  EXPECT_EQ(moved(R"(avsync_http_requests_total{route="GET /metrics",status="200"})"), 1);
}

TEST_F(MetricsTest, RefusedCredentialsAreCountedByReason) {
  const auto before = samples();
  EXPECT_EQ(http->get_changes("avs_unknown0token0000000000000000000000000000").status, 401);
  EXPECT_EQ(http->request("GET", "/sync/changes").status, 401);
  EXPECT_EQ(http->get_changes("a.b.c").status, 401);
  EXPECT_EQ(
      http->request("GET", "/admin/overview", "", {{"Authorization", "Bearer " + token_a}}).status,
      401);
  const auto after = samples();
  auto moved = [&](const std::string& reason) {
    const std::string series = R"(avsync_auth_failures_total{reason=")" + reason + "\"}";
    return value_of(after, series) - value_of(before, series);
  };
  EXPECT_EQ(moved("unknown"), 1);
  EXPECT_EQ(moved("missing"), 1);
  EXPECT_EQ(moved("invalid_jwt"), 1);
  EXPECT_EQ(moved("admin_credential"), 1);
}

TEST_F(MetricsTest, OnlyTheAdminCredentialOpensMetricsAndTheOverview) {
  const std::string credential = kMetricsCredential;
  const std::string token = jwt();
  ASSERT_EQ(http->get_changes(token).status, 200);  // the JWT opens /sync/*
  for (const std::string& authorization :
       {std::string(), "Bearer " + token_a, "Bearer " + token, "Bearer " + credential + "x",
        "Basic " + credential, credential}) {
    SCOPED_TRACE("Authorization: " + authorization);
    Headers headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    for (const char* target : {"/metrics", "/admin/overview"}) {
      auto res = http->request("GET", target, "", headers);
      EXPECT_EQ(res.status, 401) << target;
      EXPECT_EQ(res.body.find("avsync_"), std::string::npos);
      EXPECT_EQ(parse_json_body(res.body).at("error").at("code").as_string(), "UNAUTHENTICATED");
    }
  }
  EXPECT_EQ(
      http->request("POST", "/metrics", "{}", {{"Authorization", "Bearer " + credential}}).status,
      405);
}

TEST_F(MetricsTest, TheOverviewIsTheIntervalAndTheSamplesOldestFirst) {
  auto res = http->request("GET", "/admin/overview", "",
                           {{"Authorization", std::string("Bearer ") + kMetricsCredential}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers["content-type"], "application/json");
  auto body = parse_json_body(res.body).as_object();
  EXPECT_EQ(body.at("intervalSeconds"), 10);
  ASSERT_TRUE(body.at("samples").is_array());
  // The first sample comes 10 s after the start; one that came has every member.
  for (const auto& sample : body.at("samples").as_array()) {
    const auto& o = sample.as_object();
    EXPECT_TRUE(o.at("at").is_string());
    for (const char* rate : {"requestsPerSecond", "operationsPerSecond", "errorRate"})
      EXPECT_TRUE(o.at(rate).is_number()) << rate;
    EXPECT_TRUE(o.at("p99Ms").is_number() || o.at("p99Ms").is_null());
  }
}

TEST_F(MetricsTest, ASaneRequestIdIsEchoedAndLoggedAndAHostileOneReplaced) {
  auto sane = http->request("GET", "/healthz", "", {{"X-Request-Id", "trace-42.a_b"}});
  EXPECT_EQ(sane.headers["x-request-id"], "trace-42.a_b");
  auto none = http->request("GET", "/healthz");
  const std::string generated = none.headers["x-request-id"];
  EXPECT_TRUE(std::regex_match(generated, std::regex("[0-9a-f]{32}"))) << generated;
  EXPECT_NE(http->request("GET", "/healthz").headers["x-request-id"], generated);
  for (const std::string& hostile :
       {std::string(10240, 'r'), std::string("a\"b"), std::string("x y"), std::string(65, 'a'),
        std::string("\"},\"status\":200,\"x\":\"")}) {
    auto res = http->request("GET", "/healthz", "", {{"X-Request-Id", hostile}});
    EXPECT_EQ(res.status, 200);
    EXPECT_TRUE(std::regex_match(res.headers["x-request-id"], std::regex("[0-9a-f]{32}")))
        << res.headers["x-request-id"];
  }
  // A CR LF inside the header would end it: the raw bytes show the server never echoes one.
  const std::string raw = send_raw(
      server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rInjected: 1\r\n\r\n");
  EXPECT_EQ(raw.find("Injected"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Request-Id: "), std::string::npos) << raw;
  // Errors carry the id too, and the log line names it and the error's code.
  auto failed = http->request("GET", "/sync/changes", "", {{"X-Request-Id", "trace-401"}});
  EXPECT_EQ(failed.headers["x-request-id"], "trace-401");
  ASSERT_EQ(http->request("GET", "/sync/changes", "",
                          {{"X-Request-Id", "trace-ok"}, {"Authorization", "Bearer " + token_a}})
                .status,
            200);
  server->stop();  // the log is complete
  const std::string log = server->log();
  EXPECT_NE(log.find(R"("requestId":"trace-42.a_b")"), std::string::npos);
  // The fields of the log line before this change stay first, in their order.
  EXPECT_NE(log.find(R"({"method":"GET","path":"/sync/changes","status":401,)"), std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("requestId":"trace-401","error":"UNAUTHENTICATED"})"), std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("requestId":")" + generated + "\""), std::string::npos);
  EXPECT_EQ(log.find(R"(,"x":")"), std::string::npos) << "a hostile id forged a log field";
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("\"trace-ok\"") == std::string::npos) continue;
    EXPECT_EQ(line.find("\"error\""), std::string::npos) << line;
  }
}

// Without an admin credential there is no admin API, so neither route exists.
class MetricsWithoutAdminTest : public SyncServerTest {};

TEST_F(MetricsWithoutAdminTest, MetricsAndTheOverviewAre404) {
  EXPECT_EQ(http->request("GET", "/metrics").status, 404);
  EXPECT_EQ(http->request("GET", "/admin/overview").status, 404);
}

// --metrics-listen: a second address serves GET /metrics without credential, only that.
class MetricsListenTest : public MetricsTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = MetricsTest::serve_args();
    args.insert(args.end(), {"--metrics-listen", "127.0.0.1:0"});
    return args;
  }
  std::uint16_t metrics_port() {
    std::smatch m;
    const std::string log = server->log();
    if (!std::regex_search(log, m,
                           std::regex(R"(metrics at http://127\.0\.0\.1:([0-9]+)/metrics)"))) {
      ADD_FAILURE() << log;
      return 0;
    }
    return static_cast<std::uint16_t>(std::stoi(m[1]));
  }
};

TEST_F(MetricsListenTest, ServesMetricsWithoutCredentialAndTheMainListenerAnswers404) {
  insert_customer();
  HttpClient metrics(metrics_port());
  auto res = metrics.request("GET", "/metrics");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto s = parse_scrape(res.body);
  EXPECT_EQ(
      value_of(s,
               R"(avsync_operations_total{entity="customers",action="insert",outcome="applied"})"),
      1);
  EXPECT_FALSE(res.headers["x-request-id"].empty());

  // The main listener: no /metrics, whatever the credential; the overview stays.
  auto main = http->request("GET", "/metrics", "",
                            {{"Authorization", std::string("Bearer ") + kMetricsCredential}});
  EXPECT_EQ(main.status, 404) << main.body;
  EXPECT_EQ(http->request("GET", "/admin/overview", "",
                          {{"Authorization", std::string("Bearer ") + kMetricsCredential}})
                .status,
            200);
  // The metrics listener: nothing but GET /metrics.
  EXPECT_EQ(metrics.request("GET", "/healthz").status, 404);
  EXPECT_EQ(
      metrics.request("GET", "/sync/changes", "", {{"Authorization", "Bearer " + token_a}}).status,
      404);
  EXPECT_EQ(metrics
                .request("GET", "/admin/overview", "",
                         {{"Authorization", std::string("Bearer ") + kMetricsCredential}})
                .status,
            404);
  EXPECT_EQ(
      metrics.request("POST", "/metrics", "{}", {{"Content-Type", "application/json"}}).status,
      405);
}

// --log-level error: request lines of answers below 500 are not written.
class QuietLogTest : public SyncServerTest {
 protected:
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--log-level", "error"});
    return args;
  }
};

TEST_F(QuietLogTest, LogLevelErrorHidesRequestLines) {
  insert_customer();
  EXPECT_EQ(http->request("GET", "/no/such/route", "", {{"X-Request-Id", "quiet-404"}}).status,
            404);
  EXPECT_EQ(http->request("GET", "/sync/changes", "", {{"X-Request-Id", "quiet-401"}}).status, 401);
  EXPECT_EQ(
      http->request("GET", "/sync/changes?limit=0", "", {{"Authorization", "Bearer " + token_a}})
          .status,
      400);
  server->stop();
  const std::string log = server->log();
  EXPECT_EQ(log.find("\"requestId\""), std::string::npos) << log;
  EXPECT_NE(log.find("avsync-server: stopped"), std::string::npos) << log;
}

}  // namespace
}  // namespace avsync::testing

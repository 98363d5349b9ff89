// docs/openapi.yaml is the HTTP API as data. These tests keep it honest: the paths and
// methods it documents are exactly the routes the router serves (server::served_routes()),
// and each one answers on a live server with a status the document lists for it.

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "server/router.hpp"
#include "sync_fixture.hpp"
#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kOpenApiPath[] = AVSYNC_SOURCE_DIR "/docs/openapi.yaml";
constexpr char kAdminCredential[] = "adm_Vq3Lx8Tz1Nb6Rk0Ws4Yh7Jd2Gf5Mc9Pe8Ua3Ko";  // 40 characters
constexpr char kOrigin[] = "https://app.example.com";
// A well-formed token id (24 hex digits) that no token has.
constexpr char kUnknownTokenId[] = "0123456789abcdef01234567";

// One operation of the document: "METHOD /path" and the statuses under its `responses`.
struct DocumentedOperation {
  std::string method;  // upper case
  std::string path;    // as written, {id} included
  std::set<int> statuses;
  std::string key() const { return method + " " + path; }
};

// The operations under `paths:`, read line by line rather than with a YAML library: the
// document's layout is fixed (two spaces before a path, four before a method, six before
// `responses:`, eight before a status), and the test must not depend on a parser the
// server does not need. Duplicates are kept, so a repeated method shows up as one.
std::vector<DocumentedOperation> documented_operations(std::istream& yaml) {
  static const std::set<std::string, std::less<>> kMethods = {"get",  "put",     "post",  "delete",
                                                              "head", "options", "patch", "trace"};
  auto unquote = [](std::string_view text) {
    if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front())
      text = text.substr(1, text.size() - 2);
    return std::string(text);
  };
  std::vector<DocumentedOperation> out;
  bool in_paths = false, in_operation = false, in_responses = false;
  std::string path;
  std::string line;
  while (std::getline(yaml, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos || line[indent] == '#') continue;  // blank or comment
    if (indent == 0) {  // a top-level key starts or ends the section
      in_paths = line.starts_with("paths:");
      continue;
    }
    if (!in_paths) continue;
    std::string_view rest = std::string_view(line).substr(indent);
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string key = unquote(rest.substr(0, colon));
    if (indent == 2 && key.starts_with('/')) {
      path = key;
      in_operation = in_responses = false;
    } else if (indent == 4) {
      // A method, or a path-level member such as `parameters`.
      in_operation = !path.empty() && kMethods.contains(key);
      in_responses = false;
      if (!in_operation) continue;
      std::string method = key;
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.push_back({method, path, {}});
    } else if (indent == 6 && in_operation) {
      in_responses = key == "responses";
    } else if (indent == 8 && in_responses && key.size() == 3 &&
               key.find_first_not_of("0123456789") == std::string::npos) {
      out.back().statuses.insert(std::stoi(key));
    }
  }
  return out;
}

std::vector<DocumentedOperation> read_document() {
  std::ifstream file(kOpenApiPath);
  EXPECT_TRUE(file.good()) << "cannot read " << kOpenApiPath;
  return documented_operations(file);
}

std::string listed(const std::set<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += "\n  " + k;
  return out;
}

TEST(OpenApiDocument, DocumentsExactlyTheRoutesTheServerServes) {
  std::set<std::string> documented, repeated;
  for (const DocumentedOperation& op : read_document())
    if (!documented.insert(op.key()).second) repeated.insert(op.key());
  ASSERT_FALSE(documented.empty()) << kOpenApiPath << " documents no paths";
  EXPECT_TRUE(repeated.empty()) << "documented twice:" << listed(repeated);

  std::set<std::string> served;
  for (const server::RouteSpec& route : server::served_routes())
    served.insert(std::string(route.method) + " " + std::string(route.path));

  std::set<std::string> undocumented, unserved;
  for (const std::string& k : served)
    if (!documented.contains(k)) undocumented.insert(k);
  for (const std::string& k : documented)
    if (!served.contains(k)) unserved.insert(k);
  EXPECT_TRUE(undocumented.empty()) << "served but missing from docs/openapi.yaml:" << listed(undocumented);
  EXPECT_TRUE(unserved.empty()) << "in docs/openapi.yaml but not served:" << listed(unserved);
}

TEST(OpenApiDocument, EveryOperationListsTheStatusesItAnswers) {
  for (const DocumentedOperation& op : read_document())
    EXPECT_FALSE(op.statuses.empty()) << op.key() << " lists no responses";
}

// A server with every optional route on: the admin API and CORS preflights.
class OpenApiServerTest : public SyncServerTest {
 protected:
  OpenApiServerTest() { std::ofstream(dir_.file("admin-token")) << kAdminCredential << "\n"; }
  std::vector<std::string> serve_args() const override {
    auto args = SyncServerTest::serve_args();
    args.insert(args.end(), {"--admin-token-file", dir_.file("admin-token"), "--cors-origin", kOrigin});
    return args;
  }

  // A request `op` should succeed with: the right credential, and a body or query where
  // the route needs one. A route not named here is still sent, with neither.
  HttpResult send(const DocumentedOperation& op, const std::vector<DocumentedOperation>& all) {
    std::string target = op.path;
    if (std::size_t brace = target.find("{id}"); brace != std::string::npos)
      target.replace(brace, 4, kUnknownTokenId);
    const std::map<std::string, std::string> queries{{"GET /admin/tokens", "?businessId=" + business_a}};
    const std::map<std::string, std::string> bodies{
        {"POST /sync/batch", batch_body({})},
        {"POST /admin/businesses", R"({"name":"Tienda OpenAPI"})"},
        {"POST /admin/tokens", R"({"businessId":")" + business_a + R"(","userId":"openapi"})"}};
    if (auto q = queries.find(op.key()); q != queries.end()) target += q->second;
    std::string body;
    if (auto b = bodies.find(op.key()); b != bodies.end()) body = b->second;

    Headers headers;
    if (op.method == "OPTIONS") {
      // The preflight asks for the path's own method, as a browser would.
      std::string method;
      for (const DocumentedOperation& other : all)
        if (other.path == op.path && other.method != "OPTIONS") method = other.method;
      headers = {{"Origin", kOrigin}, {"Access-Control-Request-Method", method}};
    } else if (op.path.starts_with("/admin/") || op.path == "/metrics") {
      headers = {{"Authorization", std::string("Bearer ") + kAdminCredential}};
    } else if (op.path.starts_with("/sync/")) {
      headers = {{"Authorization", "Bearer " + token_a}};
    }
    if (op.method == "POST") headers.emplace_back("Content-Type", "application/json");
    return http->request(op.method, target, body, headers);
  }

  TestDir dir_;
};

TEST_F(OpenApiServerTest, EveryDocumentedRouteAnswersWithAStatusTheDocumentLists) {
  const std::vector<DocumentedOperation> operations = read_document();
  ASSERT_FALSE(operations.empty());
  for (const DocumentedOperation& op : operations) {
    SCOPED_TRACE(op.key());
    const HttpResult res = send(op, operations);
    ASSERT_NE(res.status, 0) << "the connection failed";
    EXPECT_NE(res.status, 405) << res.body;
    EXPECT_TRUE(op.statuses.contains(res.status)) << "answered " << res.status << ", not listed: " << res.body;
    // The id of the DELETE is no token's: the route exists, the token does not.
    const bool revokes_unknown_token = op.key() == "DELETE /admin/tokens/{id}";
    if (revokes_unknown_token) {
      EXPECT_EQ(res.status, 404) << res.body;
    }
    if (res.status == 404) {
      const boost::json::value error = parse_json_body(res.body).at("error");
      EXPECT_EQ(error.at("code"), "NOT_FOUND");
      const std::string message(error.at("message").as_string());
      EXPECT_NE(message, "no such route") << "the server does not serve this route";
      if (revokes_unknown_token) {
        EXPECT_EQ(message, "no token with this id");
      }
    }
  }
}

}  // namespace
}  // namespace avsync::testing

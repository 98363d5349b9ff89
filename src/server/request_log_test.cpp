// Request ids and the request log line.

#include "server/request_log.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"
#include "server/router.hpp"

namespace avsync::server {
namespace {

TEST(RequestId, ASaneIdIsKeptAndAnythingElseReplaced) {
  EXPECT_EQ(request_id_for("abc-123_X.y"), "abc-123_X.y");
  EXPECT_EQ(request_id_for(std::string(64, 'a')), std::string(64, 'a'));
  for (std::string hostile :
       {std::string(), std::string(65, 'a'), std::string("a\r\nSet-Cookie: x=1"),
        std::string("a\"b"), std::string("a b"), std::string(10240, 'x'),
        std::string("caf\xc3\xa9")}) {
    const std::string id = request_id_for(hostile);
    EXPECT_NE(id, hostile);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(is_sane_request_id(id));
  }
}

TEST(RequestId, NewIdsAre128RandomBitsInHex) {
  const std::string a = new_request_id(), b = new_request_id();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.size(), 32u);
}

TEST(LogLevel, ParsesTheFourLevelsOnly) {
  EXPECT_EQ(parse_log_level("error"), LogLevel::error);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("info"), LogLevel::info);
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_FALSE(parse_log_level("INFO"));
  EXPECT_FALSE(parse_log_level(""));
}

TEST(LogLevel, RequestLinesAreErrorFor5xxWarnForClientMistakesElseInfo) {
  EXPECT_EQ(request_line_level(503), LogLevel::error);
  EXPECT_EQ(request_line_level(500), LogLevel::error);
  EXPECT_EQ(request_line_level(400), LogLevel::warn);
  EXPECT_EQ(request_line_level(429), LogLevel::warn);
  EXPECT_EQ(request_line_level(401), LogLevel::info);
  EXPECT_EQ(request_line_level(404), LogLevel::info);
  EXPECT_EQ(request_line_level(200), LogLevel::info);
}

TEST(RequestLine, CarriesTheIdAndTheErrorCodeAndStaysOneJsonObject) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/sync/\"batch\n?x=1";
  request.request_id = "req-1";
  HttpResponse response = error_response(ErrorCode::validation_error, "bad");
  response.business_id = "biz\"\\\x01";
  const std::string line = format_request_line(request, response, std::chrono::microseconds(1234));
  ASSERT_TRUE(line.ends_with("}\n"));
  auto parsed = parse_json(line.substr(0, line.size() - 1));
  ASSERT_TRUE(parsed) << line;
  EXPECT_EQ(parsed->find("requestId")->text, "req-1");
  EXPECT_EQ(parsed->find("error")->text, "VALIDATION_ERROR");
  EXPECT_EQ(parsed->find("path")->text, "/sync/\"batch?");
  EXPECT_EQ(parsed->find("business")->text, "biz\"\\?");
  EXPECT_EQ(parsed->find("latency_ms")->text, "1.2");
  HttpResponse ok;
  EXPECT_EQ(format_request_line(request, ok, {}).find("\"error\""), std::string::npos);
}

}  // namespace
}  // namespace avsync::server

#include "core/codec.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

ErrorCode code_of(std::string_view body, std::size_t max_ops = 500) {
  auto r = decode_batch(body, BatchLimits{max_ops, 64});
  EXPECT_FALSE(r) << body;
  return r ? ErrorCode::internal : r.error().code;
}

TEST(Codec, EnvelopeProblemsAreBadRequests) {
  EXPECT_EQ(code_of("not json"), ErrorCode::bad_request);
  EXPECT_EQ(code_of("[]"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": {}})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"ops": []})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": [1]})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": [{}]})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": [{"operationId": 7}]})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": [{"operationId": ""}]})"), ErrorCode::bad_request);
  EXPECT_EQ(code_of(R"({"operations": [{"operationId": ")" + std::string(129, 'x') + "\"}]}"),
            ErrorCode::bad_request);
}

TEST(Codec, OperationIdsUpTo128CharactersAreAccepted) {
  std::string id;
  for (int i = 0; i < 128; ++i) id += "\xC3\xB1";  // 128 characters, 256 bytes
  auto r = decode_batch(R"({"operations": [{"operationId": ")" + id + "\"}]}", {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->operations[0].operation_id, id);
}

TEST(Codec, MoreOperationsThanTheLimitIsBatchTooLarge) {
  EXPECT_EQ(code_of(R"({"operations": [{"operationId": "a"}, {"operationId": "b"}]})", 1),
            ErrorCode::batch_too_large);
}

TEST(Codec, ErrorBodyHasCodeAndMessage) {
  EXPECT_EQ(encode_error(ErrorCode::route_not_found, "no route"),
            R"({"error":{"code":"NOT_FOUND","message":"no route"}})");
}

TEST(Codec, BatchResponseListsResultsInOrder) {
  std::vector<OperationResult> results{
      {"a", std::nullopt, 0}, {"b", Error{ErrorCode::conflict, "older"}, 1}};
  EXPECT_EQ(encode_batch_response(results, 2),
            R"({"results":[{"operationId":"a","success":true,"serverTimestamp":"1970-01-01T00:00:00.000Z"},)"
            R"({"operationId":"b","success":false,"error":"CONFLICT","message":"older","serverTimestamp":"1970-01-01T00:00:00.001Z"}],)"
            R"("serverTimestamp":"1970-01-01T00:00:00.002Z"})");
}

TEST(Codec, ChangePagesEscapeEveryStringAndParseBack) {
  const EntitySpec& customers = *find_entity("customers");
  RowChange row{&customers, "id-1", false, std::vector<std::optional<std::string>>(customers.fields.size()),
                "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", 7};
  std::string nasty = std::string("q\"b\\n\n\r\t\x01\x1f\x7f Pe\xC3\xB1" "a \xF0\x9F\x98\x80 ") + '\0' + "end";
  row.values[customers.field_index("name")] = nasty;
  RowChange tombstone{&customers, "id-2", true, {}, "c", "u", 8};
  ChangePage page{{row, tombstone}, 8, true};
  std::string json = encode_changes(page, "v1.8", 0);
  auto parsed = parse_json(json);
  ASSERT_TRUE(parsed) << json;
  const JsonValue& first = parsed->find("changes")->items.at(0);
  EXPECT_EQ(first.find("data")->find("name")->text, nasty);
  EXPECT_TRUE(first.find("data")->find("phone")->is_null());
  EXPECT_EQ(first.find("serverTimestamp")->text, "2026-01-02T00:00:00.000Z");
  const JsonValue& second = parsed->find("changes")->items.at(1);
  EXPECT_EQ(second.find("action")->text, "delete");
  EXPECT_TRUE(second.find("data")->is_null());
  EXPECT_EQ(parsed->find("cursor")->text, "v1.8");
  EXPECT_TRUE(parsed->find("hasMore")->boolean);
}

}  // namespace
}  // namespace avsync

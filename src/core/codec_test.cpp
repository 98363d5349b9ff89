#include "core/codec.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

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
  EXPECT_EQ(
      encode_batch_response(results, "v1.9", 2),
      R"({"results":[{"operationId":"a","success":true,"serverTimestamp":"1970-01-01T00:00:00.000Z"},)"
      R"({"operationId":"b","success":false,"error":"CONFLICT","message":"older","serverTimestamp":"1970-01-01T00:00:00.001Z"}],)"
      R"("cursor":"v1.9","serverTimestamp":"1970-01-01T00:00:00.002Z"})");
}

TEST(Codec, WaitIsWholeSecondsUpToSixty) {
  EXPECT_EQ(decode_changes_query("")->wait_seconds, 0u);
  EXPECT_EQ(decode_changes_query("wait=0")->wait_seconds, 0u);
  EXPECT_EQ(decode_changes_query("since=&wait=25")->wait_seconds, 25u);
  EXPECT_EQ(decode_changes_query("wait=060")->wait_seconds, 60u);
  for (const char* bad : {"wait=61", "wait=-1", "wait=1.5", "wait=", "wait=abc", "wait=1000",
                          "wait=99999999999999999999", "wait=%31%30%30", "wait=+5"}) {
    auto decoded = decode_changes_query(bad);
    ASSERT_FALSE(decoded) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::bad_request) << bad;
    EXPECT_NE(decoded.error().message.find("wait"), std::string::npos) << bad;
  }
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

// The server streams its pages (ChangesEncoder); encode_changes is the encoder it replaced,
// from whole rows. Every byte must agree: each entity, each field type (text with quotes,
// backslashes, control bytes, NUL, Unicode of every length and U+2028; money and quantity
// decimals; timestamps; references; choices), nulls, empty text, 2,000-character text and
// tombstones, in pages of 0, 1 and many rows, with and without hasMore.
TEST(Codec, TheStreamingEncoderWritesThePagesOfTheWholePageEncoder) {
  const std::vector<std::string> texts{"",
                                       "Ana",
                                       "q\"b\\n\n\r\t\x01\x1f\x7f",
                                       std::string("nul") + '\0' + "byte",
                                       "Pe\xC3\xB1"
                                       "a \xE2\x82\xAC \xF0\x9F\x98\x80 \xE2\x80\xA8 \xE2\x80\xA9",
                                       "</script><!-- & ' \"",
                                       std::string(2000, 'x'),
                                       [] {
                                         std::string s;
                                         for (int i = 0; i < 700; ++i)
                                           s += "\xC3\xB1";  // 700 two-byte characters
                                         return s;
                                       }()};
  const std::vector<std::string> decimals{"0",       "12.50",   "-0.001", "99999999999999.99",
                                          "1000000", "0.000001"};
  const std::vector<std::string> times{"2026-12-02T09:00:00.000Z", "0001-01-01T00:00:00.000Z",
                                       "9999-12-31T23:59:59.999Z"};
  std::vector<RowChange> rows;
  std::uint64_t version = 0;
  for (const EntitySpec& entity : all_entities()) {
    for (std::size_t variant = 0; variant < 12; ++variant) {
      RowChange row{&entity,
                    "6f1c2a3e-0000-4000-8000-00000000000" + std::to_string(variant % 10),
                    variant % 5 == 4,
                    {},
                    times[variant % times.size()],
                    times[(variant + 1) % times.size()],
                    ++version};
      if (!row.deleted || variant == 9) {  // tombstones with and without values
        for (std::size_t i = 0; i < entity.fields.size(); ++i) {
          const FieldSpec& field = entity.fields[i];
          if ((variant + i) % 4 == 3) {
            row.values.emplace_back();  // null
            continue;
          }
          const std::size_t pick = variant + i * 3;
          switch (field.type) {
            case FieldType::text:
              row.values.emplace_back(texts[pick % texts.size()]);
              break;
            case FieldType::money:
            case FieldType::quantity:
              row.values.emplace_back(decimals[pick % decimals.size()]);
              break;
            case FieldType::timestamp:
              row.values.emplace_back(times[pick % times.size()]);
              break;
            case FieldType::reference:
              row.values.emplace_back("0a1b2c3d-4e5f-4a6b-8c7d-" + std::string(12, 'e'));
              break;
            case FieldType::choice:
              row.values.emplace_back(
                  field.choices.empty() ? "x"
                                        : std::string(field.choices[pick % field.choices.size()]));
              break;
          }
        }
      }
      rows.push_back(std::move(row));
    }
  }
  auto streamed = [](std::span<const RowChange> page, std::string_view cursor, bool has_more) {
    ChangesEncoder encoder(page.size());
    std::vector<std::optional<std::string_view>> values;
    for (const RowChange& row : page) {
      values.assign(row.values.begin(), row.values.end());
      encoder.add({row.entity, row.entity_id, row.deleted, row.version, row.created_at,
                   row.updated_at, values});
    }
    EXPECT_EQ(encoder.rows(), page.size());
    return encoder.finish(cursor, has_more, 1764666000123);
  };
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, rows.size()}) {
    for (bool has_more : {false, true}) {
      std::span<const RowChange> page(rows.data(), count);
      ChangePage whole{{page.begin(), page.end()}, count, has_more};
      const std::string expected =
          encode_changes(whole, "v1." + std::to_string(count), 1764666000123);
      EXPECT_EQ(streamed(page, "v1." + std::to_string(count), has_more), expected)
          << count << " rows, hasMore " << has_more;
      ASSERT_TRUE(parse_json(expected)) << "the reference page is JSON";
    }
  }
}

std::string message_of(std::string_view body, BatchLimits limits = {}) {
  auto r = decode_batch(body, limits);
  EXPECT_FALSE(r) << body.substr(0, 200);
  return r ? "(decoded)" : r.error().message;
}

// A valid operation with `payload` (JSON text): 7 values plus the payload's contents.
std::string op(int n, const std::string& payload = R"({"name":"Ana"})") {
  return R"({"operationId":"op-)" + std::to_string(n) +
         R"(","entity":"customers","action":"insert","entityId":"6f1c2a3e-0000-4000-8000-000000000000",)"
         R"("clientTimestamp":"2026-11-25T07:59:58.120Z","payload":)" + payload + "}";
}

std::string batch_of(const std::vector<std::string>& ops) {
  std::string body = R"({"operations":[)";
  for (std::size_t i = 0; i < ops.size(); ++i) body += (i ? "," : "") + ops[i];
  return body + "]}";
}

std::string zeros(std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) out += i ? ",0" : "0";
  return out + "]";
}

TEST(Codec, AnUnknownTopLevelMemberIsABadRequestNamingIt) {
  EXPECT_EQ(message_of(R"({"operations":[],"junk":[0,0,0]})"),
            "unknown top-level member 'junk': the body holds only 'operations'");
  EXPECT_EQ(code_of(R"({"junk":1,"operations":[]})"), ErrorCode::bad_request);
  EXPECT_EQ(message_of("{\"" + std::string(1000, 'k') + "\":1}"),
            "unknown top-level member '" + std::string(64, 'k') + "...': the body holds only 'operations'")
      << "a long name is cut in the message";
}

TEST(Codec, AnUnknownTopLevelMemberIsRefusedBeforeItsValueIsRead) {
  // The junk value is not even valid JSON: the decoder stopped at its name.
  EXPECT_EQ(message_of(R"({"operations":[],"junk":[0,0,0,0 and never a closing bracket)"),
            "unknown top-level member 'junk': the body holds only 'operations'");
}

TEST(Codec, BusinessIdInTheEnvelopeIsAcceptedAndIgnored) {
  auto r = decode_batch(R"({"businessId":"evil","operations":[)" + op(1) + R"(],"business_id":{"x":[1]}})", {});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->operations.size(), 1u);
  EXPECT_EQ(r->operations[0].operation_id, "op-1");
}

TEST(Codec, OperationsTwiceIsABadRequest) {
  EXPECT_EQ(message_of(R"({"operations":[],"operations":[]})"), "the body holds 'operations' twice");
}

TEST(Codec, AnOperationWithMoreThan1024ValuesIsABadRequestNamingIt) {
  // 7 values of the operation, the notes array and its zeros.
  EXPECT_TRUE(decode_batch(batch_of({op(0), op(1, R"({"notes":)" + zeros(1016) + "}")}), {}));
  EXPECT_EQ(message_of(batch_of({op(0), op(1, R"({"notes":)" + zeros(1017) + "}")})),
            "operations[1] has more than 1024 values");
}

TEST(Codec, AStringLongerThan64KiBIsABadRequestNamingTheOperation) {
  std::string at_cap(64 << 10, 'n');
  EXPECT_TRUE(decode_batch(batch_of({op(0, R"({"notes":")" + at_cap + "\"}")}), {}))
      << "validation, not the decoder, refuses notes this long";
  EXPECT_EQ(message_of(batch_of({op(0), op(1), op(2), op(3, R"({"notes":")" + at_cap + "n\"}")})),
            "a string in operations[3] is longer than 65536 bytes");
  EXPECT_EQ(message_of(R"({"businessId":")" + at_cap + "n\"}"),
            "a string in the document is longer than 65536 bytes");
}

TEST(Codec, TheWholeBodyHoldsAtMost64ValuesPerAllowedOperationPlusTheEnvelope) {
  BatchLimits limits;
  limits.max_operations = 2;  // 2 * 64 + 1024 = 1152 values
  // The root object, the operations array, the businessId array and its zeros.
  EXPECT_TRUE(decode_batch(R"({"operations":[],"businessId":)" + zeros(1149) + "}", limits));
  EXPECT_EQ(message_of(R"({"operations":[],"businessId":)" + zeros(1150) + "}", limits),
            "the document holds more than 1152 values");
  EXPECT_EQ(message_of(zeros(2000), limits), "the document holds more than 1152 values")
      << "a body that is not an object is bounded too";
}

TEST(Codec, TheOperationCountIsCheckedAsOperationsArrive) {
  // The third operation is one too many; what follows it is never read (it is not JSON).
  auto r = decode_batch(R"({"operations":[)" + op(1) + "," + op(2) + "," + op(3) + ", garbage", BatchLimits{2, 64});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::batch_too_large);
  EXPECT_EQ(r.error().message, "a batch holds at most 2 operations; this one has more");
}

TEST(Codec, DeepNestingInsideAnOperationIsStillLimitedTo64Levels) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  // The envelope, the operations array, the operation and the payload: 4 levels.
  EXPECT_TRUE(decode_batch(batch_of({op(0, R"({"notes":)" + nested(60) + "}")}), {}));
  EXPECT_EQ(message_of(batch_of({op(0, R"({"notes":)" + nested(61) + "}")})), "JSON nests deeper than 64 levels");
}

TEST(Codec, AFullBatchOfTheLargestValidOperationsDecodes) {
  // 500 operations with every text field at its longest in 4-byte characters.
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "\xF0\x9F\x98\x80";
  std::string payload = R"({"name":"Ana","address":")" + text + R"(","notes":")" + text +
                        R"(","id":"x","business_id":"x","businessId":"x","created_at":"x","updated_at":"x",)"
                        R"("sync_status":"x","sync_attempts":1,"credit_limit":"150.50"})";
  std::vector<std::string> ops;
  for (int i = 0; i < 500; ++i) ops.push_back(op(i, payload));
  auto r = decode_batch(batch_of(ops), {});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->operations.size(), 500u);
  EXPECT_EQ(r->operations[499].operation_id, "op-499");
  EXPECT_EQ(r->operations[499].body.find("payload")->find("notes")->text, text);
}

}  // namespace
}  // namespace avsync

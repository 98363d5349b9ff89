#include "core/json.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

TEST(Json, NumbersKeepTheirTextSoDecimalsStayExact) {
  auto v = parse_json(R"({"a": 150.10, "b": 1e400, "c": -0.000001, "d": 12345678901234567890})");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->find("a")->text, "150.10");
  EXPECT_EQ(v->find("b")->text, "1e400");
  EXPECT_EQ(v->find("c")->text, "-0.000001");
  EXPECT_EQ(v->find("d")->text, "12345678901234567890");
}

TEST(Json, SixtyFourLevelsAreAcceptedAndDeeperIsABadRequest) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parse_json(nested(64)));
  auto deep = parse_json(nested(65));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, ErrorCode::bad_request);
  EXPECT_FALSE(parse_json(nested(100000)));
}

TEST(Json, InvalidUtf8AndGarbageAreBadRequests) {
  for (std::string bad : {std::string("{\"a\": \"\xff\xfe\"}"), std::string("{"),
                          std::string("{} {}"), std::string("\x00\x01", 2), std::string("")}) {
    auto v = parse_json(bad);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, ErrorCode::bad_request);
  }
}

TEST(Json, EscapesRoundTripAndRepeatedKeysTakeTheLast) {
  auto v = parse_json(R"({"k": "a\u0000b\n\"", "k": "second"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("k")->text, "second");
  EXPECT_EQ(v->members[0].second.text, std::string("a\0b\n\"", 5));
  EXPECT_EQ(to_json(*v), R"({"k":"a\u0000b\n\"","k":"second"})");
}

TEST(Json, StreamingHandsOverEachElementOfTheChosenArrayOnly) {
  std::vector<std::string> seen;
  auto v = parse_json_streaming(R"({"other":[1,2],"changes":[{"a":[1]},"x",3],"after":true})", "changes",
                                [&](JsonValue&& element) -> Status {
                                  seen.push_back(to_json(element));
                                  return Ok{};
                                });
  ASSERT_TRUE(v);
  EXPECT_EQ(seen, (std::vector<std::string>{R"({"a":[1]})", R"("x")", "3"}));
  EXPECT_TRUE(v->find("changes")->items.empty());
  EXPECT_EQ(v->find("other")->items.size(), 2u) << "other arrays stay in the tree";
  EXPECT_TRUE(v->find("after")->boolean);
}

TEST(Json, AnErrorFromTheElementHandlerStopsTheParse) {
  int calls = 0;
  auto v = parse_json_streaming(R"({"changes":[1,2,3]})", "changes", [&](JsonValue&&) -> Status {
    if (++calls == 2) return Error{ErrorCode::conflict, "stop here"};
    return Ok{};
  });
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "stop here");
  EXPECT_EQ(calls, 2);
}

JsonLimits string_cap(std::size_t bytes) {
  JsonLimits limits;
  limits.max_string_bytes = bytes;
  return limits;
}

std::string error_of(const Result<JsonValue>& r) {
  EXPECT_FALSE(r);
  if (r) return "(parsed)";
  EXPECT_EQ(r.error().code, ErrorCode::bad_request) << r.error().message;
  return r.error().message;
}

TEST(Json, WithoutCapsALargeDocumentParses) {
  std::string big = "[" + std::string(64 << 10, '7') + ",\"" + std::string(1 << 20, 's') + "\"";
  for (int i = 0; i < 100000; ++i) big += ",0";
  big += "]";
  auto v = parse_json(big);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->items.size(), 100002u);
}

TEST(Json, StringsMemberNamesAndNumbersLongerThanTheCapAreBadRequests) {
  std::string at_cap(16, 'a');
  EXPECT_TRUE(parse_json("[\"" + at_cap + "\"]", string_cap(16)));
  EXPECT_EQ(error_of(parse_json("[\"" + at_cap + "b\"]", string_cap(16))),
            "a string in the document is longer than 16 bytes");
  EXPECT_EQ(error_of(parse_json("{\"" + at_cap + "b\": 1}", string_cap(16))),
            "a member name in the document is longer than 16 bytes");
  EXPECT_EQ(error_of(parse_json("[1" + std::string(16, '0') + "]", string_cap(16))),
            "a number in the document is longer than 16 bytes");
}

TEST(Json, TheStringCapCountsBytesAfterUnescaping) {
  std::string escaped;
  for (int i = 0; i < 16; ++i) escaped += "\\u00e9";  // 96 bytes of text, 32 bytes of UTF-8
  EXPECT_TRUE(parse_json("[\"" + escaped + "\"]", string_cap(32)));
  EXPECT_FALSE(parse_json("[\"" + escaped + "\"]", string_cap(31)));
}

TEST(Json, MoreValuesThanTheDocumentCapIsABadRequestContainersIncluded) {
  JsonLimits limits;
  limits.max_values = 4;
  EXPECT_TRUE(parse_json("[1,[],{}]", limits)) << "the array, 1, [] and {}";
  EXPECT_EQ(error_of(parse_json("[1,[],{\"a\":null}]", limits)), "the document holds more than 4 values");
  EXPECT_EQ(error_of(parse_json("[[[[[]]]]]", limits)), "the document holds more than 4 values");
}

TEST(Json, ACapStopsTheParseAtTheFirstValuePastIt) {
  JsonLimits limits;
  limits.max_values = 3;
  // Invalid JSON after the fourth value: the cap answers first, so nothing past it was read.
  EXPECT_EQ(error_of(parse_json("[1,2,3, garbage", limits)), "the document holds more than 3 values");
  EXPECT_EQ(error_of(parse_json("[\"" + std::string(20, 'x') + " unterminated", string_cap(8))),
            "a string in the document is longer than 8 bytes");
}

TEST(Json, TheElementCapAppliesToEachStreamedElementAndNamesIt) {
  JsonLimits limits;
  limits.max_element_values = 3;
  int seen = 0;
  auto count = [&](JsonValue&&) -> Status {
    ++seen;
    return Ok{};
  };
  auto ok = parse_json_streaming(R"({"other":[1,2,3,4,5],"changes":[[1,2],{"a":{}},7]})", "changes", count, limits);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(seen, 3) << "each element has at most 3 values; the other array is not an element";
  seen = 0;
  EXPECT_EQ(error_of(parse_json_streaming(R"({"changes":[[1,2],[1,2,3]]})", "changes", count, limits)),
            "changes[1] has more than 3 values");
  EXPECT_EQ(seen, 1);
  limits.max_string_bytes = 4;
  EXPECT_EQ(error_of(parse_json_streaming(R"({"c":[1,{"a":"12345"}]})", "c", count, limits)),
            "a string in c[1] is longer than 4 bytes");
}

TEST(Json, TopLevelMemberNamesAreHandedOverBeforeTheirValuesAreParsed) {
  std::vector<std::string> names;
  JsonStream stream;
  stream.key = "changes";
  stream.on_element = [](JsonValue&&) -> Status { return Ok{}; };
  stream.on_top_level_key = [&](std::string_view name) -> Status {
    names.emplace_back(name);
    if (name == "junk") return Error{ErrorCode::bad_request, "no junk"};
    return Ok{};
  };
  auto ok = parse_json_streaming(R"({"a":{"nested":1},"changes":[{"inner":2}],"b":[{"c":3}]})", stream);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(names, (std::vector<std::string>{"a", "changes", "b"})) << "nested names are not top-level";
  // The value after "junk" is not even valid JSON: the parse stopped at its name.
  EXPECT_EQ(error_of(parse_json_streaming(R"({"changes":[],"junk":[0,0,0 this is never read)", stream)),
            "no junk");
}

TEST(Json, ATopLevelArrayIsNeverStreamed) {
  int seen = 0;
  auto v = parse_json_streaming(R"([{"changes":[1,2]}])", "changes", [&](JsonValue&&) -> Status {
    ++seen;
    return Ok{};
  });
  ASSERT_TRUE(v);
  EXPECT_EQ(seen, 0);
  EXPECT_EQ(v->items.at(0).find("changes")->items.size(), 2u);
}

}  // namespace
}  // namespace avsync

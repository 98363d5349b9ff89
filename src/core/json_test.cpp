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

}  // namespace
}  // namespace avsync

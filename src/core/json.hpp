#pragma once
// A small JSON document model that keeps each number's original text, so decimals are
// read exactly (PROTOCOL.md §1: never binary floating point). Parsing is Boost.JSON's
// validating parser (UTF-8 checked, depth limited); only the tree is ours.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace avsync {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // a string's contents, or a number's text as sent ("150.50", "1e3")
  std::vector<JsonValue> items;                              // array elements
  struct Member;                                             // {first: name, second: value}
  std::vector<Member> members;                              // object members, in order

  bool is_null() const { return kind == Kind::null; }
  bool is_string() const { return kind == Kind::string; }
  bool is_object() const { return kind == Kind::object; }
  bool is_array() const { return kind == Kind::array; }
  // The member named `key` (the last one if repeated), or nullptr.
  const JsonValue* find(std::string_view key) const;
};

// A named member of an object. Its own struct rather than std::pair: a pair of a type that
// is still incomplete trips clang's constexpr destructors (the fuzz build uses clang).
struct JsonValue::Member {
  Member(std::string name, JsonValue v) : first(std::move(name)), second(std::move(v)) {}
  std::string first;
  JsonValue second;
};

struct JsonLimits {
  int max_depth = 64;  // PROTOCOL.md §1: at least 64 levels must be accepted
};

// Parses one JSON document. Invalid JSON, invalid UTF-8 or nesting past the limit is a
// bad_request Error whose message says which.
Result<JsonValue> parse_json(std::string_view text, JsonLimits limits = {});

// Parses like parse_json, but each element of the array held by the top-level object's
// member `streamed_key` goes to `on_element` as soon as it is complete and is not kept:
// memory stays one element deep however long the array (a page of 10,000 changes). The
// returned document holds that member as an empty array. An error from `on_element`
// stops the parse and is returned as is.
Result<JsonValue> parse_json_streaming(std::string_view text, std::string_view streamed_key,
                                       const std::function<Status(JsonValue&&)>& on_element,
                                       JsonLimits limits = {});
// Compact JSON text for a value (numbers written as their original text).
std::string to_json(const JsonValue& value);

}  // namespace avsync

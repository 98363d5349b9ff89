#pragma once
// A small JSON document model that keeps each number's original text, so decimals are
// read exactly (docs/protocol.md §1: never binary floating point). Parsing is Boost.JSON's
// validating parser (UTF-8 checked, depth limited); only the tree is ours, and JsonLimits
// bounds what it may grow to.

#include <cstddef>
#include <functional>
#include <limits>
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

// Caps checked while the parser runs, so a hostile document is refused at the first value
// past a cap instead of after it was built: with every cap set, the tree a parse builds is
// at most `max_values` values plus strings no longer than the text itself. Each cap is
// kJsonUnlimited unless the caller sets it (the client SDK reads its own server's pages,
// which may be large, without caps).
inline constexpr std::size_t kJsonUnlimited = std::numeric_limits<std::size_t>::max();

struct JsonLimits {
  int max_depth = 64;  // docs/protocol.md §1: at least 64 levels must be accepted
  // Any one string, member name or number text, in bytes (after unescaping).
  std::size_t max_string_bytes = kJsonUnlimited;
  // Values in the whole document, containers included, streamed elements included.
  std::size_t max_values = kJsonUnlimited;
  // Values in one element of the streamed array (parse_json_streaming), the element
  // itself included.
  std::size_t max_element_values = kJsonUnlimited;
};

// Parses one JSON document. Invalid JSON, invalid UTF-8, nesting past the limit or a value
// past one of the other caps is a bad_request Error whose message says which (for
// example "a string in the document is longer than 65536 bytes").
Result<JsonValue> parse_json(std::string_view text, JsonLimits limits = {});

// What parse_json_streaming hands over while it parses.
struct JsonStream {
  // The top-level object's member whose array elements are streamed.
  std::string_view key;
  // Receives each element of that array as soon as it is complete; the element is not
  // kept in the tree. An error stops the parse and is returned as is.
  std::function<Status(JsonValue&&)> on_element;
  // Optional: receives the name of each member of the top-level object as soon as the
  // name is parsed, before its value is; an error stops the parse there and is returned
  // as is (an unknown member then costs nothing however large its value).
  std::function<Status(std::string_view)> on_top_level_key;
};

// Parses like parse_json, but streams as `stream` says: memory stays one element deep
// however long the array (a page of 10,000 changes). The returned document holds the
// streamed member as an empty array. Cap errors inside an element name it by key and
// index ("operations[3] has more than 1024 values").
Result<JsonValue> parse_json_streaming(std::string_view text, const JsonStream& stream,
                                       JsonLimits limits = {});
// The same with only a key and an element handler.
Result<JsonValue> parse_json_streaming(std::string_view text, std::string_view streamed_key,
                                       const std::function<Status(JsonValue&&)>& on_element,
                                       JsonLimits limits = {});

// Receives a document's parts in order as parse_json_events reads them, with no tree built:
// for a reader that knows the document's shape and keeps only what it needs. Texts are
// whole (escapes resolved) and valid only during the call. An Error stops the parse, which
// returns it as is.
class JsonEvents {
 public:
  virtual ~JsonEvents() = default;
  virtual Status begin_object() = 0;
  virtual Status end_object() = 0;
  virtual Status begin_array() = 0;
  virtual Status end_array() = 0;
  virtual Status key(std::string_view name) = 0;
  virtual Status string(std::string_view text) = 0;
  virtual Status number(std::string_view text) = 0;  // as sent ("150.50", "1e3")
  virtual Status boolean(bool value) = 0;
  virtual Status null() = 0;
};

// Parses one JSON document into `events`. Invalid JSON, invalid UTF-8 or nesting deeper than
// `max_depth` is a bad_request Error, as parse_json says; no other cap applies.
Status parse_json_events(std::string_view text, JsonEvents& events, int max_depth = 64);

// Compact JSON text for a value (numbers written as their original text).
std::string to_json(const JsonValue& value);

}  // namespace avsync

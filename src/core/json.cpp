#include "core/json.hpp"

#include <functional>
#include <optional>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace avsync {
namespace {

using boost::json::error_code;
using sv = boost::json::string_view;

// SAX handler for boost::json::basic_parser that builds a JsonValue tree. Every cap of
// JsonLimits is checked here, as the parser reaches the value that breaks it: returning
// false stops the parser at once, and `error` says why.
class TreeBuilder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  TreeBuilder(const JsonLimits& limits, const JsonStream* stream) : limits_(limits), stream_(stream) {}

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return open(JsonValue::Kind::array); }
  bool on_array_end(std::size_t, error_code&) { return close(); }
  bool on_object_begin(error_code&) { return open(JsonValue::Kind::object); }
  bool on_object_end(std::size_t, error_code&) { return close(); }
  bool on_string_part(sv s, std::size_t, error_code&) { return append(s, "a string"); }
  bool on_string(sv s, std::size_t, error_code&) {
    if (!append(s, "a string") || !count_value()) return false;
    JsonValue v;
    v.kind = JsonValue::Kind::string;
    v.text = std::move(partial_);
    partial_.clear();
    return add(std::move(v));
  }
  bool on_key_part(sv s, std::size_t, error_code&) { return append(s, "a member name"); }
  bool on_key(sv s, std::size_t, error_code&) {
    if (!append(s, "a member name")) return false;
    if (open_.size() == 1 && keys_.empty() && stream_ && stream_->on_top_level_key) {
      Status allowed = stream_->on_top_level_key(partial_);
      if (!allowed) return fail(std::move(allowed).error());
    }
    keys_.push_back(std::move(partial_));
    partial_.clear();
    return true;
  }
  bool on_number_part(sv s, error_code&) { return append(s, "a number"); }
  bool on_int64(std::int64_t, sv s, error_code&) { return number(s); }
  bool on_uint64(std::uint64_t, sv s, error_code&) { return number(s); }
  bool on_double(double, sv s, error_code&) { return number(s); }
  bool on_bool(bool b, error_code&) {
    if (!count_value()) return false;
    JsonValue v;
    v.kind = JsonValue::Kind::boolean;
    v.boolean = b;
    return add(std::move(v));
  }
  bool on_null(error_code&) { return count_value() && add(JsonValue{}); }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

  JsonValue take_result() { return std::move(result_); }

  // Why the handler stopped the parser, when it did.
  std::optional<Error> error;

 private:
  bool fail(Error e) {
    error = std::move(e);
    return false;  // stops the parser
  }
  bool fail(std::string message) { return fail(Error{ErrorCode::bad_request, std::move(message)}); }

  // Where the value being parsed sits, for messages: "operations[3]" inside a streamed
  // element, "the document" elsewhere.
  std::string where() const {
    if (!in_streamed_array()) return "the document";
    return std::string(stream_->key) + "[" + std::to_string(elements_) + "]";
  }
  bool in_streamed_array() const { return stream_level_ != 0 && open_.size() >= stream_level_; }

  bool append(sv s, const char* what) {
    if (s.size() > limits_.max_string_bytes - partial_.size())
      return fail(std::string(what) + " in " + where() + " is longer than " +
                  std::to_string(limits_.max_string_bytes) + " bytes");
    partial_.append(s.data(), s.size());
    return true;
  }

  // Counts one more value against max_values and, inside a streamed element, against
  // max_element_values. Called before the value is built.
  bool count_value() {
    if (++values_ > limits_.max_values)
      return fail("the document holds more than " + std::to_string(limits_.max_values) + " values");
    if (!in_streamed_array()) return true;
    if (open_.size() == stream_level_) element_values_ = 0;  // a new element begins
    if (++element_values_ > limits_.max_element_values)
      return fail(where() + " has more than " + std::to_string(limits_.max_element_values) + " values");
    return true;
  }

  bool number(sv s) {
    if (!append(s, "a number") || !count_value()) return false;
    JsonValue v;
    v.kind = JsonValue::Kind::number;
    v.text = std::move(partial_);
    partial_.clear();
    return add(std::move(v));
  }
  bool open(JsonValue::Kind kind) {
    if (!count_value()) return false;
    // The top-level object's streamed member: its elements go to on_element.
    bool streamed = stream_ && stream_->on_element && kind == JsonValue::Kind::array && open_.size() == 1 &&
                    open_.front().kind == JsonValue::Kind::object && keys_.size() == 1 &&
                    keys_.back() == stream_->key;
    JsonValue v;
    v.kind = kind;
    open_.push_back(std::move(v));
    if (streamed) stream_level_ = open_.size();
    return true;
  }
  bool close() {
    if (open_.size() == stream_level_) stream_level_ = 0;
    JsonValue v = std::move(open_.back());
    open_.pop_back();
    return add(std::move(v));
  }
  bool add(JsonValue v) {
    if (stream_level_ != 0 && open_.size() == stream_level_) {
      Status handled = stream_->on_element(std::move(v));
      ++elements_;
      if (!handled) return fail(std::move(handled).error());
      return true;
    }
    if (open_.empty()) {
      result_ = std::move(v);
    } else if (open_.back().kind == JsonValue::Kind::array) {
      open_.back().items.push_back(std::move(v));
    } else {
      open_.back().members.emplace_back(std::move(keys_.back()), std::move(v));
      keys_.pop_back();
    }
    return true;
  }

  const JsonLimits& limits_;
  const JsonStream* stream_;       // nullptr: nothing streams
  std::vector<JsonValue> open_;    // containers being filled, innermost last
  std::vector<std::string> keys_;  // pending member names, innermost last
  std::string partial_;            // string, key or number text split across parts
  JsonValue result_;
  std::size_t stream_level_ = 0;    // open_.size() while the streamed array is innermost; 0: not open
  std::size_t elements_ = 0;        // streamed elements completed so far
  std::size_t values_ = 0;          // values begun in the document
  std::size_t element_values_ = 0;  // values begun in the current streamed element
};

void write(const JsonValue& v, std::string& out) {
  switch (v.kind) {
    case JsonValue::Kind::null: out += "null"; return;
    case JsonValue::Kind::boolean: out += v.boolean ? "true" : "false"; return;
    case JsonValue::Kind::number: out += v.text; return;
    case JsonValue::Kind::string: out += boost::json::serialize(sv(v.text)); return;
    case JsonValue::Kind::array: {
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        write(v.items[i], out);
      }
      out += ']';
      return;
    }
    case JsonValue::Kind::object: {
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        out += boost::json::serialize(sv(v.members[i].first));
        out += ':';
        write(v.members[i].second, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (auto it = members.rbegin(); it != members.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

namespace {

// SAX handler for boost::json::basic_parser that hands each part to JsonEvents, joining the
// parts of a string, member name or number first.
class EventForwarder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit EventForwarder(JsonEvents& events) : events_(events) {}

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return forward(events_.begin_array()); }
  bool on_array_end(std::size_t, error_code&) { return forward(events_.end_array()); }
  bool on_object_begin(error_code&) { return forward(events_.begin_object()); }
  bool on_object_end(std::size_t, error_code&) { return forward(events_.end_object()); }
  bool on_string_part(sv s, std::size_t, error_code&) { return part(s); }
  bool on_string(sv s, std::size_t, error_code&) { return forward(events_.string(whole(s))); }
  bool on_key_part(sv s, std::size_t, error_code&) { return part(s); }
  bool on_key(sv s, std::size_t, error_code&) { return forward(events_.key(whole(s))); }
  bool on_number_part(sv s, error_code&) { return part(s); }
  bool on_int64(std::int64_t, sv s, error_code&) { return forward(events_.number(whole(s))); }
  bool on_uint64(std::uint64_t, sv s, error_code&) { return forward(events_.number(whole(s))); }
  bool on_double(double, sv s, error_code&) { return forward(events_.number(whole(s))); }
  bool on_bool(bool b, error_code&) { return forward(events_.boolean(b)); }
  bool on_null(error_code&) { return forward(events_.null()); }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

  // Why the handler stopped the parser, when it did.
  std::optional<Error> error;

 private:
  bool part(sv s) {
    partial_.append(s.data(), s.size());
    return true;
  }
  // The text of a string whose last part is `s`: `s` itself unless parts came before it.
  std::string_view whole(sv s) {
    if (partial_.empty()) return {s.data(), s.size()};
    partial_.append(s.data(), s.size());
    joined_.swap(partial_);
    partial_.clear();
    return joined_;
  }
  bool forward(Status status) {
    if (status) return true;
    error = std::move(status).error();
    return false;  // stops the parser
  }

  JsonEvents& events_;
  std::string partial_;  // the parts so far of the string, key or number being read
  std::string joined_;   // the last text joined from parts, valid during its event
};

// Runs `parser` over the whole of `text`: why its handler stopped it, or the JSON error
// (bad_request), or nothing when the document is whole and valid.
template <typename Handler>
std::optional<Error> parse_all(boost::json::basic_parser<Handler>& parser, std::string_view text,
                               int max_depth) {
  error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().error) return std::move(*parser.handler().error);
  if (!ec && consumed < text.size()) ec = boost::json::error::extra_data;
  if (!ec) return std::nullopt;
  return Error{ErrorCode::bad_request,
               ec == boost::json::error::too_deep
                   ? "JSON nests deeper than " + std::to_string(max_depth) + " levels"
                   : "body is not valid JSON: " + ec.message()};
}

Result<JsonValue> run_parser(std::string_view text, const JsonLimits& limits, const JsonStream* stream) {
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(limits.max_depth);
  boost::json::basic_parser<TreeBuilder> parser(options, limits, stream);
  if (auto error = parse_all(parser, text, limits.max_depth)) return std::move(*error);
  return parser.handler().take_result();
}

}  // namespace

Status parse_json_events(std::string_view text, JsonEvents& events, int max_depth) {
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(max_depth);
  boost::json::basic_parser<EventForwarder> parser(options, events);
  if (auto error = parse_all(parser, text, max_depth)) return std::move(*error);
  return Ok{};
}

Result<JsonValue> parse_json(std::string_view text, JsonLimits limits) {
  return run_parser(text, limits, nullptr);
}

Result<JsonValue> parse_json_streaming(std::string_view text, const JsonStream& stream, JsonLimits limits) {
  return run_parser(text, limits, &stream);
}

Result<JsonValue> parse_json_streaming(std::string_view text, std::string_view streamed_key,
                                       const std::function<Status(JsonValue&&)>& on_element,
                                       JsonLimits limits) {
  return parse_json_streaming(text, JsonStream{streamed_key, on_element, {}}, limits);
}

std::string to_json(const JsonValue& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace avsync

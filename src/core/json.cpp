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

// SAX handler for boost::json::basic_parser that builds a JsonValue tree.
class TreeBuilder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return open(JsonValue::Kind::array); }
  bool on_array_end(std::size_t, error_code&) { return close(); }
  bool on_object_begin(error_code&) { return open(JsonValue::Kind::object); }
  bool on_object_end(std::size_t, error_code&) { return close(); }
  bool on_string_part(sv s, std::size_t, error_code&) { return append(s); }
  bool on_string(sv s, std::size_t, error_code&) {
    append(s);
    JsonValue v;
    v.kind = JsonValue::Kind::string;
    v.text = std::move(partial_);
    partial_.clear();
    return add(std::move(v));
  }
  bool on_key_part(sv s, std::size_t, error_code&) { return append(s); }
  bool on_key(sv s, std::size_t, error_code&) {
    append(s);
    keys_.push_back(std::move(partial_));
    partial_.clear();
    return true;
  }
  bool on_number_part(sv s, error_code&) { return append(s); }
  bool on_int64(std::int64_t, sv s, error_code&) { return number(s); }
  bool on_uint64(std::uint64_t, sv s, error_code&) { return number(s); }
  bool on_double(double, sv s, error_code&) { return number(s); }
  bool on_bool(bool b, error_code&) {
    JsonValue v;
    v.kind = JsonValue::Kind::boolean;
    v.boolean = b;
    return add(std::move(v));
  }
  bool on_null(error_code&) { return add(JsonValue{}); }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

  JsonValue take_result() { return std::move(result_); }

  // Elements of the top-level object's array member `key` go to `on_element` as they
  // complete instead of into the tree.
  void stream(std::string_view key, const std::function<Status(JsonValue&&)>* on_element) {
    stream_key_ = key;
    on_element_ = on_element;
  }
  std::optional<Error> stream_error;

 private:
  bool append(sv s) {
    partial_.append(s.data(), s.size());
    return true;
  }
  bool number(sv s) {
    append(s);
    JsonValue v;
    v.kind = JsonValue::Kind::number;
    v.text = std::move(partial_);
    partial_.clear();
    return add(std::move(v));
  }
  bool open(JsonValue::Kind kind) {
    JsonValue v;
    v.kind = kind;
    open_.push_back(std::move(v));
    return true;
  }
  bool close() {
    JsonValue v = std::move(open_.back());
    open_.pop_back();
    return add(std::move(v));
  }
  bool add(JsonValue v) {
    if (on_element_ && open_.size() == 2 && open_.back().kind == JsonValue::Kind::array &&
        open_.front().kind == JsonValue::Kind::object && keys_.size() == 1 &&
        keys_.back() == stream_key_) {
      Status handled = (*on_element_)(std::move(v));
      if (!handled) stream_error = std::move(handled).error();
      return handled.has_value();  // false stops the parser
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

  std::vector<JsonValue> open_;    // containers being filled, innermost last
  std::vector<std::string> keys_;  // pending member names, innermost last
  std::string partial_;            // string, key or number text split across parts
  JsonValue result_;
  std::string_view stream_key_;
  const std::function<Status(JsonValue&&)>* on_element_ = nullptr;
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

Result<JsonValue> run_parser(std::string_view text, JsonLimits limits, std::string_view streamed_key,
                             const std::function<Status(JsonValue&&)>* on_element) {
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(limits.max_depth);
  boost::json::basic_parser<TreeBuilder> parser(options);
  parser.handler().stream(streamed_key, on_element);
  error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().stream_error) return std::move(*parser.handler().stream_error);
  if (!ec && consumed < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    std::string why = ec == boost::json::error::too_deep
                          ? "JSON nests deeper than " + std::to_string(limits.max_depth) + " levels"
                          : "body is not valid JSON: " + ec.message();
    return Error{ErrorCode::bad_request, std::move(why)};
  }
  return parser.handler().take_result();
}

}  // namespace

Result<JsonValue> parse_json(std::string_view text, JsonLimits limits) {
  return run_parser(text, limits, {}, nullptr);
}

Result<JsonValue> parse_json_streaming(std::string_view text, std::string_view streamed_key,
                                       const std::function<Status(JsonValue&&)>& on_element,
                                       JsonLimits limits) {
  return run_parser(text, limits, streamed_key, &on_element);
}

std::string to_json(const JsonValue& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace avsync

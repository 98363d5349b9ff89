#include "core/codec.hpp"

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstring>

#include "core/cursor.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"

namespace avsync {
namespace {

constexpr std::size_t kDefaultPageSize = 1000;
constexpr std::size_t kMaxPageSize = 10000;  // §4

constexpr std::size_t kMaxOperationIdLength = 128;

// Values a batch body may hold beyond its operations' share: the envelope object, the
// operations array and whatever the ignored businessId members hold.
constexpr std::size_t kEnvelopeValues = 1024;
// How much of a client's member name goes into an error message.
constexpr std::size_t kMaxEchoedNameBytes = 64;

Error bad_request(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

// The first kMaxEchoedNameBytes of `text` (valid UTF-8, cut at a character boundary), with
// "..." when cut: a member name can be 64 KiB long.
std::string printable_prefix(std::string_view text) {
  if (text.size() <= kMaxEchoedNameBytes) return std::string(text);
  std::size_t end = kMaxEchoedNameBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

}  // namespace

Result<BatchRequest> decode_batch(std::string_view body, const BatchLimits& limits) {
  BatchRequest out;
  bool has_operations = false;
  JsonStream stream;
  stream.key = "operations";
  stream.on_top_level_key = [&](std::string_view key) -> Status {
    if (key == "operations") {
      if (has_operations) return bad_request("the body holds 'operations' twice");
      has_operations = true;
      return Ok{};
    }
    if (key == "businessId" || key == "business_id") return Ok{};  // §2: ignored
    return bad_request("unknown top-level member '" + printable_prefix(key) +
                       "': the body holds only 'operations'");
  };
  stream.on_element = [&](JsonValue&& element) -> Status {
    if (out.operations.size() == limits.max_operations)
      return Error{ErrorCode::batch_too_large, "a batch holds at most " + std::to_string(limits.max_operations) +
                                                   " operations; this one has more"};
    std::string where = "operations[" + std::to_string(out.operations.size()) + "]";
    if (!element.is_object()) return bad_request(where + " must be an object");
    const JsonValue* id = element.find("operationId");
    if (!id || !id->is_string())
      return bad_request(where + ".operationId is required and must be a string");
    std::size_t length = count_code_points(id->text);
    if (length == 0 || length > kMaxOperationIdLength)
      return bad_request(where + ".operationId must be 1 to 128 characters");
    if (id->text.find('\0') != std::string::npos)
      return bad_request(where + ".operationId must not contain U+0000");
    std::string operation_id = id->text;
    out.operations.push_back(Operation{std::move(operation_id), std::move(element)});
    return Ok{};
  };
  JsonLimits json_limits;
  json_limits.max_depth = limits.max_depth;
  json_limits.max_string_bytes = limits.max_string_bytes;
  json_limits.max_element_values = limits.max_values_per_operation;
  json_limits.max_values = limits.max_operations * limits.average_values_per_operation + kEnvelopeValues;
  auto parsed = parse_json_streaming(body, stream, json_limits);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_object()) return bad_request("body must be a JSON object");
  const JsonValue* operations = parsed->find("operations");
  if (!operations || !operations->is_array()) return bad_request("body must have an 'operations' array");
  return out;
}

std::string encode_batch_response(const std::vector<OperationResult>& results,
                                  std::string_view cursor, UnixMillis server_time) {
  boost::json::array list;
  list.reserve(results.size());
  for (const OperationResult& r : results) {
    boost::json::object o;
    o["operationId"] = r.operation_id;
    o["success"] = !r.error.has_value();
    if (r.error) {
      o["error"] = to_wire(r.error->code);
      o["message"] = r.error->message;
    }
    o["serverTimestamp"] = format_timestamp(r.server_time);
    list.push_back(std::move(o));
  }
  boost::json::object root;
  root["results"] = std::move(list);
  root["cursor"] = cursor;
  root["serverTimestamp"] = format_timestamp(server_time);
  return boost::json::serialize(root);
}

namespace {

// True for the bytes a JSON string holds as they are. The text is valid UTF-8 (it was
// validated on the way in), so only quotes, backslashes and control characters need escaping.
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0; c < 256; ++c)
    plain[static_cast<std::size_t>(c)] = c >= 0x20 && c != '"' && c != '\\';
  return plain;
}();

// The most bytes write_json_string writes for `text`: every byte a \u00XX escape.
constexpr std::size_t json_string_bound(std::string_view text) { return text.size() * 6 + 2; }

// Writes `text` as a JSON string into memory the caller reserved (json_string_bound); returns
// the end.
char* write_json_string(char* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out++ = '"';
  const char* in = text.data();
  const char* const end = in + text.size();
  while (in != end) {
    const char* run = in;
    while (in != end && kPlainByte[static_cast<unsigned char>(*in)]) ++in;
    std::memcpy(out, run, static_cast<std::size_t>(in - run));
    out += in - run;
    if (in == end) break;
    const auto c = static_cast<unsigned char>(*in++);
    *out++ = '\\';
    switch (c) {
      case '"':
        *out++ = '"';
        break;
      case '\\':
        *out++ = '\\';
        break;
      case '\n':
        *out++ = 'n';
        break;
      case '\r':
        *out++ = 'r';
        break;
      case '\t':
        *out++ = 't';
        break;
      default:
        std::memcpy(out, "u00", 3);
        out[3] = kHex[c >> 4];
        out[4] = kHex[c & 0xf];
        out += 5;
    }
  }
  *out++ = '"';
  return out;
}

char* write_raw(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// Appends `text` as a JSON string.
void append_json_string(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + json_string_bound(text));
  out.resize(static_cast<std::size_t>(write_json_string(out.data() + at, text) - out.data()));
}

}  // namespace

// Pages can hold 10,000 rows: they are written straight into one buffer rather than
// built as a JSON tree first.
std::string encode_changes(const ChangePage& page, std::string_view cursor,
                           UnixMillis server_time) {
  std::string out;
  out.reserve(64 + page.changes.size() * 320);
  out.append("{\"changes\":[");
  for (std::size_t n = 0; n < page.changes.size(); ++n) {
    const RowChange& c = page.changes[n];
    if (n) out.push_back(',');
    out.append("{\"entity\":");
    append_json_string(out, c.entity->name);
    out.append(",\"entityId\":");
    append_json_string(out, c.entity_id);
    if (c.deleted) {
      out.append(",\"action\":\"delete\",\"data\":null");
    } else {
      out.append(",\"action\":\"upsert\",\"data\":{\"id\":");
      append_json_string(out, c.entity_id);
      for (std::size_t i = 0; i < c.values.size(); ++i) {
        out.push_back(',');
        append_json_string(out, c.entity->fields[i].name);
        out.push_back(':');
        if (c.values[i]) append_json_string(out, *c.values[i]);
        else out.append("null");
      }
      out.append(",\"created_at\":");
      append_json_string(out, c.created_at);
      out.append(",\"updated_at\":");
      append_json_string(out, c.updated_at);
      out.push_back('}');
    }
    out.append(",\"serverTimestamp\":");
    append_json_string(out, c.updated_at);
    out.push_back('}');
  }
  out.append("],\"cursor\":");
  append_json_string(out, cursor);
  out.append(page.has_more ? ",\"hasMore\":true" : ",\"hasMore\":false");
  out.append(",\"serverTimestamp\":");
  append_json_string(out, format_timestamp(server_time));
  out.push_back('}');
  return out;
}

namespace {

// What a change of the feed takes on average, with room to spare (a distribuciones upsert
// is about 430 bytes): a page is written into one buffer that rarely has to grow.
constexpr std::size_t kReservedBytesPerChange = 512;

// The constant text of an entity's changes, escaped once: what comes before the id, and each
// field's `,"name":`.
struct EntityFragments {
  std::string head;  // {"entity":"name","entityId":
  std::vector<std::string> field_keys;
  std::size_t fixed_bytes = 0;  // every fragment of an upsert, the row's own values aside
};

const EntityFragments& fragments_of(const EntitySpec& entity) {
  static const std::vector<EntityFragments> all = [] {
    std::vector<EntityFragments> out;
    for (const EntitySpec& e : all_entities()) {
      EntityFragments& f = out.emplace_back();
      f.head = "{\"entity\":";
      append_json_string(f.head, e.name);
      f.head += ",\"entityId\":";
      f.fixed_bytes = f.head.size() + 160;  // the action, data, created/updated and timestamp keys
      for (const FieldSpec& field : e.fields) {
        std::string& key = f.field_keys.emplace_back(",");
        append_json_string(key, field.name);
        key += ':';
        f.fixed_bytes += key.size() + 4;  // "null"
      }
    }
    return out;
  }();
  return all[entity_index(entity)];
}

}  // namespace

// The page's buffer is reserved at its first row: an empty page (a long-poll's) allocates
// nothing large.
ChangesEncoder::ChangesEncoder(std::size_t expected_rows)
    : expected_rows_(std::min(expected_rows, kMaxPageSize)) {
  static constexpr std::string_view kOpen = "{\"changes\":[";
  out_.resize(kOpen.size());
  size_ = static_cast<std::size_t>(write_raw(out_.data(), kOpen) - out_.data());
}

char* ChangesEncoder::make_room(std::size_t bytes) {
  if (size_ + bytes > out_.size()) {
    std::size_t target = std::max(size_ + bytes, out_.size() * 2);
    if (rows_ == 0) target = std::max(target, 64 + expected_rows_ * kReservedBytesPerChange);
    out_.resize(target);
  }
  return out_.data() + size_;
}

void ChangesEncoder::add(const ChangeView& c) {
  const EntityFragments& f = fragments_of(*c.entity);
  std::size_t bound = f.fixed_bytes + 2 * json_string_bound(c.entity_id) +
                      json_string_bound(c.created_at) + 2 * json_string_bound(c.updated_at);
  if (!c.deleted)
    for (const auto& value : c.values)
      if (value) bound += json_string_bound(*value);
  char* const start = make_room(bound);
  char* out = start;
  if (rows_++) *out++ = ',';
  out = write_raw(out, f.head);
  out = write_json_string(out, c.entity_id);
  if (c.deleted) {
    out = write_raw(out, ",\"action\":\"delete\",\"data\":null");
  } else {
    out = write_raw(out, ",\"action\":\"upsert\",\"data\":{\"id\":");
    out = write_json_string(out, c.entity_id);
    for (std::size_t i = 0; i < c.values.size(); ++i) {
      out = write_raw(out, f.field_keys[i]);
      out = c.values[i] ? write_json_string(out, *c.values[i]) : write_raw(out, "null");
    }
    out = write_raw(out, ",\"created_at\":");
    out = write_json_string(out, c.created_at);
    out = write_raw(out, ",\"updated_at\":");
    out = write_json_string(out, c.updated_at);
    *out++ = '}';
  }
  out = write_raw(out, ",\"serverTimestamp\":");
  out = write_json_string(out, c.updated_at);
  *out++ = '}';
  size_ += static_cast<std::size_t>(out - start);
}

std::string ChangesEncoder::finish(std::string_view cursor, bool has_more, UnixMillis server_time) {
  out_.resize(size_);
  out_.append("],\"cursor\":");
  append_json_string(out_, cursor);
  out_.append(has_more ? ",\"hasMore\":true" : ",\"hasMore\":false");
  out_.append(",\"serverTimestamp\":");
  char buf[kTimestampBufferSize];
  append_json_string(out_, format_timestamp(server_time, buf));
  out_.push_back('}');
  return std::move(out_);
}

std::string encode_error(ErrorCode code, std::string_view message) {
  boost::json::object error;
  error["code"] = to_wire(code);
  error["message"] = message;
  boost::json::object root;
  root["error"] = std::move(error);
  return boost::json::serialize(root);
}

namespace {

// Decodes %XX escapes. '+' stays '+': it is literal in a URI query (RFC 3986) and
// ISO offsets such as +02:00 must survive unencoded.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return Error{ErrorCode::bad_request, std::string(name) + ": bad percent-encoding"};
    return std::optional<std::string>(std::move(*value));
  }
  return std::optional<std::string>();
}

Result<ChangesRequest> decode_changes_query(std::string_view query) {
  ChangesRequest request;
  request.limit = kDefaultPageSize;
  auto limit = query_param(query, "limit");
  if (!limit) return std::move(limit).error();
  if (*limit) {
    const std::string& text = **limit;
    bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    std::size_t first_nonzero = text.find_first_not_of('0');
    if (!digits || first_nonzero == std::string::npos)
      return Error{ErrorCode::bad_request, "limit must be a positive integer"};
    std::string_view significant = std::string_view(text).substr(first_nonzero);
    request.limit = significant.size() > 5 ? kMaxPageSize
                                           : std::min<std::size_t>(std::stoul(std::string(significant)), kMaxPageSize);
  }
  auto wait = query_param(query, "wait");
  if (!wait) return std::move(wait).error();
  if (*wait) {
    const std::string& text = **wait;
    bool digits = !text.empty() && text.size() <= 3 &&
                  text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoul(text) > kMaxWaitSeconds)
      return Error{ErrorCode::bad_request, "wait must be a whole number of seconds from 0 to " +
                                               std::to_string(kMaxWaitSeconds)};
    request.wait_seconds = static_cast<unsigned>(std::stoul(text));
  }
  auto since = query_param(query, "since");
  if (!since) return std::move(since).error();
  if (!*since || (*since)->empty()) {
    request.since = ChangesRequest::Since::beginning;
  } else if (auto version = decode_cursor(**since)) {
    request.since = ChangesRequest::Since::cursor;
    request.after_version = *version;
  } else if (auto instant = parse_timestamp(**since)) {
    request.since = ChangesRequest::Since::instant;
    request.changed_since = format_timestamp(*instant);
  } else {
    return Error{ErrorCode::bad_request,
                 "since must be a cursor from a previous response or an ISO-8601 timestamp"};
  }
  return request;
}

}  // namespace avsync

#include "client/response_decoder.hpp"

#include "core/json.hpp"
#include "core/schema.hpp"

namespace avsync::client {
namespace {

Error bad_response(std::string message) {
  return Error{ErrorCode::bad_response, "unexpected server response: " + std::move(message)};
}

const std::string* string_of(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  return v && v->is_string() ? &v->text : nullptr;
}

}  // namespace

Result<BatchReply> decode_batch_results(std::string_view body,
                                        const std::vector<std::string>& expected_ids) {
  auto json = parse_json(body);
  if (!json) return bad_response(json.error().message);
  const JsonValue* results = json->is_object() ? json->find("results") : nullptr;
  if (!results || !results->is_array()) return bad_response("no results array");
  if (results->items.size() != expected_ids.size()) {
    return bad_response(std::to_string(results->items.size()) + " results for " +
                        std::to_string(expected_ids.size()) + " operations");
  }
  BatchReply out;
  if (const JsonValue* cursor = json->find("cursor")) {
    if (!cursor->is_string()) return bad_response("a batch cursor that is not a string");
    out.cursor = cursor->text;
  }
  out.results.reserve(expected_ids.size());
  for (std::size_t i = 0; i < expected_ids.size(); ++i) {
    const JsonValue& r = results->items[i];
    const std::string* id = r.is_object() ? string_of(r, "operationId") : nullptr;
    const JsonValue* success = r.is_object() ? r.find("success") : nullptr;
    if (!id || *id != expected_ids[i]) return bad_response("results out of order");
    if (!success || success->kind != JsonValue::Kind::boolean) return bad_response("result without success");
    BatchResult result{*id, std::nullopt};
    if (!success->boolean) {
      const std::string* code = string_of(r, "error");
      const std::string* message = string_of(r, "message");
      auto parsed = code ? error_code_from_wire(*code) : std::nullopt;
      // An error code from a newer server is kept retryable (internal) rather than lost.
      result.error = Error{parsed.value_or(ErrorCode::internal),
                           message ? *message : (code ? *code : std::string("operation failed"))};
    }
    out.results.push_back(std::move(result));
  }
  return out;
}

namespace {

Result<PulledChange> decode_change(const JsonValue& c) {
  if (!c.is_object()) return bad_response("a change is not an object");
  const std::string* entity_name = string_of(c, "entity");
  const std::string* id = string_of(c, "entityId");
  const std::string* action = string_of(c, "action");
  if (!entity_name || !id || !action) return bad_response("a change without entity, entityId or action");
  const EntitySpec* entity = find_entity(*entity_name);
  if (!entity) return bad_response("unknown entity " + *entity_name);
  PulledChange change{entity, *id, *action == "delete", {}, {}, {}};
  if (change.deleted) return change;
  if (*action != "upsert") return bad_response("unknown action " + *action);
  const JsonValue* data = c.find("data");
  if (!data || !data->is_object()) return bad_response("an upsert without data");
  change.values.reserve(entity->fields.size());
  for (const FieldSpec& f : entity->fields) {
    const JsonValue* v = data->find(f.name);
    if (!v || v->is_null()) {
      change.values.emplace_back(std::nullopt);
    } else if (v->is_string() || v->kind == JsonValue::Kind::number) {
      change.values.emplace_back(v->text);
    } else {
      return bad_response(std::string(entity->name) + "." + std::string(f.name) + " is not text");
    }
  }
  const std::string* created = string_of(*data, "created_at");
  const std::string* updated = string_of(*data, "updated_at");
  if (!created || !updated) return bad_response("a row without created_at or updated_at");
  change.created_at = *created;
  change.updated_at = *updated;
  return change;
}

}  // namespace

Result<ChangesPage> decode_changes_page(std::string_view body) {
  ChangesPage page;
  // Changes are decoded one by one as the parser completes them: a page never exists
  // as a whole JSON tree in memory.
  auto json = parse_json_streaming(body, "changes", [&](JsonValue&& element) -> Status {
    auto change = decode_change(element);
    if (!change) return std::move(change).error();
    page.changes.push_back(std::move(*change));
    return Ok{};
  });
  if (!json) {
    if (json.error().code == ErrorCode::bad_response) return std::move(json).error();
    return bad_response(json.error().message);
  }
  if (!json->is_object()) return bad_response("changes page is not an object");
  const JsonValue* changes = json->find("changes");
  const std::string* cursor = string_of(*json, "cursor");
  const JsonValue* has_more = json->find("hasMore");
  if (!changes || !changes->is_array() || !cursor || !has_more ||
      has_more->kind != JsonValue::Kind::boolean) {
    return bad_response("changes page without changes, cursor or hasMore");
  }
  page.cursor = *cursor;
  page.has_more = has_more->boolean;
  return page;
}

Error decode_error_reply(int http_status, std::string_view body) {
  std::optional<ErrorCode> code;
  std::string message;
  if (auto json = parse_json(body); json && json->is_object()) {
    if (const JsonValue* error = json->find("error"); error && error->is_object()) {
      if (const std::string* c = string_of(*error, "code")) code = error_code_from_wire(*c);
      if (const std::string* m = string_of(*error, "message")) message = *m;
    }
  }
  if (message.empty()) message = "HTTP " + std::to_string(http_status);
  // The status decides what kind of failure it is; the body only refines client errors.
  if (http_status == 401) return Error{ErrorCode::unauthenticated, message};
  if (http_status == 429) return Error{ErrorCode::rate_limited, message};
  if (http_status == 503) return Error{ErrorCode::unavailable, message};
  if (http_status >= 500) return Error{ErrorCode::server_error, message};
  if (http_status == 413) return Error{code.value_or(ErrorCode::payload_too_large), message};
  if (http_status >= 400) return Error{ErrorCode::bad_request, message};
  return Error{ErrorCode::bad_response, message};
}

}  // namespace avsync::client

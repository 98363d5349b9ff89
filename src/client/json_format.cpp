#include "client/json_format.hpp"

#include <charconv>

#include "core/error.hpp"
#include "core/json.hpp"

namespace avsync::client {
namespace {

JsonValue text(std::string_view s) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = s;
  return v;
}

JsonValue optional_text(const std::optional<std::string>& s) { return s ? text(*s) : JsonValue{}; }

JsonValue number(std::uint64_t n) {
  JsonValue v;
  v.kind = JsonValue::Kind::number;
  v.text = std::to_string(n);
  return v;
}

JsonValue boolean(bool b) {
  JsonValue v;
  v.kind = JsonValue::Kind::boolean;
  v.boolean = b;
  return v;
}

JsonValue object() {
  JsonValue v;
  v.kind = JsonValue::Kind::object;
  return v;
}

JsonValue error_value(const std::optional<Error>& error) {
  if (!error) return JsonValue{};
  JsonValue e = object();
  e.members.emplace_back("code", text(to_wire(error->code)));
  e.members.emplace_back("message", text(error->message));
  return e;
}

JsonValue row_value(const Row& row) {
  JsonValue v = object();
  v.members.emplace_back("entity", text(row.entity));
  v.members.emplace_back("id", text(row.id));
  for (const auto& [name, value] : row.fields) v.members.emplace_back(name, optional_text(value));
  v.members.emplace_back("created_at", text(row.created_at));
  v.members.emplace_back("updated_at", text(row.updated_at));
  v.members.emplace_back("syncState", text(to_string(row.sync_state)));
  return v;
}

Result<std::size_t> size_member(const JsonValue& object, std::string_view key, std::size_t fallback) {
  const JsonValue* v = object.find(key);
  if (!v) return fallback;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), n);
  if (v->kind != JsonValue::Kind::number || ec != std::errc() || end != v->text.data() + v->text.size()) {
    return validation_error(std::string(key) + ": must be a non-negative integer");
  }
  return n;
}

}  // namespace

std::string row_json(const Row& row) { return to_json(row_value(row)); }

std::string rows_json(const std::vector<Row>& rows) {
  JsonValue array;
  array.kind = JsonValue::Kind::array;
  for (const Row& row : rows) array.items.push_back(row_value(row));
  return to_json(array);
}

std::string status_json(const SyncStatus& s) {
  JsonValue v = object();
  v.members.emplace_back("state", text(to_string(s.state)));
  v.members.emplace_back("configured", boolean(s.configured));
  v.members.emplace_back("pending", number(s.pending));
  v.members.emplace_back("failed", number(s.failed));
  v.members.emplace_back("lastSyncAt", optional_text(s.last_sync_at));
  v.members.emplace_back("lastError", error_value(s.last_error));
  v.members.emplace_back("retryInMs", s.retry_in ? number(s.retry_in->count()) : JsonValue{});
  v.members.emplace_back("operationsPushed", number(s.operations_pushed));
  v.members.emplace_back("rowsPulled", number(s.rows_pulled));
  v.members.emplace_back("retries", number(s.retries));
  return to_json(v);
}

namespace {

JsonValue change_value(const ChangedRow& change) {
  JsonValue v = object();
  v.members.emplace_back("entity", text(change.entity));
  v.members.emplace_back("id", text(change.id));
  v.members.emplace_back("action", text(to_string(change.action)));
  return v;
}

}  // namespace

std::string change_json(const ChangedRow& change) { return to_json(change_value(change)); }

std::string changes_json(const std::vector<ChangedRow>& changes) {
  JsonValue array;
  array.kind = JsonValue::Kind::array;
  for (const ChangedRow& change : changes) array.items.push_back(change_value(change));
  return to_json(array);
}

std::string report_json(const SyncReport& r) {
  JsonValue v = object();
  v.members.emplace_back("pushed", number(r.pushed));
  v.members.emplace_back("rejected", number(r.rejected));
  v.members.emplace_back("pulled", number(r.pulled));
  v.members.emplace_back("pending", number(r.pending));
  return to_json(v);
}

std::string queue_json(const std::vector<QueuedOperation>& operations) {
  JsonValue array;
  array.kind = JsonValue::Kind::array;
  for (const QueuedOperation& op : operations) {
    JsonValue v = object();
    v.members.emplace_back("operationId", text(op.operation_id));
    v.members.emplace_back("entity", text(op.entity));
    v.members.emplace_back("action", text(op.action));
    v.members.emplace_back("entityId", text(op.entity_id));
    auto payload = parse_json(op.payload);
    v.members.emplace_back("payload", payload ? std::move(*payload) : object());
    v.members.emplace_back("clientTimestamp", text(op.client_timestamp));
    v.members.emplace_back("status", text(op.status == OperationStatus::failed ? "failed" : "pending"));
    v.members.emplace_back("attempts", number(static_cast<std::uint64_t>(op.attempts)));
    v.members.emplace_back("nextAttemptAt", optional_text(op.next_attempt_at));
    v.members.emplace_back("lastError", error_value(op.last_error));
    array.items.push_back(std::move(v));
  }
  return to_json(array);
}

std::string init_json(const std::optional<Error>& unchecked) {
  JsonValue v = object();
  v.members.emplace_back("configured", boolean(true));
  v.members.emplace_back("checked", boolean(!unchecked));
  v.members.emplace_back("checkError", error_value(unchecked));
  return to_json(v);
}

std::string error_json(const Error& error) {
  JsonValue v = object();
  v.members.emplace_back("error", error_value(error));
  return to_json(v);
}

Result<FieldValues> fields_from_json(std::string_view json) {
  auto parsed = parse_json(json);
  if (!parsed) return validation_error("fields: " + parsed.error().message);
  if (!parsed->is_object()) return validation_error("fields: must be a JSON object");
  FieldValues fields;
  for (const auto& [name, value] : parsed->members) {
    if (value.is_null()) {
      fields.emplace_back(name, std::nullopt);
    } else if (value.is_string() || value.kind == JsonValue::Kind::number) {
      fields.emplace_back(name, value.text);
    } else {
      return validation_error(name + ": must be a string, a number or null");
    }
  }
  return fields;
}

Result<ListQuery> list_query_from_json(std::string_view json) {
  ListQuery query;
  if (json.empty()) return query;
  auto parsed = parse_json(json);
  if (!parsed) return validation_error("query: " + parsed.error().message);
  if (!parsed->is_object()) return validation_error("query: must be a JSON object");
  if (const JsonValue* equals = parsed->find("equals")) {
    if (!equals->is_object()) return validation_error("equals: must be an object");
    for (const auto& [name, value] : equals->members) {
      if (!value.is_string() && value.kind != JsonValue::Kind::number) {
        return validation_error("equals." + name + ": must be a string or a number");
      }
      query.equals.emplace_back(name, value.text);
    }
  }
  auto limit = size_member(*parsed, "limit", query.limit);
  if (!limit) return std::move(limit).error();
  auto offset = size_member(*parsed, "offset", query.offset);
  if (!offset) return std::move(offset).error();
  query.limit = *limit;
  query.offset = *offset;
  return query;
}

}  // namespace avsync::client

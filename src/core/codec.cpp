#include "core/codec.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/ids.hpp"

namespace avsync {
namespace {

constexpr std::size_t kMaxOperationIdLength = 128;

Error bad_request(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

boost::json::value nullable(const std::optional<std::string>& v) {
  if (!v) return nullptr;
  return boost::json::string(*v);
}

}  // namespace

Result<BatchRequest> decode_batch(std::string_view body, const BatchLimits& limits) {
  auto parsed = parse_json(body, JsonLimits{limits.max_depth});
  if (!parsed) return std::move(parsed).error();
  JsonValue& root = *parsed;
  if (!root.is_object()) return bad_request("body must be a JSON object");
  JsonValue* operations = nullptr;
  for (auto it = root.members.rbegin(); it != root.members.rend(); ++it)
    if (it->first == "operations") {
      operations = &it->second;
      break;
    }
  if (!operations || !operations->is_array())
    return bad_request("body must have an 'operations' array");
  if (operations->items.size() > limits.max_operations)
    return Error{ErrorCode::batch_too_large,
                 "a batch holds at most " + std::to_string(limits.max_operations) +
                     " operations; this one has " + std::to_string(operations->items.size())};
  BatchRequest out;
  out.operations.reserve(operations->items.size());
  for (std::size_t i = 0; i < operations->items.size(); ++i) {
    JsonValue& element = operations->items[i];
    std::string where = "operations[" + std::to_string(i) + "]";
    if (!element.is_object()) return bad_request(where + " must be an object");
    const JsonValue* id = element.find("operationId");
    if (!id || !id->is_string())
      return bad_request(where + ".operationId is required and must be a string");
    std::size_t length = count_code_points(id->text);
    if (length == 0 || length > kMaxOperationIdLength)
      return bad_request(where + ".operationId must be 1 to 128 characters");
    std::string operation_id = id->text;
    out.operations.push_back(Operation{std::move(operation_id), std::move(element)});
  }
  return out;
}

std::string encode_batch_response(const std::vector<OperationResult>& results,
                                  UnixMillis server_time) {
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
  root["serverTimestamp"] = format_timestamp(server_time);
  return boost::json::serialize(root);
}

std::string encode_changes(const ChangePage& page, std::string_view cursor,
                           UnixMillis server_time) {
  boost::json::array changes;
  changes.reserve(page.changes.size());
  for (const RowChange& c : page.changes) {
    boost::json::object o;
    o["entity"] = c.entity->name;
    o["entityId"] = c.entity_id;
    o["action"] = c.deleted ? "delete" : "upsert";
    if (c.deleted) {
      o["data"] = nullptr;
    } else {
      boost::json::object data;
      data.reserve(c.values.size() + 3);
      data["id"] = c.entity_id;
      for (std::size_t i = 0; i < c.values.size(); ++i)
        data[c.entity->fields[i].name] = nullable(c.values[i]);
      data["created_at"] = c.created_at;
      data["updated_at"] = c.updated_at;
      o["data"] = std::move(data);
    }
    o["serverTimestamp"] = c.updated_at;
    changes.push_back(std::move(o));
  }
  boost::json::object root;
  root["changes"] = std::move(changes);
  root["cursor"] = cursor;
  root["hasMore"] = page.has_more;
  root["serverTimestamp"] = format_timestamp(server_time);
  return boost::json::serialize(root);
}

std::string encode_error(ErrorCode code, std::string_view message) {
  boost::json::object error;
  error["code"] = to_wire(code);
  error["message"] = message;
  boost::json::object root;
  root["error"] = std::move(error);
  return boost::json::serialize(root);
}

}  // namespace avsync

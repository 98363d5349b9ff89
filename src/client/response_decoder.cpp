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

// Reads a GET /sync/changes page as the parser goes (parse_json_events), straight into
// PulledChange values: a page of 10,000 changes never exists as a JSON tree. Members may
// come in any order, a repeated member counts by its last occurrence, and members the
// protocol does not name are skipped whatever their value.
class ChangesPageReader final : public JsonEvents {
 public:
  ChangesPage page;
  bool has_changes = false;   // the last `changes` member was an array
  bool has_cursor = false;    // ... `cursor` a string
  bool has_has_more = false;  // ... `hasMore` a boolean

  Status begin_object() override {
    if (skipping()) return skip_nested();
    ++depth_;
    switch (depth_) {
      case 1:
        return Ok{};
      case 3:
        if (in_changes_) return begin_change();
        break;
      case 4:
        if (change_key_ == ChangeKey::data) {
          data_is_object_ = true;
          data_size_ = 0;
          return Ok{};
        }
        break;
    }
    return skip_container();
  }
  Status end_object() override {
    if (skipping()) return end_skipped();
    --depth_;
    if (depth_ == 2) return end_change();
    return Ok{};
  }
  Status begin_array() override {
    if (skipping()) return skip_nested();
    ++depth_;
    if (depth_ == 1) return bad_response("changes page is not an object");
    if (depth_ == 2 && top_key_ == TopKey::changes) {
      in_changes_ = true;
      has_changes = true;
      return Ok{};
    }
    return skip_container();
  }
  Status end_array() override {
    if (skipping()) return end_skipped();
    --depth_;
    if (depth_ == 1) in_changes_ = false;
    return Ok{};
  }
  Status key(std::string_view name) override {
    if (skipping()) return Ok{};
    if (depth_ == 1) {
      top_key_ = name == "changes"   ? TopKey::changes
                 : name == "cursor"  ? TopKey::cursor
                 : name == "hasMore" ? TopKey::has_more
                                     : TopKey::other;
    } else if (depth_ == 3) {
      change_key_ = name == "entity"     ? ChangeKey::entity
                    : name == "entityId" ? ChangeKey::entity_id
                    : name == "action"   ? ChangeKey::action
                    : name == "data"     ? ChangeKey::data
                                         : ChangeKey::other;
    } else if (depth_ == 4) {
      DataMember& member = next_data_member();
      member.key.assign(name);
      member.kind = DataMember::Kind::other;
    }
    return Ok{};
  }
  Status string(std::string_view text) override { return scalar(&text, true); }
  Status number(std::string_view text) override { return scalar(&text, false); }
  Status boolean(bool value) override {
    if (!skipping() && depth_ == 1 && top_key_ == TopKey::has_more) {
      page.has_more = value;
      has_has_more = true;
      return Ok{};
    }
    return scalar(nullptr, false);
  }
  Status null() override {
    if (!skipping() && depth_ == 4) {
      data_[data_size_ - 1].kind = DataMember::Kind::null;
      return Ok{};
    }
    return scalar(nullptr, false);
  }

 private:
  enum class TopKey { other, changes, cursor, has_more };
  enum class ChangeKey { other, entity, entity_id, action, data };
  struct DataMember {
    enum class Kind { other, null, string, number } kind = Kind::other;
    std::string key;
    std::string text;
  };

  bool skipping() const { return skip_ > 0; }
  // A container this reader does not read: skipped to its end. Where a text was expected,
  // it stands for no value.
  Status skip_container() {
    --depth_;
    if (depth_ == 1) set_top_absent();
    if (depth_ == 2 && in_changes_) return bad_response("a change is not an object");
    if (depth_ == 3) set_change_absent();
    skip_ = 1;
    return Ok{};
  }
  Status skip_nested() {
    ++skip_;
    return Ok{};
  }
  Status end_skipped() {
    --skip_;
    return Ok{};
  }
  void set_top_absent() {
    if (top_key_ == TopKey::changes) has_changes = false;
    if (top_key_ == TopKey::cursor) has_cursor = false;
    if (top_key_ == TopKey::has_more) has_has_more = false;
  }
  void set_change_absent() {
    switch (change_key_) {
      case ChangeKey::entity:
        has_entity_ = false;
        break;
      case ChangeKey::entity_id:
        has_id_ = false;
        break;
      case ChangeKey::action:
        has_action_ = false;
        break;
      case ChangeKey::data:
        data_is_object_ = false;
        break;
      case ChangeKey::other:
        break;
    }
  }

  // A string (`text`, is_string), a number (`text`) or a boolean or null (no text).
  Status scalar(const std::string_view* text, bool is_string) {
    if (skipping()) return Ok{};
    switch (depth_) {
      case 0:
        return bad_response("changes page is not an object");
      case 1:
        set_top_absent();
        if (top_key_ == TopKey::cursor && is_string) {
          page.cursor.assign(*text);
          has_cursor = true;
        }
        return Ok{};
      case 2:
        if (in_changes_) return bad_response("a change is not an object");
        return Ok{};
      case 3:
        set_change_absent();
        if (!is_string) return Ok{};
        switch (change_key_) {
          case ChangeKey::entity:
            entity_.assign(*text), has_entity_ = true;
            break;
          case ChangeKey::entity_id:
            id_.assign(*text), has_id_ = true;
            break;
          case ChangeKey::action:
            action_.assign(*text), has_action_ = true;
            break;
          case ChangeKey::data:
          case ChangeKey::other:
            break;
        }
        return Ok{};
      case 4:
        if (text) {
          DataMember& member = data_[data_size_ - 1];
          member.kind = is_string ? DataMember::Kind::string : DataMember::Kind::number;
          member.text.assign(*text);
        }
        return Ok{};
    }
    return Ok{};
  }

  Status begin_change() {
    has_entity_ = has_id_ = has_action_ = data_is_object_ = false;
    data_size_ = 0;
    return Ok{};
  }

  DataMember& next_data_member() {
    if (data_size_ == data_.size()) data_.emplace_back();
    return data_[data_size_++];
  }
  // The last member named `name`, or nullptr.
  const DataMember* data_member(std::string_view name) const {
    for (std::size_t i = data_size_; i-- > 0;)
      if (data_[i].key == name) return &data_[i];
    return nullptr;
  }

  Status end_change() {
    if (!has_entity_ || !has_id_ || !has_action_)
      return bad_response("a change without entity, entityId or action");
    const EntitySpec* entity = find_entity(entity_);
    if (!entity) return bad_response("unknown entity " + entity_);
    PulledChange change{entity, id_, action_ == "delete", {}, {}, {}};
    if (!change.deleted) {
      if (action_ != "upsert") return bad_response("unknown action " + action_);
      if (!data_is_object_) return bad_response("an upsert without data");
      change.values.reserve(entity->fields.size());
      for (const FieldSpec& f : entity->fields) {
        const DataMember* v = data_member(f.name);
        if (!v || v->kind == DataMember::Kind::null)
          change.values.emplace_back(std::nullopt);
        else if (v->kind == DataMember::Kind::string || v->kind == DataMember::Kind::number)
          change.values.emplace_back(v->text);
        else
          return bad_response(std::string(entity->name) + "." + std::string(f.name) +
                              " is not text");
      }
      const DataMember* created = data_member("created_at");
      const DataMember* updated = data_member("updated_at");
      if (!created || !updated || created->kind != DataMember::Kind::string ||
          updated->kind != DataMember::Kind::string)
        return bad_response("a row without created_at or updated_at");
      change.created_at = created->text;
      change.updated_at = updated->text;
    }
    page.changes.push_back(std::move(change));
    return Ok{};
  }

  int depth_ = 0;  // containers open, the page object included
  int skip_ = 0;   // containers open inside a skipped value
  bool in_changes_ = false;
  TopKey top_key_ = TopKey::other;
  ChangeKey change_key_ = ChangeKey::other;
  // The change being read; buffers are reused from change to change.
  std::string entity_, id_, action_;
  bool has_entity_ = false, has_id_ = false, has_action_ = false, data_is_object_ = false;
  std::vector<DataMember> data_;
  std::size_t data_size_ = 0;           // data_ members of this change
};

}  // namespace

Result<ChangesPage> decode_changes_page(std::string_view body) {
  ChangesPageReader reader;
  if (Status parsed = parse_json_events(body, reader); !parsed) {
    if (parsed.error().code == ErrorCode::bad_response) return std::move(parsed).error();
    return bad_response(parsed.error().message);
  }
  if (!reader.has_changes || !reader.has_cursor || !reader.has_has_more)
    return bad_response("changes page without changes, cursor or hasMore");
  return std::move(reader.page);
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

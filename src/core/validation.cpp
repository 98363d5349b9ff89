#include "core/validation.hpp"

#include "core/decimal.hpp"
#include "core/ids.hpp"

namespace avsync {
namespace {

std::string describe_choices(const FieldSpec& f) {
  std::string out;
  for (std::size_t i = 0; i < f.choices.size(); ++i) {
    if (i) out += i + 1 == f.choices.size() ? " or " : ", ";
    out += "'" + std::string(f.choices[i]) + "'";
  }
  return out;
}

std::string_view bound_text(Bound b) {
  switch (b) {
    case Bound::non_negative: return " >= 0";
    case Bound::positive: return " > 0";
    case Bound::none: break;
  }
  return "";
}

// Normalises one non-null value. The error message is the part after "entity.field: ".
Result<std::string> normalize_value(const FieldSpec& f, const JsonValue& v) {
  switch (f.type) {
    case FieldType::text: {
      if (!v.is_string()) return validation_error("must be text");
      if (v.text.find('\0') != std::string::npos)
        return validation_error("must not contain U+0000");
      std::size_t n = count_code_points(v.text);
      if (n < f.min_length) return validation_error("must not be empty");
      if (f.max_length && n > f.max_length)
        return validation_error("must be at most " + std::to_string(f.max_length) +
                                " characters");
      return v.text;
    }
    case FieldType::money:
    case FieldType::quantity: {
      std::string expected = "must be a decimal" + std::string(bound_text(f.bound));
      if (v.kind != JsonValue::Kind::number && !v.is_string()) return validation_error(expected);
      auto d = Decimal::parse(v.text, f.type == FieldType::money ? kMoney : kQuantity);
      if (!d) {
        if (d.error().message == "must be a decimal number") return validation_error(expected);
        return validation_error(d.error().message);
      }
      if ((f.bound == Bound::non_negative && d->sign() < 0) ||
          (f.bound == Bound::positive && d->sign() <= 0))
        return validation_error(expected);
      return d->to_string();
    }
    case FieldType::timestamp: {
      if (!v.is_string()) return validation_error("must be an ISO-8601 timestamp");
      auto t = parse_timestamp(v.text);
      if (!t) return t.error();
      return format_timestamp(*t);
    }
    case FieldType::reference: {
      auto id = v.is_string() ? normalize_uuid(v.text) : std::nullopt;
      if (!id) return validation_error("must be a UUID");
      return *id;
    }
    case FieldType::choice: {
      if (v.is_string())
        for (std::string_view c : f.choices)
          if (c == v.text) return v.text;
      return validation_error("must be one of " + describe_choices(f));
    }
  }
  return validation_error("unsupported field");
}

Status fill_defaults(const EntitySpec& entity, const std::string& client_time,
                     std::vector<FieldAssignment>& out) {
  std::vector<bool> present(entity.fields.size(), false);
  for (const auto& a : out) present[a.field] = true;
  for (std::size_t i = 0; i < entity.fields.size(); ++i) {
    const FieldSpec& f = entity.fields[i];
    if (present[i]) continue;
    if (f.required)
      return validation_error(std::string(entity.name) + "." + std::string(f.name) +
                              ": is required");
    std::optional<std::string> value;
    switch (f.default_value) {
      case DefaultValue::none: break;
      case DefaultValue::constant: value = std::string(f.default_text); break;
      case DefaultValue::client_timestamp: value = client_time; break;
      case DefaultValue::quantity_times_unit_price: {
        // Both operands are required, so present and already canonical here.
        auto find = [&](std::string_view name) -> const std::optional<std::string>& {
          std::size_t idx = entity.field_index(name);
          for (const auto& a : out)
            if (a.field == idx) return a.value;
          static const std::optional<std::string> kNone;
          return kNone;
        };
        const auto& q = find("quantity");
        const auto& p = find("unit_price");
        if (!q || !p) break;
        auto product = Decimal::parse(*q, kQuantity)->multiply(*Decimal::parse(*p, kMoney), kMoney);
        if (!product)
          return validation_error(std::string(entity.name) + "." + std::string(f.name) + ": " +
                                  product.error().message);
        value = product->to_string();
        break;
      }
    }
    out.push_back({i, std::move(value), false});
  }
  return Ok{};
}

}  // namespace

std::string_view string_member(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  return v && v->is_string() ? std::string_view(v->text) : std::string_view();
}

Result<ValidOperation> validate_operation(const JsonValue& op) {
  const JsonValue* entity_value = op.find("entity");
  if (!entity_value || !entity_value->is_string())
    return validation_error("entity: is required and must be a string");
  const EntitySpec* entity = find_entity(entity_value->text);
  if (!entity) return validation_error("entity: unknown entity '" + entity_value->text + "'");

  std::string_view action_text = string_member(op, "action");
  Action action;
  if (action_text == "insert") action = Action::insert;
  else if (action_text == "update") action = Action::update;
  else if (action_text == "delete") action = Action::remove;
  else return validation_error("action: must be 'insert', 'update' or 'delete'");

  const JsonValue* id_value = op.find("entityId");
  auto entity_id = id_value && id_value->is_string() ? normalize_uuid(id_value->text) : std::nullopt;
  if (!entity_id) return validation_error("entityId: must be a UUID");

  const JsonValue* ts_value = op.find("clientTimestamp");
  if (!ts_value || !ts_value->is_string())
    return validation_error("clientTimestamp: is required (ISO-8601 timestamp)");
  auto client_time = parse_timestamp(ts_value->text);
  if (!client_time) return validation_error("clientTimestamp: " + client_time.error().message);

  ValidOperation out{entity, action, std::move(*entity_id), *client_time, {}};
  if (action == Action::remove) return out;  // the payload is ignored (§3)

  const JsonValue* payload = op.find("payload");
  if (!payload || !payload->is_object()) return validation_error("payload: must be an object");

  auto field_error = [&](std::string_view field, const std::string& message) {
    return validation_error(std::string(entity->name) + "." + std::string(field) + ": " + message);
  };
  std::vector<bool> seen(entity->fields.size(), false);
  for (const auto& [name, value] : payload->members) {
    if (is_server_managed_field(name)) continue;  // §3.5: ignored, never an error
    std::size_t idx = entity->field_index(name);
    if (idx == EntitySpec::npos) return field_error(name, "unknown field");
    const FieldSpec& f = entity->fields[idx];
    std::optional<std::string> normalized;
    if (value.is_null()) {
      if (f.required) return field_error(name, "must not be null");
    } else {
      auto v = normalize_value(f, value);
      if (!v) return field_error(name, v.error().message);
      normalized = std::move(*v);
    }
    if (seen[idx]) {  // a repeated key: the last one wins, as in the JSON object model
      for (auto& a : out.assignments)
        if (a.field == idx) a.value = std::move(normalized);
      continue;
    }
    seen[idx] = true;
    out.assignments.push_back({idx, std::move(normalized), true});
  }
  if (action == Action::update) {
    if (out.assignments.empty()) return validation_error("payload: an update must change a field");
    return out;
  }
  if (auto filled = fill_defaults(*entity, format_timestamp(*client_time), out.assignments); !filled)
    return filled.error();
  return out;
}

std::string loggable_payload(const JsonValue& op) {
  const JsonValue* payload = op.find("payload");
  if (!payload) return "{}";
  if (!payload->is_object()) return to_json(*payload);
  JsonValue copy;
  copy.kind = JsonValue::Kind::object;
  for (const auto& member : payload->members)
    if (!is_server_managed_field(member.first)) copy.members.push_back(member);
  return to_json(copy);
}

}  // namespace avsync

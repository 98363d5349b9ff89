#include "core/validation.hpp"

#include <algorithm>

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

bool fits_numeric(std::string_view text) {
  // The limits of PostgreSQL's numeric: a weight of at most 32767 base-10000 digits before
  // the point, a display scale of at most 16383 digits after it; an exponent beyond
  // ±(INT_MAX / 2) is refused before either is looked at.
  constexpr std::int64_t kMaxIntegerDigits = 131072, kMaxScale = 16383, kMaxExponent = 1073741823;
  std::size_t pos = 0;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) ++pos;
  std::int64_t integer_digits = 0, fraction_digits = 0;
  std::int64_t first_nonzero = -1;  // index of the first non-zero digit among all digits
  std::int64_t digits = 0;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits, ++integer_digits)
    if (first_nonzero < 0 && text[pos] != '0') first_nonzero = digits;
  if (pos < text.size() && text[pos] == '.')
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits, ++fraction_digits)
      if (first_nonzero < 0 && text[pos] != '0') first_nonzero = digits;
  std::int64_t exponent = 0;
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool negative = false;
    if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) negative = text[pos++] == '-';
    if (pos == text.size()) return false;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      exponent = exponent * 10 + (text[pos] - '0');
      if (exponent >= kMaxExponent) return false;
    }
    if (negative) exponent = -exponent;
  }
  if (pos != text.size() || digits == 0) return false;
  if (std::max<std::int64_t>(0, fraction_digits - exponent) > kMaxScale) return false;
  if (first_nonzero < 0) return true;  // zero: no digits before the point
  // Digits before the point once the exponent is applied, counted from the first non-zero.
  return integer_digits - first_nonzero + exponent <= kMaxIntegerDigits;
}

bool numbers_fit_numeric(const JsonValue& value) {
  switch (value.kind) {
    case JsonValue::Kind::number: return fits_numeric(value.text);
    case JsonValue::Kind::array:
      return std::all_of(value.items.begin(), value.items.end(), numbers_fit_numeric);
    case JsonValue::Kind::object:
      return std::all_of(value.members.begin(), value.members.end(),
                         [](const JsonValue::Member& m) { return numbers_fit_numeric(m.second); });
    default: return true;
  }
}

std::string cut_text(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  std::size_t end = max_bytes - kEllipsis.size();
  // Back up over continuation bytes (10xxxxxx) so no code point is cut in two.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  std::string out(text.substr(0, end));
  out += kEllipsis;
  return out;
}

std::string bounded_payload(std::string_view payload_json, bool numbers_fit, std::size_t max_bytes) {
  if (numbers_fit && payload_json.size() <= max_bytes) return std::string(payload_json);
  // Escaping can lengthen the text: cut the source until the escaped object fits. Each
  // byte removed shortens the result by at least one, so this ends in a few rounds.
  std::size_t budget = max_bytes;
  for (;;) {
    JsonValue text;
    text.kind = JsonValue::Kind::string;
    text.text = cut_text(payload_json, budget);
    JsonValue wrapper;
    wrapper.kind = JsonValue::Kind::object;
    wrapper.members.emplace_back("payloadText", std::move(text));
    std::string out = to_json(wrapper);
    if (out.size() <= max_bytes || budget <= 3) return out;
    budget -= std::min(budget - 3, out.size() - max_bytes);
  }
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

  // What the log keeps of the payload must be storable whatever the action (§3.3).
  if (const JsonValue* sent = op.find("payload")) {
    bool fits = true;
    if (sent->is_object()) {
      for (const auto& [name, value] : sent->members)
        if (!is_server_managed_field(name) && !numbers_fit_numeric(value)) {
          return validation_error("payload." + name + ": a number out of range (at most 131072 digits"
                                  " before the decimal point and 16383 after it)");
        }
    } else {
      fits = numbers_fit_numeric(*sent);
    }
    if (!fits)
      return validation_error("payload: a number out of range (at most 131072 digits before the"
                              " decimal point and 16383 after it)");
  }

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

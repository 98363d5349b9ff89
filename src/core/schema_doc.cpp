#include "core/schema_doc.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/decimal.hpp"
#include "core/schema.hpp"

namespace avsync {
namespace {

// "sales.customer_id" for each field of another entity that names `entity`'s rows.
std::vector<std::string> referenced_by(const EntitySpec& entity) {
  std::vector<std::string> out;
  for (const Reference& r : references_to(entity))
    out.push_back(std::string(r.from->name) + "." + std::string(r.from->fields[r.field].name));
  return out;
}

std::string joined(const auto& items, std::string_view separator, std::string_view quote = "") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += std::string(quote) + std::string(item) + std::string(quote);
  }
  return out;
}

DecimalKind decimal_kind(const FieldSpec& field) {
  return field.type == FieldType::money ? kMoney : kQuantity;
}

bool is_decimal(const FieldSpec& field) {
  return field.type == FieldType::money || field.type == FieldType::quantity;
}

// ---- JSON -------------------------------------------------------------------------------

std::string_view type_name(FieldType type) {
  switch (type) {
    case FieldType::text: return "text";
    case FieldType::money: return "money";
    case FieldType::quantity: return "quantity";
    case FieldType::timestamp: return "timestamp";
    case FieldType::reference: return "reference";
    case FieldType::choice: return "choice";
  }
  return "";
}

std::string_view bound_name(Bound bound) {
  switch (bound) {
    case Bound::none: return "";
    case Bound::non_negative: return "nonNegative";
    case Bound::positive: return "positive";
  }
  return "";
}

std::string_view default_kind(DefaultValue value) {
  switch (value) {
    case DefaultValue::none: return "";
    case DefaultValue::constant: return "constant";
    case DefaultValue::client_timestamp: return "clientTimestamp";
    case DefaultValue::quantity_times_unit_price: return "quantityTimesUnitPrice";
  }
  return "";
}

boost::json::array string_array(const auto& items) {
  boost::json::array out;
  for (const auto& item : items) out.emplace_back(std::string_view(item));
  return out;
}

boost::json::object field_json(const FieldSpec& field) {
  boost::json::object out;
  out["name"] = field.name;
  out["type"] = type_name(field.type);
  out["required"] = field.required;
  out["nullable"] = !field.required;
  if (field.type == FieldType::text) {
    out["minLength"] = field.min_length;
    out["maxLength"] = field.max_length;
  }
  if (is_decimal(field)) {
    out["integerDigits"] = decimal_kind(field).integer_digits;
    out["fractionDigits"] = decimal_kind(field).fraction_digits;
    if (field.bound != Bound::none) out["bound"] = bound_name(field.bound);
  }
  if (field.type == FieldType::choice) out["choices"] = string_array(field.choices);
  if (field.type == FieldType::reference) out["references"] = field.references;
  if (field.default_value != DefaultValue::none) {
    boost::json::object default_json;
    default_json["kind"] = default_kind(field.default_value);
    if (field.default_value == DefaultValue::constant) default_json["value"] = field.default_text;
    out["default"] = std::move(default_json);
  }
  return out;
}

boost::json::object entity_json(const EntitySpec& entity) {
  boost::json::object out;
  out["name"] = entity.name;
  out["aliases"] = string_array(entity.aliases);
  boost::json::array fields;
  for (const FieldSpec& field : entity.fields) fields.push_back(field_json(field));
  out["fields"] = std::move(fields);
  boost::json::array referenced;
  for (const Reference& r : references_to(entity)) {
    boost::json::object from;
    from["entity"] = r.from->name;
    from["field"] = r.from->fields[r.field].name;
    referenced.push_back(std::move(from));
  }
  out["referencedBy"] = std::move(referenced);
  return out;
}

// ---- Text and Markdown ----------------------------------------------------------------------

constexpr std::string_view kRequiredMeaning =
    "A required field must be in every insert and is never null; an optional one may be left\n"
    "out (an insert then stores its default, else null) or set to null.";

std::string required_word(const FieldSpec& field) {
  return field.required ? "required" : "optional";
}

// A table cell: a '|' would end it.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// The JSON shape as TypeScript types, for docs/schema.md (schema_doc.hpp says the same).
// Its `version: N;` line is written from kSchemaJsonVersion (json_shape()).
constexpr std::string_view kJsonShape = R"(```ts
type Schema = {
  version: VERSION;
  entities: Entity[];             // referenced entities before those referencing them
  serverManagedFields: string[];  // a payload may carry them; the server ignores them
};
type Entity = {
  name: string;                   // the wire name, also the table name
  aliases: string[];              // other names the wire accepts for it
  fields: Field[];
  referencedBy: { entity: string; field: string }[];  // a row they name cannot be deleted
};
type Field = {
  name: string;
  type: "text" | "money" | "quantity" | "timestamp" | "reference" | "choice";
  required: boolean;              // an insert must carry it
  nullable: boolean;              // null is accepted: exactly when not required
  minLength?: number;             // text, in Unicode code points
  maxLength?: number;
  integerDigits?: number;         // money and quantity: digits before the point
  fractionDigits?: number;        // and after it; more is an error, never rounded
  bound?: "nonNegative" | "positive";  // money and quantity; absent: any sign
  choices?: string[];             // choice
  references?: string;            // reference: the entity whose live row it names
  default?:                       // what an insert without the field stores; absent: null
    | { kind: "constant"; value: string }  // canonical text, e.g. "0.00"
    | { kind: "clientTimestamp" }          // the operation's clientTimestamp
    | { kind: "quantityTimesUnitPrice" };  // rounded half away from zero to fractionDigits
};
```
)";

std::string json_shape() {
  std::string shape(kJsonShape);
  constexpr std::string_view kPlaceholder = "VERSION";
  shape.replace(shape.find(kPlaceholder), kPlaceholder.size(), std::to_string(kSchemaJsonVersion));
  return shape;
}

}  // namespace

std::string field_value_name(const FieldSpec& field) {
  switch (field.type) {
    case FieldType::text: return "TEXT";
    case FieldType::money:
    case FieldType::quantity: return "DECIMAL";
    case FieldType::timestamp: return "TIMESTAMP";
    case FieldType::reference: return "ID";
    case FieldType::choice: return joined(field.choices, "|");
  }
  return "VALUE";
}

std::string field_rules(const FieldSpec& field) {
  std::string out;
  switch (field.type) {
    case FieldType::text:
      out = field.min_length > 0
                ? "text, " + std::to_string(field.min_length) + " to " +
                      std::to_string(field.max_length) + " characters"
                : "text, at most " + std::to_string(field.max_length) + " characters";
      break;
    case FieldType::money:
    case FieldType::quantity: {
      const DecimalKind kind = decimal_kind(field);
      out = std::string(type_name(field.type)) + ", a decimal of at most " +
            std::to_string(kind.integer_digits) + " digits before the point and " +
            std::to_string(kind.fraction_digits) + " after";
      if (field.bound == Bound::non_negative) out += ", 0 or more";
      if (field.bound == Bound::positive) out += ", more than 0";
      break;
    }
    case FieldType::timestamp:
      out = "timestamp, ISO-8601 with an offset (2024-05-01T10:00:00Z)";
      break;
    case FieldType::reference: {
      // The target as the CLI spells entity words (sale_items is sale-items).
      std::string target(field.references);
      std::replace(target.begin(), target.end(), '_', '-');
      out = "the id of a " + target + " row";
      break;
    }
    case FieldType::choice:
      out = "one of " + field_value_name(field);
      break;
  }
  switch (field.default_value) {
    case DefaultValue::none: break;
    case DefaultValue::constant: out += "; default " + std::string(field.default_text); break;
    case DefaultValue::client_timestamp: out += "; default: the time of the change"; break;
    case DefaultValue::quantity_times_unit_price: out += "; default: quantity × unit_price"; break;
  }
  return out;
}

std::string render_schema_text() {
  std::size_t width = 0;
  for (const EntitySpec& entity : all_entities())
    for (const FieldSpec& field : entity.fields)
      width = std::max(width, field.name.size() + 1 + field_value_name(field).size());

  std::string out = "The entities of docs/protocol.md §5, field by field.\n" +
                    std::string(kRequiredMeaning) + "\n";
  for (const EntitySpec& entity : all_entities()) {
    out += "\n" + std::string(entity.name);
    if (const auto aliases = entity.aliases; !aliases.empty())
      out += " (also: " + joined(aliases, ", ") + ")";
    out += "\n";
    for (const FieldSpec& field : entity.fields) {
      std::string name = std::string(field.name) + " " + field_value_name(field);
      name.resize(width, ' ');
      out += "  " + name + "  " + required_word(field) + "; " + field_rules(field) + "\n";
    }
    if (const auto from = referenced_by(entity); !from.empty())
      out += "  referenced by " + joined(from, ", ") + "\n";
  }
  out += "\nServer-managed fields, which a payload may carry and the server ignores:\n  " +
         joined(server_managed_fields(), ", ") + "\n";
  return out;
}

std::string render_schema_json() {
  boost::json::object root;
  root["version"] = kSchemaJsonVersion;
  boost::json::array entities;
  for (const EntitySpec& entity : all_entities()) entities.push_back(entity_json(entity));
  root["entities"] = std::move(entities);
  root["serverManagedFields"] = string_array(server_managed_fields());
  return boost::json::serialize(root) + "\n";
}

std::string render_schema_markdown() {
  std::string out =
      "# The entity schema\n\n"
      "Generated from the entity registry (`src/core/schema.cpp`) by\n"
      "`avsync-server schema --markdown > docs/schema.md`: change the registry and run that\n"
      "command again rather than editing this file. `avsync-server schema` prints the same as\n"
      "text, and `avsync-server schema --json` as JSON for code generators ([its "
      "shape](#the-json-shape)).\n\n"
      "These are the entities of [protocol.md](protocol.md) §5, each after those it references.\n" +
      std::string(kRequiredMeaning) + "\n";
  for (const EntitySpec& entity : all_entities()) {
    out += "\n## " + std::string(entity.name) + "\n\n";
    if (const auto aliases = entity.aliases; !aliases.empty())
      out += "Also accepted as " + joined(aliases, ", ", "`") + ".\n\n";
    out += "| field | value | required | rules |\n| --- | --- | --- | --- |\n";
    for (const FieldSpec& field : entity.fields)
      out += "| `" + std::string(field.name) + "` | " + cell(field_value_name(field)) + " | " +
             (field.required ? "yes" : "no") + " | " + cell(field_rules(field)) + " |\n";
    if (const auto from = referenced_by(entity); !from.empty())
      out += "\nReferenced by " + joined(from, ", ", "`") +
             ": a row still referenced by live rows cannot be deleted.\n";
  }
  out +=
      "\n## Server-managed fields\n\n"
      "A payload may carry " +
      joined(server_managed_fields(), ", ", "`") +
      "; the server ignores them.\n"
      "\n## The JSON shape\n\n"
      "`avsync-server schema --json` prints one object, compact, whose `version` is " +
      std::to_string(kSchemaJsonVersion) +
      ".\nThe version changes when a member is removed, renamed or changes meaning, or gains a\n"
      "value a consumer must handle (a new `type`, `bound` or default `kind`). New members may\n"
      "appear without a change: ignore those you do not know.\n\n" +
      json_shape();
  return out;
}

}  // namespace avsync

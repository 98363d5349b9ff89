#pragma once
// The entity registry (schema.hpp) rendered for people and for code generators: as text
// (`avsync-server schema`), as JSON (`schema --json`) and as Markdown (`schema --markdown`,
// which is docs/schema.md). A field's rules are worded once, by field_rules, for every
// rendering and for the CLI's help. Pure functions of the registry: no I/O,
// thread-safe.

#include <string>

namespace avsync {

struct FieldSpec;

// The version of the JSON shape below, its "version" member. History:
//   1: the first shape.
// It changes when a member is removed or renamed, changes meaning, or gains a value a
// consumer must handle (a new "type", "bound" or default "kind"). New members may appear
// without a change: consumers ignore members they do not know.
inline constexpr int kSchemaJsonVersion = 1;

// A placeholder for the field's value in usage lines: TEXT, DECIMAL (money and quantity),
// TIMESTAMP, ID (a reference) or the choices joined by '|' ("cash|credit").
std::string field_value_name(const FieldSpec& field);

// The field's type and rules as the validator applies them (validation.hpp), then its
// default: "money, a decimal of at most 12 digits before the point and 2 after, 0 or more;
// default 0.00". Says nothing of required or null; callers add that.
std::string field_rules(const FieldSpec& field);

// Entity by entity (its aliases beside its name): one line per field (name, value name,
// required or optional, rules), then the fields of other entities that reference it; last,
// the server-managed fields. Ends with a newline.
std::string render_schema_text();

// The registry as one JSON object, for generating clients (a TypeScript client's types and
// validation). Members in this order; "?" marks one present only for the types named;
// values after ':' are examples:
//
//   {"version": 1,                    kSchemaJsonVersion
//    "entities": [                    in dependency order: referenced before referencing
//      {"name": "abonos",             the wire name, also the table name
//       "aliases": ["payments"],      other names the wire accepts for it; may be empty
//       "fields": [                   in the registry's order
//         {"name": "amount",
//          "type": "money",           text|money|quantity|timestamp|reference|choice
//          "required": true,          an insert must carry it
//          "nullable": false,         null is accepted (exactly when not required)
//          "minLength"?: 1,           text: bounds in Unicode code points
//          "maxLength"?: 200,
//          "integerDigits"?: 12,      money, quantity: at most this many digits before the
//          "fractionDigits"?: 2,      point and after it; more is an error, never rounded
//          "bound"?: "positive",      money, quantity: "nonNegative" (>= 0) or "positive"
//                                     (> 0); absent: any sign
//          "choices"?: ["cash"],      choice: the accepted strings
//          "references"?: "sales",    reference: the entity whose live row (same tenant)
//                                     the value names
//          "default"?: {...}},        what an insert without the field stores (absent: null):
//                                     {"kind": "constant", "value": "0.00"} (canonical text),
//                                     {"kind": "clientTimestamp"} (the operation's
//                                     clientTimestamp) or {"kind": "quantityTimesUnitPrice"}
//                                     (rounded half away from zero to fractionDigits)
//         ...],
//       "referencedBy": [             the fields of other entities that name its rows (a row
//         {"entity": "...",           live rows still name cannot be deleted); may be empty
//          "field": "..."}]},
//      ...],
//    "serverManagedFields": ["id", ...]}   names a payload may carry and the server ignores
//
// Compact, ends with a newline. docs/schema.md restates the shape as TypeScript types.
std::string render_schema_json();

// docs/schema.md: a line saying it is generated and by which command, then a table per
// entity and the JSON shape. Ends with a newline.
std::string render_schema_markdown();

}  // namespace avsync

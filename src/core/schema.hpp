#pragma once
// The entity registry: the v1 schema of docs/protocol.md §5 described as data. One validator
// (validation.hpp), the stores' SQL and the change feed are all driven by it. Adding an
// entity is one entry in schema.cpp plus a migration per store.

#include <cstddef>
#include <span>
#include <string_view>

#include "core/decimal.hpp"

namespace avsync {

enum class FieldType {
  text,       // UTF-8 text, length in code points
  money,      // Decimal, kMoney
  quantity,   // Decimal, kQuantity
  timestamp,  // ISO-8601, stored canonical UTC
  reference,  // UUID of a live row of another entity in the same tenant
  choice,     // one of a fixed set of strings
};

enum class Bound { none, non_negative, positive };  // for money and quantity

enum class DefaultValue {
  none,              // null when absent
  constant,          // FieldSpec::default_text
  client_timestamp,  // the operation's clientTimestamp
  quantity_times_unit_price,
};

struct FieldSpec {
  std::string_view name;
  FieldType type;
  bool required = false;  // insert must carry it; it can never be null
  std::size_t min_length = 0;
  std::size_t max_length = 0;                   // text: code points
  Bound bound = Bound::none;
  std::span<const std::string_view> choices;   // choice
  std::string_view references;                  // reference: target entity name
  DefaultValue default_value = DefaultValue::none;
  std::string_view default_text;                // DefaultValue::constant, canonical form
};

struct EntitySpec {
  std::string_view name;  // also the table name
  std::span<const FieldSpec> fields;
  std::span<const std::string_view> aliases;  // other names the wire accepts for it

  // Index of the field named `name` in `fields`, or npos.
  std::size_t field_index(std::string_view name) const;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

// A field of `from` that points at another entity's rows.
struct Reference {
  const EntitySpec* from;
  std::size_t field;
};

// All entities, in dependency order (referenced before referencing).
std::span<const EntitySpec> all_entities();
// Position of `entity` in all_entities(), for per-entity tables.
std::size_t entity_index(const EntitySpec& entity);
// By wire name or alias (`payments` for `abonos`); nullptr when unknown.
const EntitySpec* find_entity(std::string_view name);
// Fields of other entities that reference `target` (for delete's reference check).
std::span<const Reference> references_to(const EntitySpec& target);

// Fields the server manages and never takes from a payload (docs/protocol.md §3.5), both
// spellings of the tenant included.
std::span<const std::string_view> server_managed_fields();
bool is_server_managed_field(std::string_view name);

}  // namespace avsync

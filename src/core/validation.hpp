#pragma once
// One validator for every entity, driven by the registry (schema.hpp). It checks what can
// be checked without the database; foreign-key existence is the sync service's job.

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/schema.hpp"
#include "core/timestamp.hpp"

namespace avsync {

enum class Action { insert, update, remove };

// One field's new value in canonical text (decimals at their scale, UUIDs lower-case,
// timestamps UTC with milliseconds), or nullopt for null.
struct FieldAssignment {
  std::size_t field;  // index into EntitySpec::fields
  std::optional<std::string> value;
  bool from_payload;  // false for defaults filled in on insert
};

struct ValidOperation {
  const EntitySpec* entity;
  Action action;
  std::string entity_id;     // canonical UUID
  UnixMillis client_time;    // the parsed clientTimestamp, not yet clamped
  // insert: every field the payload carries plus defaults for the rest (absent optional
  // fields without a default are null); update: only the fields the payload carries;
  // remove: empty.
  std::vector<FieldAssignment> assignments;
};

// Validates one element of `operations` (already known to be an object with a valid
// operationId). Every failure is a validation_error whose message names the field:
// "sales.total: must be a decimal >= 0".
Result<ValidOperation> validate_operation(const JsonValue& operation);

// The operation's payload without the server-managed fields, as JSON text, for the log.
std::string loggable_payload(const JsonValue& operation);

// A member's text when it is a JSON string, else "" (for logging what was sent).
std::string_view string_member(const JsonValue& object, std::string_view key);

}  // namespace avsync

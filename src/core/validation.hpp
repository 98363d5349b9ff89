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
// "sales.total: must be a decimal >= 0". The payload's numbers are checked first, for every
// action and every member the log keeps (unknown fields and a delete's payload included):
// see fits_numeric.
Result<ValidOperation> validate_operation(const JsonValue& operation);

// True when the JSON number text (as sent, e.g. "1.50", "-2e3") is a value every store can
// keep exactly: at most 131072 digits before the decimal point and 16383 after it, the
// range of PostgreSQL's numeric, in which the operation log keeps payloads as jsonb.
// "1e99999999" does not fit.
bool fits_numeric(std::string_view number_text);

// Every number in `value` (at any depth) fits_numeric.
bool numbers_fit_numeric(const JsonValue& value);

// The operation's payload without the server-managed fields, as JSON text, for the log.
std::string loggable_payload(const JsonValue& operation);

// What the log and the batch answer keep of a failed operation's client text (entity,
// action, entityId, payload, error message): at most this many bytes each.
inline constexpr std::size_t kFailedFieldMaxBytes = 1024;

// `text` when it has at most `max_bytes` bytes; otherwise its longest prefix that ends on a
// code point boundary and leaves room for a trailing "…" (U+2026), followed by "…", so the
// result has at most `max_bytes` bytes. Requires: max_bytes >= 3.
std::string cut_text(std::string_view text, std::size_t max_bytes = kFailedFieldMaxBytes);

// A failed operation's payload (JSON text from loggable_payload) as the log keeps it: the
// text itself when it has at most `max_bytes` bytes and `numbers_fit` (numbers_fit_numeric
// of the payload); otherwise {"payloadText":"<the JSON text as sent, cut_text to fit>"},
// itself valid JSON of at most `max_bytes` bytes.
std::string bounded_payload(std::string_view payload_json, bool numbers_fit,
                            std::size_t max_bytes = kFailedFieldMaxBytes);

// A member's text when it is a JSON string, else "" (for logging what was sent).
std::string_view string_member(const JsonValue& object, std::string_view key);

}  // namespace avsync

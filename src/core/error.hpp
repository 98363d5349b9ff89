#pragma once
// One error vocabulary for every layer (docs/architecture.md, "How errors travel").
// Expected outcomes travel as values (Result<T>); the unexpected throws.

#include <optional>
#include <string>
#include <string_view>

#include "avsync/error.hpp"  // ErrorCode, Error, Result: public, because the client SDK returns them

namespace avsync {

// The last enumerator of ErrorCode: a code added after it moves this too (the C API's
// static_asserts in client/c_api.cpp hold its numbering).
inline constexpr ErrorCode kLastErrorCode = ErrorCode::tls_failure;

// The wire spelling, e.g. "VALIDATION_ERROR". route_not_found is "NOT_FOUND"; the
// client-only codes have spellings too, for logs and the CLI's --json output.
std::string_view to_wire(ErrorCode code);
// The code a wire spelling stands for (per-operation and whole-request codes; "NOT_FOUND"
// reads as not_found). nullopt for a spelling the protocol does not define.
std::optional<ErrorCode> error_code_from_wire(std::string_view wire);
// The inverse of to_wire over every code, client-only ones included (for codes the client
// stored itself). "NOT_FOUND" reads as not_found.
std::optional<ErrorCode> error_code_from_name(std::string_view name);
// The HTTP status a whole-request error answers with (docs/protocol.md §1).
int http_status(ErrorCode code);

inline Error validation_error(std::string message) {
  return Error{ErrorCode::validation_error, std::move(message)};
}

}  // namespace avsync

#pragma once
// JSON <-> wire values. The only place that knows the protocol's JSON spelling.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/wire.hpp"

namespace avsync {

struct BatchLimits {
  std::size_t max_operations = 500;  // PROTOCOL.md §3 default
  int max_depth = 64;
};

// Parses a POST /sync/batch body and checks its envelope (§3): bad_request when the body
// is not JSON, `operations` is not an array, an element is not an object or has a bad
// operationId; batch_too_large past the limit. Nothing about the operations themselves.
Result<BatchRequest> decode_batch(std::string_view body, const BatchLimits& limits);

std::string encode_batch_response(const std::vector<OperationResult>& results,
                                  UnixMillis server_time);

// `cursor` is the opaque text that resumes after the page.
std::string encode_changes(const ChangePage& page, std::string_view cursor, UnixMillis server_time);

// {"error": {"code": "...", "message": "..."}}
std::string encode_error(ErrorCode code, std::string_view message);

}  // namespace avsync

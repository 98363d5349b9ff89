#pragma once
// JSON <-> wire values. The only place that knows the protocol's JSON spelling.

#include <cstddef>
#include <cstdint>
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

// GET /sync/changes?since=&limit= (§4), decoded.
struct ChangesRequest {
  enum class Since { beginning, cursor, instant };
  std::size_t limit = 1000;        // the default page; larger values are capped at 10,000
  Since since = Since::beginning;  // absent or empty `since`: a full sync
  std::uint64_t after_version = 0;  // Since::cursor
  std::string changed_since;        // Since::instant, canonical UTC text
};
// Parses the query string (without '?'). bad_request for a malformed limit (0, negative,
// not an integer), a since that is neither a cursor nor a timestamp, or bad %-encoding.
Result<ChangesRequest> decode_changes_query(std::string_view query);

// {"error": {"code": "...", "message": "..."}}
std::string encode_error(ErrorCode code, std::string_view message);

}  // namespace avsync

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

// What a POST /sync/batch body may hold. Every cap is checked while the body is parsed,
// so whatever its shape a body builds at most the whole-body value cap (about 3 MB of tree
// by default) plus strings no longer than the body itself. The caps sit far above
// anything a valid batch needs: the longest text field is 2000 characters (at most 8000
// bytes) and a valid operation has about 25 values.
struct BatchLimits {
  std::size_t max_operations = 500;  // docs/protocol.md §3 default
  int max_depth = 64;
  std::size_t max_values_per_operation = 1024;  // the operation object itself included
  std::size_t max_string_bytes = 64 << 10;      // any one string, member name or number
  // Values in the whole body: this many per operation of max_operations, on average
  // (32,000 for the default 500), plus 1,024 for the envelope.
  std::size_t average_values_per_operation = 64;
};

// Parses a POST /sync/batch body and checks its envelope (§3), streaming the operations
// array element by element. bad_request when the body is not JSON, is not an object, has a
// top-level member other than `operations` and the ignored `businessId` / `business_id`
// (§2; refused as soon as its name is read), repeats `operations`, has no `operations`
// array, an element is not an object or has a bad operationId, or a cap of `limits` is
// passed (the message names the operation). batch_too_large as soon as the operation past
// max_operations arrives. Nothing about the operations themselves.
Result<BatchRequest> decode_batch(std::string_view body, const BatchLimits& limits);

// `cursor` is the tenant's feed cursor once the batch committed (the write checkpoint).
std::string encode_batch_response(const std::vector<OperationResult>& results,
                                  std::string_view cursor, UnixMillis server_time);

// `cursor` is the opaque text that resumes after the page. The whole page at once, from
// rows a caller holds; the server streams its pages with ChangesEncoder, which writes the
// same bytes (codec_test holds them equal).
std::string encode_changes(const ChangePage& page, std::string_view cursor, UnixMillis server_time);

// A GET /sync/changes body written as its rows are read: each change goes straight into one
// buffer, reserved for the page up front, and nothing of it is kept.
class ChangesEncoder {
 public:
  // `expected_rows`: the page's limit, for the reservation.
  explicit ChangesEncoder(std::size_t expected_rows);
  void add(const ChangeView& change);
  std::size_t rows() const { return rows_; }
  // The body; the encoder is spent.
  std::string finish(std::string_view cursor, bool has_more, UnixMillis server_time);

 private:
  // Grows out_ (never shrinking what is written) so `bytes` more fit past size_; returns
  // where they go.
  char* make_room(std::size_t bytes);

  std::string out_;  // written up to size_; the rest is room
  std::size_t size_ = 0;
  std::size_t rows_ = 0;
  std::size_t expected_rows_;
};

// The longest GET /sync/changes may wait for a change (§4.1), in seconds.
inline constexpr unsigned kMaxWaitSeconds = 60;

// GET /sync/changes?since=&limit=&wait= (§4), decoded.
struct ChangesRequest {
  enum class Since { beginning, cursor, instant };
  std::size_t limit = 1000;        // the default page; larger values are capped at 10,000
  Since since = Since::beginning;  // absent or empty `since`: a full sync
  std::uint64_t after_version = 0;  // Since::cursor
  std::string changed_since;        // Since::instant, canonical UTC text
  unsigned wait_seconds = 0;        // 0: answer at once; else hold an empty page this long
};
// Parses the query string (without '?'). bad_request for a malformed limit (0, negative,
// not an integer), a wait that is not a whole number of seconds from 0 to kMaxWaitSeconds,
// a since that is neither a cursor nor a timestamp, or bad %-encoding.
Result<ChangesRequest> decode_changes_query(std::string_view query);

// The first value of `name` in a query string (without '?'), %-decoded ('+' stays '+');
// nullopt when absent; bad_request for a bad %-escape.
Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name);

// {"error": {"code": "...", "message": "..."}}
std::string encode_error(ErrorCode code, std::string_view message);

}  // namespace avsync

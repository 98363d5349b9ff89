#pragma once
// The server's answers, from JSON to values (docs/protocol.md §1, §3, §4). Anything that is
// not the protocol is a bad_response Error, never a crash: the server may be a proxy, a
// captive portal or a different version.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "avsync/error.hpp"
#include "client/local_store.hpp"

namespace avsync::client {

struct BatchResult {
  std::string operation_id;
  std::optional<Error> error;  // nullopt: success
};

struct ChangesPage {
  std::vector<PulledChange> changes;
  std::string cursor;
  bool has_more = false;
};

struct BatchReply {
  std::vector<BatchResult> results;
  // The tenant's feed cursor as of after this batch committed (§3); older servers omit it.
  std::optional<std::string> cursor;
};

// POST /sync/batch 200 body. The results must answer `expected_ids`, in order; a `cursor`
// that is present must be a string.
Result<BatchReply> decode_batch_results(std::string_view body,
                                        const std::vector<std::string>& expected_ids);
// GET /sync/changes 200 body. Changes of entities this client does not know are an error.
Result<ChangesPage> decode_changes_page(std::string_view body);
// A whole-request error: the code and message of {"error": {...}} when the body has
// them, else one chosen from the HTTP status.
Error decode_error_reply(int http_status, std::string_view body);

}  // namespace avsync::client

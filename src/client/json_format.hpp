#pragma once
// The SDK's values as JSON text, and JSON input as SDK values: the C API's strings and
// the CLI's --json output share these, so both speak the same shapes (docs/client.md).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "avsync/client.hpp"

namespace avsync::client {

std::string row_json(const Row& row);  // {"entity","id",<fields...>,"created_at","updated_at","syncState"}
std::string rows_json(const std::vector<Row>& rows);
std::string status_json(const SyncStatus& status);
std::string report_json(const SyncReport& report);
std::string change_json(const ChangedRow& change);                 // {"entity","id","action"}
std::string changes_json(const std::vector<ChangedRow>& changes);  // [change_json, ...]
std::string queue_json(const std::vector<QueuedOperation>& operations);
std::string error_json(const Error& error);  // {"error":{"code","message"}}
// `avsync init`: {"configured":true,"checked":bool,"checkError":{"code","message"}|null},
// `unchecked` being why the server could not be asked.
std::string init_json(const std::optional<Error>& unchecked);

// {"name": "Ana", "credit_limit": 10.5, "notes": null}: strings and numbers become text.
Result<FieldValues> fields_from_json(std::string_view json);
// {"equals": {"customer_id": "..."}, "limit": 50, "offset": 0}; every member optional.
Result<ListQuery> list_query_from_json(std::string_view json);

}  // namespace avsync::client

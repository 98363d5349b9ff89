#pragma once
// SQL of the operations console's reads (Store::search_operations, list_businesses,
// list_resolutions), written once for both stores. Filters become parameters, never text;
// only the statement's shape depends on which filters are set, so each store prepares a
// handful of statements, each walking one index of migration 0004 in the listing's order.

#include <string>
#include <vector>

#include "store/entity_sql.hpp"
#include "store/store.hpp"

namespace avsync::store {

struct ConsoleStatement {
  std::string sql;
  std::vector<std::string> params;  // $1.. / ?1.., all text
};

// Columns of search_operations_sql, in order.
struct SearchColumns {
  static constexpr int business_id = 0, operation_id = 1, entity = 2, action = 3, entity_id = 4,
                       payload = 5, status = 6, error = 7, message = 8, client_timestamp = 9,
                       processed_at = 10, resolution = 11, resolved_by = 12, resolved_at = 13,
                       address = 14, version = 15;
};
ConsoleStatement search_operations_sql(const OperationSearch& search, Placeholders style);

// Columns: id, name, created_at, last_push_at, operations_24h, failed_24h, active_tokens.
ConsoleStatement list_businesses_sql(std::string_view after_id, std::size_t limit,
                                     std::string_view since, UnixMillis now, Placeholders style);

// Columns of list_resolutions_sql and select_resolution columns of a row.
struct ResolutionColumns {
  static constexpr int business_id = 0, operation_id = 1, resolution = 2, resolved_by = 3,
                       resolved_at = 4, address = 5, version = 6;
};
ConsoleStatement list_resolutions_sql(const std::optional<std::string>& business_id,
                                      const std::optional<ListPosition>& after, std::size_t limit,
                                      Placeholders style);

// Params: 1 business_id, 2 operation_id. Columns: SearchColumns (one row or none).
std::string read_operation_sql(Placeholders style);
// Params: 1 business_id, 2 operation_id, 3 resolution, 4 by, 5 at, 6 address, 7 version (or NULL).
std::string insert_resolution_sql(Placeholders style);

// "processed" or "failed", as the log's status column holds it.
std::string_view status_text(OperationStatus status);

}  // namespace avsync::store

#include "store/console_sql.hpp"

namespace avsync::store {
namespace {

// Builds a statement's parameters and their placeholders together.
class Params {
 public:
  explicit Params(Placeholders style) : style_(style) {}
  // The placeholder of a new text parameter.
  std::string text(std::string value) {
    values_.push_back(std::move(value));
    return (style_ == Placeholders::postgres ? "$" : "?") + std::to_string(values_.size());
  }
  // The placeholder of a new timestamp parameter (canonical text), comparable with the
  // store's time columns: timestamptz on PostgreSQL, canonical text on SQLite.
  std::string time(std::string value) {
    std::string p = text(std::move(value));
    return style_ == Placeholders::postgres ? p + "::timestamptz" : p;
  }
  std::string integer(std::int64_t value) {
    std::string p = text(std::to_string(value));
    return style_ == Placeholders::postgres ? p + "::bigint" : "CAST(" + p + " AS INTEGER)";
  }
  std::vector<std::string> take() { return std::move(values_); }

 private:
  Placeholders style_;
  std::vector<std::string> values_;
};

// A time column as canonical text (UTC, milliseconds), as the API shows it.
std::string canonical(std::string_view column, Placeholders style) {
  if (style == Placeholders::sqlite) return std::string(column);
  return "to_char(" + std::string(column) +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace

std::string_view status_text(OperationStatus status) {
  return status == OperationStatus::processed ? "processed" : "failed";
}

namespace {

std::string search_columns(Placeholders style) {
  const bool pg = style == Placeholders::postgres;
  return "o.business_id, o.operation_id, o.entity, o.action, o.entity_id, " +
         std::string(pg ? "o.payload::text" : "o.payload") +
         ", o.status, o.error, o.message, o.client_timestamp, " +
         canonical("o.processed_at", style) + ", r.resolution, r.resolved_by, " +
         canonical("r.resolved_at", style) + ", r.address, r.version";
}

constexpr std::string_view kResolutionJoin =
    " FROM sync_operations o LEFT JOIN conflict_resolutions r"
    " ON r.business_id = o.business_id AND r.operation_id = o.operation_id"
    " AND r.resolved_at >= o.processed_at";

}  // namespace

ConsoleStatement search_operations_sql(const OperationSearch& search, Placeholders style) {
  Params p(style);
  std::string where;
  auto add = [&](const std::string& condition) {
    where += (where.empty() ? " WHERE " : " AND ") + condition;
  };
  if (search.business_id) add("o.business_id = " + p.text(*search.business_id));
  // The status is spelled out, not bound, so the planner can use the partial indexes of
  // failed rows (an error code is only ever logged for a failed operation).
  const bool failed_only =
      search.unresolved_only || search.error || search.status == OperationStatus::failed;
  if (failed_only)
    add("o.status = 'failed'");
  else if (search.status == OperationStatus::processed)
    add("o.status = 'processed'");
  if (search.entity) add("o.entity = " + p.text(*search.entity));
  if (search.error) add("o.error = " + p.text(*search.error));
  if (search.operation_id) add("o.operation_id = " + p.text(*search.operation_id));
  if (search.from) add("o.processed_at >= " + p.time(*search.from));
  if (search.to) add("o.processed_at < " + p.time(*search.to));
  if (search.after) {
    // Within one tenant the business id is fixed: the rest of the key follows the index.
    if (search.business_id)
      add("(o.processed_at, o.operation_id) < (" + p.time(search.after->at) + ", " +
          p.text(search.after->operation_id) + ")");
    else
      add("(o.processed_at, o.business_id, o.operation_id) < (" + p.time(search.after->at) + ", " +
          p.text(search.after->business_id) + ", " + p.text(search.after->operation_id) + ")");
  }
  if (search.unresolved_only)
    add("NOT EXISTS (SELECT 1 FROM conflict_resolutions u"
        " WHERE u.business_id = o.business_id AND u.operation_id = o.operation_id"
        " AND u.resolved_at >= o.processed_at)");
  std::string sql =
      "SELECT " + search_columns(style) + std::string(kResolutionJoin) + where +
      " ORDER BY o.processed_at DESC, o.business_id DESC, o.operation_id DESC LIMIT " +
      p.integer(static_cast<std::int64_t>(search.limit));
  return {std::move(sql), p.take()};
}

std::string read_operation_sql(Placeholders style) {
  const std::string a = style == Placeholders::postgres ? "$1" : "?1";
  const std::string b = style == Placeholders::postgres ? "$2" : "?2";
  return "SELECT " + search_columns(style) + std::string(kResolutionJoin) +
         " WHERE o.business_id = " + a + " AND o.operation_id = " + b;
}

ConsoleStatement list_businesses_sql(std::string_view after_id, std::size_t limit,
                                     std::string_view since, UnixMillis now, Placeholders style) {
  Params p(style);
  const std::string day = p.time(std::string(since));
  const std::string now_ms = p.integer(now);
  std::string where;
  if (!after_id.empty()) where = " WHERE b.id > " + p.text(std::string(after_id));
  // Each figure is one range of an index that leads with the business (0004, 0003).
  std::string sql =
      "SELECT b.id, b.name, " + canonical("b.created_at", style) + ", (SELECT " +
      canonical("max(o.processed_at)", style) +
      " FROM sync_operations o WHERE o.business_id = b.id),"
      " (SELECT count(*) FROM sync_operations o WHERE o.business_id = b.id AND o.processed_at >= " +
      day +
      "),"
      " (SELECT count(*) FROM sync_operations o WHERE o.business_id = b.id AND o.status = 'failed'"
      " AND o.processed_at >= " +
      day +
      "),"
      " (SELECT count(*) FROM auth_tokens t WHERE t.business_id = b.id AND t.revoked_at IS NULL"
      " AND t.expires_at_ms > " +
      now_ms +
      ")"
      " FROM businesses b" +
      where + " ORDER BY b.id LIMIT " + p.integer(static_cast<std::int64_t>(limit));
  return {std::move(sql), p.take()};
}

ConsoleStatement list_resolutions_sql(const std::optional<std::string>& business_id,
                                      const std::optional<ListPosition>& after, std::size_t limit,
                                      Placeholders style) {
  Params p(style);
  std::string where;
  auto add = [&](const std::string& condition) {
    where += (where.empty() ? " WHERE " : " AND ") + condition;
  };
  if (business_id) add("business_id = " + p.text(*business_id));
  if (after) {
    if (business_id)
      add("(resolved_at, operation_id) < (" + p.time(after->at) + ", " +
          p.text(after->operation_id) + ")");
    else
      add("(resolved_at, business_id, operation_id) < (" + p.time(after->at) + ", " +
          p.text(after->business_id) + ", " + p.text(after->operation_id) + ")");
  }
  std::string sql = "SELECT business_id, operation_id, resolution, resolved_by, " +
                    canonical("resolved_at", style) +
                    ", address, version FROM conflict_resolutions" + where +
                    " ORDER BY resolved_at DESC, business_id DESC, operation_id DESC LIMIT " +
                    p.integer(static_cast<std::int64_t>(limit));
  return {std::move(sql), p.take()};
}

std::string insert_resolution_sql(Placeholders style) {
  if (style == Placeholders::postgres)
    return "INSERT INTO conflict_resolutions (business_id, operation_id, resolution, resolved_by, "
           "resolved_at,"
           " address, version) VALUES ($1, $2, $3, $4, $5::timestamptz, $6, $7::bigint)";
  return "INSERT INTO conflict_resolutions (business_id, operation_id, resolution, resolved_by, "
         "resolved_at,"
         " address, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
}

}  // namespace avsync::store

#include "store/entity_sql.hpp"

#include <algorithm>

namespace avsync::store {
namespace {

std::string param(Placeholders style, int n) {
  return (style == Placeholders::sqlite ? "?" : "$") + std::to_string(n);
}

std::string field_list(const EntitySpec& e) {
  std::string out;
  for (const FieldSpec& f : e.fields) out += ", " + std::string(f.name);
  return out;
}

// How a timestamp column reads back. SQLite keeps the canonical text; PostgreSQL keeps
// timestamptz, formatted here as the protocol's UTC-with-milliseconds text.
std::string timestamp_out(std::string_view column, Placeholders s) {
  if (s == Placeholders::sqlite) return std::string(column);
  return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

// The field columns as a SELECT list, every value as canonical text.
std::string select_fields(const EntitySpec& e, Placeholders s) {
  std::string out;
  for (const FieldSpec& f : e.fields) {
    out += ", ";
    if (s == Placeholders::postgres && f.type != FieldType::timestamp) out += std::string(f.name) + "::text";
    else if (f.type == FieldType::timestamp) out += timestamp_out(f.name, s);
    else out += std::string(f.name);
  }
  return out;
}

// What a field's text becomes in its PostgreSQL column, written after the value: a text[]
// element must be cast where the column is not text.
std::string_view postgres_cast(FieldType type) {
  switch (type) {
    case FieldType::money:
    case FieldType::quantity:
      return "::numeric";
    case FieldType::timestamp:
      return "::timestamptz";
    case FieldType::reference:
      return "::uuid";
    case FieldType::text:
    case FieldType::choice:
      break;
  }
  return "";
}

// "FROM unnest($first::text[], ...) AS u(columns..., f0, f1, ...)": one row per array
// element, the leading columns named by `columns`, then `fields` more named f0, f1, ...
std::string unnest_rows(int first, const std::vector<std::string_view>& columns,
                        std::size_t fields) {
  std::string arrays, names;
  const std::size_t n = columns.size() + fields;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) {
      arrays += ", ";
      names += ", ";
    }
    arrays += "$" + std::to_string(first + static_cast<int>(i)) + "::text[]";
    names +=
        i < columns.size() ? std::string(columns[i]) : "f" + std::to_string(i - columns.size());
  }
  return " FROM unnest(" + arrays + ") AS u(" + names + ")";
}

// The set-based writes of EntitySql (insert_rows, update_rows, delete_rows).
void add_postgres_row_writes(const EntitySpec& e, EntitySql& sql) {
  const std::string table(e.name);
  std::string fields_from_u, assignments;
  for (std::size_t i = 0; i < e.fields.size(); ++i) {
    const std::string value =
        "u.f" + std::to_string(i) + std::string(postgres_cast(e.fields[i].type));
    fields_from_u += ", " + value;
    assignments += ", " + std::string(e.fields[i].name) + " = " + value;
  }
  const std::string stamp =
      " SET updated_at = u.up::timestamptz, last_write_ms = u.lw::bigint, version = u.v::bigint";
  const std::string key =
      " WHERE r.business_id = " + std::string(kTenantUnseenByPlanner) + " AND r.id = u.k::uuid";
  sql.insert_rows =
      "INSERT INTO " + table +
      " (business_id, id, created_at, updated_at, last_write_ms, version, deleted" + field_list(e) +
      ") SELECT $1::text, u.k::uuid, u.c::timestamptz, u.up::timestamptz, u.lw::bigint,"
      " u.v::bigint, u.d::smallint" +
      fields_from_u + unnest_rows(2, {"k", "c", "up", "lw", "v", "d"}, e.fields.size());
  sql.update_rows = "UPDATE " + table + " AS r" + stamp +
                    ", deleted = greatest(r.deleted, u.d::smallint)" + assignments +
                    unnest_rows(2, {"k", "up", "lw", "v", "d"}, e.fields.size()) + key;
  sql.delete_rows = "UPDATE " + table + " AS r" + stamp + ", deleted = 1" +
                    unnest_rows(2, {"k", "up", "lw", "v"}, 0) + key;
}

}  // namespace

EntitySql make_entity_sql(const EntitySpec& e, Placeholders s) {
  const std::string table(e.name);
  const std::string fields = field_list(e);
  auto p = [s](int n) { return param(s, n); };
  const std::string key = " WHERE business_id = " + p(1) + " AND id = " + p(2);
  EntitySql sql;
  const std::string selected = select_fields(e, s);
  sql.select_row = "SELECT deleted, last_write_ms" + selected + " FROM " + table + key;
  if (s == Placeholders::postgres)
    sql.select_rows = "SELECT id::text, deleted, last_write_ms" + selected + " FROM " + table +
                      " WHERE business_id = $1 AND id = ANY($2::uuid[])";
  sql.select_live = "SELECT 1 FROM " + table + key + " AND deleted = 0";

  std::string values;
  std::string assignments;
  for (std::size_t i = 0; i < e.fields.size(); ++i) {
    values += ", " + p(static_cast<int>(i) + 6);
    assignments += ", " + std::string(e.fields[i].name) + " = " + p(static_cast<int>(i) + 6);
  }
  sql.insert_row = "INSERT INTO " + table +
                   " (business_id, id, created_at, updated_at, last_write_ms, version, deleted" +
                   fields + ") VALUES (" + p(1) + ", " + p(2) + ", " + p(3) + ", " + p(3) + ", " +
                   p(4) + ", " + p(5) + ", 0" + values + ")";
  sql.update_row = "UPDATE " + table + " SET updated_at = " + p(3) + ", last_write_ms = " + p(4) +
                   ", version = " + p(5) + assignments + key;
  sql.delete_row = "UPDATE " + table + " SET deleted = 1, updated_at = " + p(3) +
                   ", last_write_ms = " + p(4) + ", version = " + p(5) + key;

  const std::string id = s == Placeholders::postgres ? "id::text" : "id";
  const std::string changes_head = "SELECT " + id + ", deleted, version, " + timestamp_out("created_at", s) +
                                   ", " + timestamp_out("updated_at", s) + selected + " FROM " + table +
                                   " WHERE business_id = " + p(1) + " AND version > " + p(2);
  const std::string tail = " ORDER BY version LIMIT " + p(3);
  const std::string live = " AND deleted = 0";
  const std::string since = " AND updated_at >= " + p(4);
  sql.changes = changes_head + tail;
  sql.changes_live_only = changes_head + live + tail;
  sql.changes_since = changes_head + since + tail;
  sql.changes_since_live_only = changes_head + live + since + tail;
  if (s == Placeholders::postgres) {
    sql.lookup_rows = "SELECT id::text, deleted, last_write_ms" + selected + " FROM " + table +
                      " WHERE business_id = " + std::string(kTenantUnseenByPlanner) +
                      " AND id = ANY($2::uuid[])";
    add_postgres_row_writes(e, sql);
  }
  return sql;
}

AllChangesSql make_all_changes_sql() {
  std::size_t widest = 0;
  for (const EntitySpec& e : all_entities()) widest = std::max(widest, e.fields.size());
  // Times leave as Unix milliseconds, formatted by the caller: to_char cost ten times the
  // rest of the query. Rows are stored to the millisecond, so the rounding is exact.
  auto millis = [](std::string_view column) {
    return "round(date_part('epoch', " + std::string(column) + ") * 1000)::bigint";
  };
  // Each branch reads its table's feed index in order and stops at the page's end; the
  // outer ORDER BY merges the branches (a Merge Append), reading no row past the page.
  auto all = [&](bool live_only, bool since) {
    std::string out;
    for (const EntitySpec& e : all_entities()) {
      if (!out.empty()) out += " UNION ALL ";
      out += "(SELECT " + std::to_string(entity_index(e)) +
             "::smallint, id::text, deleted, version, " + millis("created_at") + ", " +
             millis("updated_at");
      for (const FieldSpec& f : e.fields)
        out += ", " + (f.type == FieldType::timestamp ? millis(f.name) : std::string(f.name)) +
               "::text";
      for (std::size_t i = e.fields.size(); i < widest; ++i) out += ", NULL::text";
      out += " FROM " + std::string(e.name) + " WHERE business_id = $1 AND version > $2" +
             (live_only ? " AND deleted = 0" : "") + (since ? " AND updated_at >= $4" : "") +
             " ORDER BY version LIMIT $3)";
    }
    return out + " ORDER BY version LIMIT $3";
  };
  return {all(false, false), all(true, false), all(false, true), all(true, true)};
}

std::string count_references_sql(const Reference& ref, Placeholders s) {
  return "SELECT count(*) FROM " + std::string(ref.from->name) + " WHERE business_id = " +
         param(s, 1) + " AND " + std::string(ref.from->fields[ref.field].name) + " = " +
         param(s, 2) + " AND deleted = 0";
}

EntityStatements::EntityStatements(Placeholders style) {
  for (const EntitySpec& e : all_entities()) {
    entity_.push_back(make_entity_sql(e, style));
    auto& refs = references_.emplace_back();
    for (const Reference& r : references_to(e)) refs.push_back(count_references_sql(r, style));
  }
}

const std::string& EntityStatements::count_references(const Reference& ref) const {
  const EntitySpec& target = *find_entity(ref.from->fields[ref.field].references);
  auto refs = references_to(target);
  std::size_t n = 0;
  while (refs[n].from != ref.from || refs[n].field != ref.field) ++n;
  return references_[entity_index(target)][n];
}

}  // namespace avsync::store

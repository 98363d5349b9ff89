#pragma once
// SQL text for each entity table, generated from the registry so the stores never spell
// a column list by hand. Column and table names come from the registry only; user data
// is always bound as a parameter.

#include <string>
#include <vector>

#include "core/schema.hpp"

namespace avsync::store {

enum class Placeholders { sqlite, postgres };  // ?N or $N

struct EntitySql {
  // Params: 1 business_id, 2 id. Columns: deleted, last_write_ms, fields...
  std::string select_row;
  // Params: 1 business_id, 2 ids (PostgreSQL text[] of uuids). Columns: id, deleted,
  // last_write_ms, fields... (PostgreSQL only: SQLite reads rows one by one, in process.)
  std::string select_rows;
  // Params: 1 business_id, 2 id. One row when live.
  std::string select_live;
  // Params: 1 business_id, 2 id, 3 created/updated_at, 4 last_write_ms, 5 version, 6.. fields.
  std::string insert_row;
  // Same parameters as insert_row.
  std::string update_row;
  // Params: 1 business_id, 2 id, 3 updated_at, 4 last_write_ms, 5 version.
  std::string delete_row;
  // Params: 1 business_id, 2 after version, 3 limit, [4 changed since]. Columns: id,
  // deleted, version, created_at, updated_at, fields...
  std::string changes;
  std::string changes_live_only;
  std::string changes_since;
  std::string changes_since_live_only;
  // PostgreSQL only (empty for SQLite): select_rows planned as probes of the primary key
  // whatever the statistics say of the tenant (kTenantUnseenByPlanner). Same params and
  // columns as select_rows.
  std::string lookup_rows;
  // PostgreSQL only (empty for SQLite): many rows in one statement, for a batch that writes
  // together. Each parameter after $1 is a text[] with one element per row, in the order
  // the rows are listed; a row's id appears once.
  // Params: 1 business_id, 2 ids, 3 created_at, 4 updated_at, 5 last_write_ms, 6 version,
  // 7 deleted (0 or 1), 8.. fields.
  std::string insert_rows;
  // Sets the fields and the stamp of existing rows; a row of deleted = 1 is also deleted, one
  // of 0 keeps its deleted flag. Params: 1 business_id, 2 ids, 3 updated_at, 4 last_write_ms,
  // 5 version, 6 deleted (0 or 1), 7.. fields.
  std::string update_rows;
  // Deletes existing rows, keeping their fields. Params: 1 business_id, 2 ids, 3 updated_at,
  // 4 last_write_ms, 5 version.
  std::string delete_rows;
};

EntitySql make_entity_sql(const EntitySpec& entity, Placeholders style);

// PostgreSQL: `business_id = ` this, instead of `$1`, hides the tenant from the planner, so
// it estimates an average tenant's rows. Its statistics give a tenant they have not seen (a
// new one, or one grown since the last ANALYZE, which on a large table comes rarely) one
// row, and a lookup of a batch's keys then reads every row of the tenant through another
// (business_id, ...) index, filtering them, instead of probing the primary key: a batch
// cost grew with the tenant, and throughput fell run after run on one database.
inline constexpr std::string_view kTenantUnseenByPlanner = "(SELECT $1::text)";

// PostgreSQL only: every entity's changes in one statement, in version order (each table's
// rows read in order from its (business_id, version) index, merged). Params as
// EntitySql::changes. Columns: AllChangesColumns.
struct AllChangesSql {
  std::string changes;
  std::string changes_live_only;
  std::string changes_since;
  std::string changes_since_live_only;
};
// The columns of AllChangesSql: the entity's index in all_entities(); its row's id, deleted
// flag and version; created_at and updated_at as Unix milliseconds; then each field of the
// entity as canonical text, except timestamps, as Unix milliseconds. NULL fills the columns
// past the entity's fields, up to the entity with the most.
struct AllChangesColumns {
  static constexpr int entity = 0, id = 1, deleted = 2, version = 3, created_ms = 4, updated_ms = 5,
                       fields = 6;
};
AllChangesSql make_all_changes_sql();

// Params: 1 business_id, 2 referenced id. Column: count.
std::string count_references_sql(const Reference& ref, Placeholders style);

// Every entity's SQL for one backend, generated once per store.
class EntityStatements {
 public:
  explicit EntityStatements(Placeholders style);
  const EntitySql& of(const EntitySpec& entity) const { return entity_[entity_index(entity)]; }
  // count_references_sql for `ref`.
  const std::string& count_references(const Reference& ref) const;

 private:
  std::vector<EntitySql> entity_;
  std::vector<std::vector<std::string>> references_;  // per target entity, per Reference
};

// Column offset of the first field in select_row / changes results.
inline constexpr int kSelectRowFieldsAt = 2;
inline constexpr int kChangesFieldsAt = 5;

}  // namespace avsync::store

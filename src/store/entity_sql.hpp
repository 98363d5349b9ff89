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
};

EntitySql make_entity_sql(const EntitySpec& entity, Placeholders style);

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

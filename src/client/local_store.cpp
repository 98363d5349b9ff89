#include "client/local_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <unordered_map>

#include "core/json.hpp"

namespace avsync::client {
namespace {

constexpr int kSchemaVersion = 1;

// SQL of one entity's replica table, generated from the registry.
struct EntityTable {
  std::string select_row;     // ?1 id -> fields..., created_at, updated_at
  std::string select_exists;  // ?1 id
  std::string upsert_row;     // ?1 id, ?2.. fields, then created_at, updated_at
  std::string delete_row;     // ?1 id
  std::string column_list;    // "f1", "f2", ..., created_at, updated_at
};

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

const EntityTable& table_of(const EntitySpec& entity) {
  static const std::vector<EntityTable> tables = [] {
    std::vector<EntityTable> out;
    for (const EntitySpec& e : all_entities()) {
      EntityTable t;
      std::string placeholders = "?1";
      for (std::size_t i = 0; i < e.fields.size(); ++i) {
        t.column_list += quoted(e.fields[i].name) + ", ";
        placeholders += ", ?" + std::to_string(i + 2);
      }
      t.column_list += "created_at, updated_at";
      placeholders += ", ?" + std::to_string(e.fields.size() + 2) + ", ?" +
                      std::to_string(e.fields.size() + 3);
      std::string table = quoted(e.name);
      t.select_row = "SELECT " + t.column_list + " FROM " + table + " WHERE id = ?1";
      t.select_exists = "SELECT 1 FROM " + table + " WHERE id = ?1";
      t.upsert_row = "INSERT OR REPLACE INTO " + table + " (id, " + t.column_list +
                     ") VALUES (" + placeholders + ")";
      t.delete_row = "DELETE FROM " + table + " WHERE id = ?1";
      out.push_back(std::move(t));
    }
    return out;
  }();
  return tables[entity_index(entity)];
}

std::string schema_sql() {
  std::string sql = R"(
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    -- The server's last known state of each row that has operations in the queue (any
    -- status), as a JSON array of field values followed by created_at and updated_at. No
    -- entry for such a row: the server does not hold it. A row without operations needs
    -- none: its visible row is the server's state.
    CREATE TABLE server_rows (
      entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (entity, id)) WITHOUT ROWID;
    -- The operation queue (small, so status filters scan it: one index fewer to write per
    -- local write). status: pending (to send), failed (rejected, kept for the app),
    -- acked (applied by the server; forgotten once a pull has caught up after it).
    CREATE TABLE operations (
      sequence INTEGER PRIMARY KEY,  -- queue order; a new operation gets max + 1
      operation_id TEXT NOT NULL,  -- a fresh UUID; looked up only to retry or discard
      entity TEXT NOT NULL,
      action TEXT NOT NULL,
      entity_id TEXT NOT NULL,
      body TEXT NOT NULL,  -- the operation's JSON element, payload included
      client_timestamp TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL DEFAULT 0,
      last_error_code TEXT,
      last_error_message TEXT);
    CREATE INDEX operations_by_row ON operations (entity, entity_id, status);
  )";
  for (const EntitySpec& e : all_entities()) {
    // A rowid table with a unique index on the UUID, rather than a table keyed by it: rows
    // arriving from the feed append to the table, and only the small index takes random
    // inserts (an initial sync then stays within the page cache).
    sql += "CREATE TABLE " + quoted(e.name) + " (id TEXT NOT NULL UNIQUE";
    for (const FieldSpec& f : e.fields) sql += ", " + quoted(f.name) + " TEXT";
    sql += ", created_at TEXT NOT NULL, updated_at TEXT NOT NULL);\n";
    for (const FieldSpec& f : e.fields) {
      if (f.type != FieldType::reference) continue;
      sql += "CREATE INDEX " + std::string(e.name) + "_by_" + std::string(f.name) + " ON " +
             quoted(e.name) + " (" + quoted(f.name) + ");\n";
    }
    sql += "CREATE INDEX " + std::string(e.name) + "_by_created ON " + quoted(e.name) +
           " (created_at, id);\n";
  }
  return sql;
}

std::string_view action_name(Action a) {
  switch (a) {
    case Action::insert: return "insert";
    case Action::update: return "update";
    case Action::remove: return "delete";
  }
  return "insert";
}

std::string encode_server_state(const std::vector<std::optional<std::string>>& values,
                                std::string_view created_at, std::string_view updated_at) {
  JsonValue array;
  array.kind = JsonValue::Kind::array;
  array.items.reserve(values.size() + 2);
  auto push_text = [&](std::optional<std::string_view> text) {
    JsonValue v;
    if (text) {
      v.kind = JsonValue::Kind::string;
      v.text = *text;
    }
    array.items.push_back(std::move(v));
  };
  for (const auto& v : values) push_text(v ? std::optional<std::string_view>(*v) : std::nullopt);
  push_text(created_at);
  push_text(updated_at);
  return to_json(array);
}

Error no_row(const EntitySpec& entity, std::string_view id) {
  return Error{ErrorCode::not_found,
               std::string(entity.name) + " " + std::string(id) + " does not exist on this device"};
}

}  // namespace

namespace {

// The effect of one operation on a row, as the server would apply it when it succeeds.
void apply_to(const ValidOperation& op, std::optional<LocalStore::LocalRow>& row) {
  std::string at = format_timestamp(op.client_time);
  switch (op.action) {
    case Action::insert:
      row.emplace();
      row->values.assign(op.entity->fields.size(), std::nullopt);
      row->created_at = at;
      row->updated_at = at;
      break;
    case Action::update:
      if (!row) return;
      row->updated_at = at;
      break;
    case Action::remove:
      row.reset();
      return;
  }
  for (const FieldAssignment& a : op.assignments) row->values[a.field] = a.value;
}

}  // namespace

LocalStore::LocalStore(const std::string& path, Connection connection)
    : db_(path, sqlite::Database::Access::read_write) {
  // Not SQLite's default 2 MiB: an initial sync writes into B-trees keyed by random UUIDs,
  // and a small cache makes it re-read pages it just wrote (with 4 MiB, reads were a fifth
  // of the client's CPU time in an initial sync of 200,000 rows; 1% with the sync's 32 MiB).
  if (connection == Connection::sync) {
    db_.exec("PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=8000");
  } else {
    db_.exec("PRAGMA cache_size=-4096");
  }
  migrate();
}

void LocalStore::migrate() {
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  std::int64_t version = 0;
  {
    auto q = db_.query("PRAGMA user_version");
    if (q.step()) version = q.int64(0);
  }
  if (version > kSchemaVersion) {
    throw sqlite::Failure(0, "the data file was written by a newer avsync (schema " +
                                 std::to_string(version) + ")");
  }
  if (version == 0) {
    db_.exec(schema_sql());
    db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  }
  tx.commit();
}

std::optional<std::string> LocalStore::setting(std::string_view key) {
  auto q = db_.query("SELECT value FROM settings WHERE key = ?1");
  q.bind(1, key);
  if (!q.step()) return std::nullopt;
  return std::string(q.text(0));
}

void LocalStore::set_setting(std::string_view key, std::string_view value) {
  db_.query("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)").bind(1, key).bind(2, value).run();
}

void LocalStore::clear_setting(std::string_view key) {
  db_.query("DELETE FROM settings WHERE key = ?1").bind(1, key).run();
}

std::optional<LocalStore::LocalRow> LocalStore::load_visible(const EntitySpec& entity,
                                                             std::string_view id) {
  auto q = db_.query(table_of(entity).select_row);
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  LocalRow row;
  const int n = static_cast<int>(entity.fields.size());
  row.values.reserve(n);
  for (int i = 0; i < n; ++i) row.values.push_back(q.optional_text(i));
  row.created_at = q.text(n);
  row.updated_at = q.text(n + 1);
  return row;
}

std::optional<LocalStore::LocalRow> LocalStore::load_server_state(const EntitySpec& entity,
                                                                  std::string_view id) {
  auto q = db_.query("SELECT data FROM server_rows WHERE entity = ?1 AND id = ?2");
  q.bind(1, entity.name).bind(2, id);
  if (!q.step()) return std::nullopt;
  auto parsed = parse_json(q.text(0));
  const std::size_t n = entity.fields.size();
  if (!parsed || !parsed->is_array() || parsed->items.size() != n + 2) {
    throw sqlite::Failure(0, "corrupt server_rows entry for " + std::string(entity.name));
  }
  LocalRow row;
  for (std::size_t i = 0; i < n; ++i) {
    const JsonValue& v = parsed->items[i];
    row.values.push_back(v.is_null() ? std::nullopt : std::optional<std::string>(v.text));
  }
  row.created_at = parsed->items[n].text;
  row.updated_at = parsed->items[n + 1].text;
  return row;
}

void LocalStore::write_visible(const EntitySpec& entity, std::string_view id, const LocalRow& row) {
  auto q = db_.query(table_of(entity).upsert_row);
  q.bind(1, id);
  int index = 2;
  for (const auto& v : row.values) q.bind_nullable(index++, v);
  q.bind(index++, row.created_at);
  q.bind(index, row.updated_at);
  q.run();
}

bool LocalStore::delete_visible(const EntitySpec& entity, std::string_view id) {
  return db_.query(table_of(entity).delete_row).bind(1, id).run() > 0;
}

void LocalStore::forget_server_state(const EntitySpec& entity, std::string_view id) {
  db_.query("DELETE FROM server_rows WHERE entity = ?1 AND id = ?2").bind(1, entity.name).bind(2, id).run();
}

void LocalStore::forget_server_state_if_untracked(const EntitySpec& entity, std::string_view id) {
  auto q = db_.query("SELECT 1 FROM operations WHERE entity = ?1 AND entity_id = ?2 LIMIT 1");
  q.bind(1, entity.name).bind(2, id);
  if (!q.step()) forget_server_state(entity, id);
}

// Requires: inside a write transaction. The visible row becomes the server state with the
// row's pending operations applied in queue order.
void LocalStore::rebuild_row(const EntitySpec& entity, std::string_view id) {
  std::optional<LocalRow> row = load_server_state(entity, id);
  std::vector<std::string> bodies;
  {
    auto q = db_.query(
        "SELECT body FROM operations WHERE entity = ?1 AND entity_id = ?2 AND status = 'pending' "
        "ORDER BY sequence");
    q.bind(1, entity.name).bind(2, id);
    while (q.step()) bodies.emplace_back(q.text(0));
  }
  for (const std::string& body : bodies) {
    auto json = parse_json(body);
    if (!json) continue;
    auto op = validate_operation(*json);
    if (op) apply_to(*op, row);
  }
  if (row) {
    write_visible(entity, id, *row);
  } else {
    delete_visible(entity, id);
  }
}

Result<std::optional<Row>> LocalStore::apply_local_write(const ValidOperation& op, std::string_view operation_id,
                                     std::string_view body,
                                     std::string_view client_timestamp) {
  const EntitySpec& entity = *op.entity;
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  std::optional<LocalRow> row = load_visible(entity, op.entity_id);

  if (op.action == Action::insert) {
    if (row) {
      return Error{ErrorCode::conflict,
                   std::string(entity.name) + " " + op.entity_id + " already exists"};
    }
  } else if (!row) {
    return no_row(entity, op.entity_id);
  }

  // A foreign key must name a row this device holds (§3.4: it must exist in the tenant).
  for (const FieldAssignment& a : op.assignments) {
    const FieldSpec& f = entity.fields[a.field];
    if (f.type != FieldType::reference || !a.value) continue;
    const EntitySpec* target = find_entity(f.references);
    auto q = db_.query(table_of(*target).select_exists);
    q.bind(1, *a.value);
    if (!q.step()) {
      return validation_error(std::string(entity.name) + "." + std::string(f.name) + ": " +
                              std::string(target->name) + " " + *a.value +
                              " does not exist on this device");
    }
  }

  // Deleting a row that live rows reference is a conflict on the server (§3.4); refuse
  // it here rather than queue an operation bound to fail.
  if (op.action == Action::remove) {
    for (const Reference& ref : references_to(entity)) {
      auto q = db_.query("SELECT count(*) FROM " + quoted(ref.from->name) + " WHERE " +
                         quoted(ref.from->fields[ref.field].name) + " = ?1");
      q.bind(1, op.entity_id);
      q.step();
      if (std::int64_t n = q.int64(0); n > 0) {
        return Error{ErrorCode::conflict, std::string(entity.name) + " " + op.entity_id +
                                              " is referenced by " + std::to_string(n) + " " +
                                              std::string(ref.from->name)};
      }
    }
  }

  // The row's first queued operation: until now its visible state was the server's, so
  // keep that apart before changing it (a rejection or discard goes back to it).
  if (row) {
    auto q = db_.query("SELECT 1 FROM operations WHERE entity = ?1 AND entity_id = ?2 LIMIT 1");
    q.bind(1, entity.name).bind(2, op.entity_id);
    if (!q.step()) {
      db_.query("INSERT OR REPLACE INTO server_rows (entity, id, data) VALUES (?1, ?2, ?3)")
          .bind(1, entity.name)
          .bind(2, op.entity_id)
          .bind(3, encode_server_state(row->values, row->created_at, row->updated_at))
          .run();
    }
  }

  apply_to(op, row);
  if (row) {
    write_visible(entity, op.entity_id, *row);
  } else {
    delete_visible(entity, op.entity_id);
  }
  db_.query(
         "INSERT INTO operations (operation_id, entity, action, entity_id, body, "
         "client_timestamp, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')")
      .bind(1, operation_id)
      .bind(2, entity.name)
      .bind(3, action_name(op.action))
      .bind(4, op.entity_id)
      .bind(5, body)
      .bind(6, client_timestamp)
      .run();
  std::optional<Row> written;
  if (row) written = to_row(entity, op.entity_id, *row, row_sync_state(entity, op.entity_id));
  tx.commit();
  return written;
}

RowSyncState LocalStore::row_sync_state(const EntitySpec& entity, std::string_view id) {
  auto q = db_.query(
      "SELECT status FROM operations WHERE entity = ?1 AND entity_id = ?2 "
      "AND status IN ('pending', 'failed') ORDER BY status = 'failed' DESC LIMIT 1");
  q.bind(1, entity.name).bind(2, id);
  if (!q.step()) return RowSyncState::synced;
  return q.text(0) == "failed" ? RowSyncState::failed : RowSyncState::pending;
}

Row LocalStore::to_row(const EntitySpec& entity, std::string_view id, const LocalRow& row,
                       RowSyncState state) const {
  Row out;
  out.entity = entity.name;
  out.id = id;
  out.fields.reserve(entity.fields.size());
  for (std::size_t i = 0; i < entity.fields.size(); ++i) {
    out.fields.emplace_back(std::string(entity.fields[i].name), row.values[i]);
  }
  out.created_at = row.created_at;
  out.updated_at = row.updated_at;
  out.sync_state = state;
  return out;
}

std::optional<Row> LocalStore::read_row(const EntitySpec& entity, std::string_view id) {
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::deferred);  // one snapshot
  auto row = load_visible(entity, id);
  if (!row) return std::nullopt;
  return to_row(entity, id, *row, row_sync_state(entity, id));
}

Result<std::vector<Row>> LocalStore::list_rows(const EntitySpec& entity, const ListQuery& query) {
  std::string sql = "SELECT id, " + table_of(entity).column_list + " FROM " + quoted(entity.name);
  std::vector<std::string> params;
  for (const auto& [field, value] : query.equals) {
    std::string column;
    if (field == "id" || field == "created_at" || field == "updated_at") {
      column = field;
    } else if (entity.field_index(field) != EntitySpec::npos) {
      column = quoted(field);
    } else {
      return validation_error(std::string(entity.name) + "." + field + ": unknown field");
    }
    sql += params.empty() ? " WHERE " : " AND ";
    sql += column + " = ?" + std::to_string(params.size() + 1);
    params.push_back(value);
  }
  sql += " ORDER BY created_at, id LIMIT " + std::to_string(query.limit) + " OFFSET " +
         std::to_string(query.offset);

  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::deferred);
  std::vector<std::pair<std::string, LocalRow>> rows;
  {
    auto q = db_.query(sql);
    for (std::size_t i = 0; i < params.size(); ++i) q.bind(static_cast<int>(i + 1), params[i]);
    const int n = static_cast<int>(entity.fields.size());
    while (q.step()) {
      LocalRow row;
      for (int i = 0; i < n; ++i) row.values.push_back(q.optional_text(i + 1));
      row.created_at = q.text(n + 1);
      row.updated_at = q.text(n + 2);
      rows.emplace_back(std::string(q.text(0)), std::move(row));
    }
  }
  std::vector<Row> out;
  out.reserve(rows.size());
  for (auto& [id, row] : rows) out.push_back(to_row(entity, id, row, row_sync_state(entity, id)));
  return out;
}

std::vector<QueuedOperation> LocalStore::queued_operations(std::size_t limit) {
  auto q = db_.query(
      "SELECT sequence, operation_id, entity, action, entity_id, body, client_timestamp, "
      "status, attempts, next_attempt_at, last_error_code, last_error_message FROM operations "
      "WHERE status IN ('pending', 'failed') ORDER BY status = 'failed', sequence LIMIT ?1");
  q.bind(1, static_cast<std::int64_t>(limit));
  std::vector<QueuedOperation> out;
  while (q.step()) {
    QueuedOperation op;
    op.sequence = q.int64(0);
    op.operation_id = q.text(1);
    op.entity = q.text(2);
    op.action = q.text(3);
    op.entity_id = q.text(4);
    auto body = parse_json(q.text(5));
    const JsonValue* payload = body ? body->find("payload") : nullptr;
    op.payload = payload ? to_json(*payload) : "{}";
    op.client_timestamp = q.text(6);
    op.status = q.text(7) == "failed" ? OperationStatus::failed : OperationStatus::pending;
    op.attempts = static_cast<int>(q.int64(8));
    if (std::int64_t next = q.int64(9); next > 0) op.next_attempt_at = format_timestamp(next);
    if (!q.is_null(10)) {
      auto code = error_code_from_name(q.text(10));
      op.last_error = Error{code.value_or(ErrorCode::internal), std::string(q.text(11))};
    }
    out.push_back(std::move(op));
  }
  return out;
}

std::size_t LocalStore::count_operations(OperationStatus status) {
  auto q = db_.query("SELECT count(*) FROM operations WHERE status = ?1");
  q.bind(1, status == OperationStatus::failed ? "failed" : "pending");
  q.step();
  return static_cast<std::size_t>(q.int64(0));
}

std::optional<LocalStore::FailedOperation> LocalStore::find_failed(std::string_view operation_id) {
  auto q = db_.query(
      "SELECT sequence, entity, entity_id FROM operations WHERE operation_id = ?1 AND status = 'failed'");
  q.bind(1, operation_id);
  if (!q.step()) return std::nullopt;
  return FailedOperation{q.int64(0), find_entity(q.text(1)), std::string(q.text(2))};
}

Status LocalStore::retry_failed(std::string_view operation_id) {
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  auto failed = find_failed(operation_id);
  if (!failed) return Error{ErrorCode::not_found, "no failed operation " + std::string(operation_id)};
  // To the end of the queue, as if written now, but with its original clientTimestamp:
  // the write happened then.
  db_.query(
         "INSERT INTO operations (operation_id, entity, action, entity_id, body, "
         "client_timestamp, status) SELECT operation_id, entity, action, entity_id, body, "
         "client_timestamp, 'pending' FROM operations WHERE sequence = ?1")
      .bind(1, failed->sequence)
      .run();
  db_.query("DELETE FROM operations WHERE sequence = ?1").bind(1, failed->sequence).run();
  rebuild_row(*failed->entity, failed->entity_id);
  tx.commit();
  return Ok{};
}

Status LocalStore::discard_failed(std::string_view operation_id) {
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  auto failed = find_failed(operation_id);
  if (!failed) return Error{ErrorCode::not_found, "no failed operation " + std::string(operation_id)};
  db_.query("DELETE FROM operations WHERE sequence = ?1").bind(1, failed->sequence).run();
  rebuild_row(*failed->entity, failed->entity_id);
  forget_server_state_if_untracked(*failed->entity, failed->entity_id);
  tx.commit();
  return Ok{};
}

std::vector<OutgoingOperation> LocalStore::due_operations(std::size_t limit, UnixMillis now) {
  auto q = db_.query(
      "SELECT sequence, operation_id, body, attempts, next_attempt_at FROM operations "
      "WHERE status = 'pending' ORDER BY sequence LIMIT ?1");
  q.bind(1, static_cast<std::int64_t>(limit));
  std::vector<OutgoingOperation> out;
  while (q.step()) {
    if (q.int64(4) > now) break;
    out.push_back({q.int64(0), std::string(q.text(1)), std::string(q.text(2)),
                   static_cast<int>(q.int64(3))});
  }
  return out;
}

std::optional<UnixMillis> LocalStore::earliest_retry() {
  auto q = db_.query(
      "SELECT next_attempt_at FROM operations WHERE status = 'pending' ORDER BY sequence LIMIT 1");
  if (!q.step() || q.int64(0) == 0) return std::nullopt;
  return q.int64(0);
}

void LocalStore::record_outcomes(const std::vector<OperationOutcome>& outcomes) {
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  for (const OperationOutcome& o : outcomes) {
    switch (o.kind) {
      case OperationOutcome::Kind::acknowledged:
        db_.query("UPDATE operations SET status = 'acked' WHERE sequence = ?1")
            .bind(1, o.sequence)
            .run();
        break;
      case OperationOutcome::Kind::retry_later:
        db_.query(
               "UPDATE operations SET attempts = attempts + 1, next_attempt_at = ?2, "
               "last_error_code = ?3, last_error_message = ?4 WHERE sequence = ?1")
            .bind(1, o.sequence)
            .bind(2, o.next_attempt_at)
            .bind(3, to_wire(o.error->code))
            .bind(4, o.error->message)
            .run();
        break;
      case OperationOutcome::Kind::rejected: {
        db_.query(
               "UPDATE operations SET status = 'failed', attempts = attempts + 1, "
               "last_error_code = ?2, last_error_message = ?3 WHERE sequence = ?1")
            .bind(1, o.sequence)
            .bind(2, to_wire(o.error->code))
            .bind(3, o.error->message)
            .run();
        auto q = db_.query("SELECT entity, entity_id FROM operations WHERE sequence = ?1");
        q.bind(1, o.sequence);
        if (!q.step()) break;
        const EntitySpec* entity = find_entity(q.text(0));
        std::string entity_id(q.text(1));
        // The rejected change had no effect on the server: the row goes back to what the
        // server holds, plus whatever else is still pending for it.
        rebuild_row(*entity, entity_id);
        break;
      }
    }
  }
  add_to_counter(kOperationsPushed,
                 std::count_if(outcomes.begin(), outcomes.end(), [](const OperationOutcome& o) {
                   return o.kind == OperationOutcome::Kind::acknowledged;
                 }));
  tx.commit();
}

std::uint64_t LocalStore::counter(std::string_view key) {
  auto value = setting(key);
  return value ? std::strtoull(value->c_str(), nullptr, 10) : 0;
}

void LocalStore::add_to_counter(std::string_view key, std::int64_t amount) {
  if (amount <= 0) return;
  db_.query(
         "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET "
         "value = CAST(CAST(value AS INTEGER) + ?2 AS TEXT)")
      .bind(1, key)
      .bind(2, amount)
      .run();
}

LocalStore::PullMark LocalStore::pull_mark() {
  auto q = db_.query("SELECT count(*) FROM operations WHERE status = 'acked'");
  q.step();
  return PullMark{setting("cursor"), q.int64(0)};
}

std::vector<ChangedRow> LocalStore::apply_pulled_page(const std::vector<PulledChange>& changes,
                                                      std::string_view cursor, bool caught_up) {
  std::vector<ChangedRow> changed;
  sqlite::Transaction tx(db_, sqlite::Transaction::Lock::immediate);
  // Rows with operations in the queue are tracked: their server state is kept apart, and
  // those with pending operations keep their local state (the invariant above). Usually
  // there are few, so they are read once per page.
  std::unordered_map<std::string, bool> tracked;  // "entity/id" -> has pending operations
  {
    auto q = db_.query(
        "SELECT entity, entity_id, max(status = 'pending') FROM operations GROUP BY entity, entity_id");
    while (q.step()) tracked[std::string(q.text(0)) + "/" + std::string(q.text(1))] = q.int64(2) != 0;
  }
  auto lookup = [&](const EntitySpec& e, const std::string& id) -> const bool* {
    if (tracked.empty()) return nullptr;
    auto it = tracked.find(std::string(e.name) + "/" + id);
    return it == tracked.end() ? nullptr : &it->second;
  };
  // Rows are written in (entity, id) order rather than page order: the replica's id
  // indexes are keyed by random UUIDs, and in key order a page's inserts walk each index
  // once, leaf after leaf, instead of jumping between leaves that no longer fit in the
  // page cache once the replica holds a few hundred thousand rows. Rows are independent of
  // each other here, and a stable sort keeps two changes of one row in page order; what
  // changed is still reported in page order.
  std::vector<std::size_t> order(changes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&changes](std::size_t a, std::size_t b) {
    const PulledChange& x = changes[a];
    const PulledChange& y = changes[b];
    if (x.entity != y.entity) return entity_index(*x.entity) < entity_index(*y.entity);
    return x.entity_id < y.entity_id;
  });
  std::vector<std::optional<ChangedRow>> changed_at(changes.size());
  for (std::size_t i : order) {
    const PulledChange& c = changes[i];
    const bool* pending = lookup(*c.entity, c.entity_id);
    if (pending) {
      if (c.deleted) {
        forget_server_state(*c.entity, c.entity_id);
      } else {
        db_.query("INSERT OR REPLACE INTO server_rows (entity, id, data) VALUES (?1, ?2, ?3)")
            .bind(1, c.entity->name)
            .bind(2, c.entity_id)
            .bind(3, encode_server_state(c.values, c.created_at, c.updated_at))
            .run();
      }
      if (*pending) continue;
    }
    ChangedRow change{std::string(c.entity->name), c.entity_id, ChangeAction::upsert};
    if (c.deleted) {
      if (!delete_visible(*c.entity, c.entity_id)) continue;
      change.action = ChangeAction::remove;
    } else {
      // A row whose writes were acknowledged is usually this device's own write coming
      // back: reported only when its fields differ from what the device shows.
      std::optional<LocalRow> before;
      if (pending) before = load_visible(*c.entity, c.entity_id);
      write_visible(*c.entity, c.entity_id, LocalRow{c.values, c.created_at, c.updated_at});
      if (before && before->values == c.values) continue;
    }
    changed_at[i] = std::move(change);
  }
  for (std::optional<ChangedRow>& change : changed_at) {
    if (change) changed.push_back(std::move(*change));
  }
  set_setting("cursor", cursor);
  if (caught_up) {
    // Every acknowledged operation is now reflected in server_rows (the pull started after
    // the acknowledgements and the feed is exact), so their rows take the server's state,
    // including what the feed had no reason to resend (an insert that was a no-op).
    std::vector<std::pair<std::string, std::string>> acked;
    {
      auto q = db_.query("SELECT DISTINCT entity, entity_id FROM operations WHERE status = 'acked'");
      while (q.step()) acked.emplace_back(q.text(0), q.text(1));
    }
    db_.query("DELETE FROM operations WHERE status = 'acked'").run();
    for (const auto& [entity_name, id] : acked) {
      const EntitySpec* entity = find_entity(entity_name);
      if (const bool* pending = lookup(*entity, id); pending && *pending) continue;
      rebuild_row(*entity, id);
      forget_server_state_if_untracked(*entity, id);
    }
  }
  add_to_counter(kRowsPulled, static_cast<std::int64_t>(changes.size()));
  tx.commit();
  return changed;
}

}  // namespace avsync::client

#include "server/sync_service.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "core/cursor.hpp"
#include "core/ids.hpp"
#include "core/validation.hpp"
#include "server/metrics.hpp"
#include "store/change_feed.hpp"

namespace avsync::server {
namespace {

using store::BatchTransaction;
using store::OperationRecord;
using store::OperationStatus;
using store::StoredRow;
using store::WriteStamp;

std::string row_name(const EntitySpec& entity, std::string_view id) {
  return std::string(entity.name) + " " + std::string(id);
}

Error not_found(const EntitySpec& e, std::string_view id) {
  return Error{ErrorCode::not_found, row_name(e, id) + " does not exist"};
}

Error conflict(std::string message) { return Error{ErrorCode::conflict, std::move(message)}; }

// Foreign keys the operation sets must name live rows of the tenant (§2, §3.4).
std::optional<Error> check_references(BatchTransaction& tx, const ValidOperation& op) {
  for (const FieldAssignment& a : op.assignments) {
    const FieldSpec& f = op.entity->fields[a.field];
    if (f.type != FieldType::reference || !a.value) continue;
    const EntitySpec& target = *find_entity(f.references);
    if (!tx.is_live(target, *a.value))
      return validation_error(std::string(op.entity->name) + "." + std::string(f.name) + ": " +
                              row_name(target, *a.value) + " does not exist");
  }
  return std::nullopt;
}

// The time a write competes with under last-write-wins: the client's clock, but never
// later than the server's, so a clock in the future cannot win forever (§3.4).
UnixMillis write_time(const ValidOperation& op, UnixMillis now) {
  return std::min(op.client_time, now);
}

std::optional<Error> apply_insert(BatchTransaction& tx, const ValidOperation& op,
                                  UnixMillis now, std::string_view now_text) {
  if (auto existing = tx.find_row(*op.entity, op.entity_id)) {
    if (existing->deleted)
      return conflict(row_name(*op.entity, op.entity_id) + " was deleted and cannot be inserted again");
    // A replayed insert whose fields all match is a success without change.
    for (const FieldAssignment& a : op.assignments)
      if (a.from_payload && existing->values[a.field] != a.value)
        return conflict(row_name(*op.entity, op.entity_id) + " already exists with a different " +
                        std::string(op.entity->fields[a.field].name));
    return std::nullopt;
  }
  if (auto bad = check_references(tx, op)) return bad;
  std::vector<std::optional<std::string>> values(op.entity->fields.size());
  for (const FieldAssignment& a : op.assignments) values[a.field] = a.value;
  tx.insert_row(*op.entity, op.entity_id, values, WriteStamp{write_time(op, now), now_text, tx.next_version()});
  return std::nullopt;
}

std::optional<Error> lost_to_newer_write(const ValidOperation& op, const StoredRow& row,
                                         UnixMillis now) {
  if (write_time(op, now) > row.last_write) return std::nullopt;
  return conflict(row_name(*op.entity, op.entity_id) + " has a newer write (" +
                  format_timestamp(row.last_write) + ") than this " +
                  (op.action == Action::update ? "update" : "delete") + " (" +
                  format_timestamp(write_time(op, now)) + ")");
}

std::optional<Error> apply_update(BatchTransaction& tx, const ValidOperation& op,
                                  UnixMillis now, std::string_view now_text) {
  auto row = tx.find_row(*op.entity, op.entity_id);
  if (!row || row->deleted) return not_found(*op.entity, op.entity_id);
  if (auto lost = lost_to_newer_write(op, *row, now)) return lost;
  if (auto bad = check_references(tx, op)) return bad;
  for (const FieldAssignment& a : op.assignments) row->values[a.field] = a.value;
  tx.update_row(*op.entity, op.entity_id, row->values,
                WriteStamp{write_time(op, now), now_text, tx.next_version()});
  return std::nullopt;
}

std::optional<Error> apply_delete(BatchTransaction& tx, const ValidOperation& op,
                                  UnixMillis now, std::string_view now_text) {
  auto row = tx.find_row(*op.entity, op.entity_id);
  if (!row || row->deleted) return std::nullopt;  // deleting nothing succeeds (§3.4)
  if (auto lost = lost_to_newer_write(op, *row, now)) return lost;
  std::string referenced_by;
  for (const Reference& ref : references_to(*op.entity)) {
    std::int64_t n = tx.count_live_references(ref, op.entity_id);
    if (n == 0) continue;
    if (!referenced_by.empty()) referenced_by += ", ";
    referenced_by += std::to_string(n) + " " + std::string(ref.from->name) + " (" +
                     std::string(ref.from->fields[ref.field].name) + ")";
  }
  if (!referenced_by.empty())
    return conflict(row_name(*op.entity, op.entity_id) + " is still referenced by " + referenced_by);
  tx.delete_row(*op.entity, op.entity_id, WriteStamp{write_time(op, now), now_text, tx.next_version()});
  return std::nullopt;
}

// Text a client sent, fit for any store's text column: U+0000 (which PostgreSQL text
// cannot hold) becomes U+FFFD. Only for the log: such values never reach a domain row.
std::string loggable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\0') out += "\xEF\xBF\xBD";
    else out += c;
  }
  return out;
}

// The log row for an operation, as sent; status and time are filled in when it is applied.
OperationRecord describe(const Operation& op) {
  const JsonValue* ts = op.body.find("clientTimestamp");
  return OperationRecord{
      .operation_id = op.operation_id,
      .entity = loggable(string_member(op.body, "entity")),
      .action = loggable(string_member(op.body, "action")),
      .entity_id = loggable(string_member(op.body, "entityId")),
      .payload = loggable_payload(op.body),
      .status = OperationStatus::processed,
      .client_timestamp = ts && ts->is_string() ? std::optional<std::string>(loggable(ts->text)) : std::nullopt,
  };
}

// What a failed operation leaves in the log and in the answer: every field it sent, and
// the message (which may quote it), cut to kFailedFieldMaxBytes; a payload that is too
// long, or that holds a number no store can keep, is kept as text (bounded_payload).
void record_failure(OperationRecord& record, Error& error, bool payload_fits) {
  error.message = cut_text(error.message);
  record.status = OperationStatus::failed;
  record.error = std::string(to_wire(error.code));
  record.message = loggable(error.message);
  record.entity = cut_text(record.entity);
  record.action = cut_text(record.action);
  record.entity_id = cut_text(record.entity_id);
  if (record.client_timestamp) record.client_timestamp = cut_text(*record.client_timestamp);
  record.payload = bounded_payload(record.payload, payload_fits);
}

JsonValue json_string(std::string_view text) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = text;
  return v;
}

// The write apply_client makes of a failed operation as logged, checked and applied like
// a batch's operation inside `tx`, or why it cannot be made (nothing written then). Its
// time is now, so last-write-wins lets it replace the server's row.
Result<OperationRecord> apply_client_fields(BatchTransaction& tx, const OperationRecord& failed,
                                            UnixMillis now, std::string_view now_text) {
  const EntitySpec* entity = find_entity(failed.entity);
  if (!entity)
    return validation_error("the operation names no known entity ('" + cut_text(failed.entity, 64) +
                            "')");
  const auto entity_id = normalize_uuid(failed.entity_id);
  if (!entity_id)
    return validation_error("the operation's entityId is not a UUID: it names no row");
  auto payload = parse_json(failed.payload);
  if (!payload || !payload->is_object() || payload->find("payloadText"))
    return validation_error(
        "the log kept only part of this operation's payload; it cannot be applied");
  auto row = tx.find_row(*entity, *entity_id);
  std::string action = failed.action;
  if (action == "insert" || action == "update") {
    if (row && row->deleted)
      return conflict(row_name(*entity, *entity_id) +
                      " was deleted; a deleted row cannot be written again");
    action = row ? "update" : "insert";
  } else if (action != "delete") {
    return validation_error("the operation's action ('" + cut_text(failed.action, 64) +
                            "') is not a write");
  }
  JsonValue body;
  body.kind = JsonValue::Kind::object;
  const std::string operation_id = generate_uuid();
  body.members.emplace_back("operationId", json_string(operation_id));
  body.members.emplace_back("entity", json_string(entity->name));
  body.members.emplace_back("action", json_string(action));
  body.members.emplace_back("entityId", json_string(*entity_id));
  body.members.emplace_back("clientTimestamp", json_string(now_text));
  body.members.emplace_back("payload", std::move(*payload));
  auto valid = validate_operation(body);
  if (!valid) {
    Error error = valid.error();
    if (action == "insert" && failed.action == "update")
      error.message = row_name(*entity, *entity_id) +
                      " no longer exists and this update's fields cannot "
                      "insert it: " +
                      error.message;
    return error;
  }
  std::optional<Error> error;
  tx.begin_operation();
  switch (valid->action) {
    case Action::insert:
      error = apply_insert(tx, *valid, now, now_text);
      break;
    case Action::update:
      error = apply_update(tx, *valid, now, now_text);
      break;
    case Action::remove:
      error = apply_delete(tx, *valid, now, now_text);
      break;
  }
  tx.end_operation(!error);
  if (error) return *error;
  OperationRecord record = describe(Operation{operation_id, std::move(body)});
  record.entity = std::string(entity->name);
  if (valid->action == Action::remove) record.payload = bounded_payload(record.payload, true);
  record.processed_at = std::string(now_text);
  return record;
}

}  // namespace

std::string_view to_wire(ConflictResolution::Choice choice) {
  return choice == ConflictResolution::Choice::apply_client ? "apply_client" : "keep_server";
}

Result<store::ResolutionRecord> SyncService::resolve_conflict(const ConflictResolution& request) {
  auto tx = store_.begin_batch(request.business_id);
  const std::uint64_t start_version = tx->version();
  auto failed = tx->read_operation(request.operation_id);
  if (!failed || failed->status != OperationStatus::failed)
    return Error{ErrorCode::not_found, "this business has no failed operation with this id"};
  if (tx->is_resolved(request.operation_id))
    return Error{ErrorCode::conflict, "this operation was resolved already"};
  const UnixMillis now = clock_.now();
  const std::string now_text = format_timestamp(now);
  store::ResolutionRecord record{request.business_id,
                                 request.operation_id,
                                 std::string(to_wire(request.choice)),
                                 request.by,
                                 now_text,
                                 request.address,
                                 std::nullopt};
  if (request.choice == ConflictResolution::Choice::apply_client) {
    auto written = apply_client_fields(*tx, *failed, now, now_text);
    if (!written) return written.error();
    tx->record_operation(*written);
    if (tx->version() != start_version) record.version = tx->version();
  }
  tx->record_resolution(record);
  std::uint64_t version = 0;
  commit(RequestContext{request.business_id, request.by}, *tx, start_version, version);
  return record;
}

struct SyncService::Prepared {
  Result<ValidOperation> valid;
  OperationRecord record;  // as sent: status and time are filled in by each attempt
  bool payload_fits;       // every number of the payload fits_numeric
};

namespace {

// Counts each operation under its entity and action (as validated, else as sent when the
// protocol knows them) and its outcome.
template <typename PreparedList>
void count_outcomes(Metrics& metrics, const PreparedList& prepared,
                    const std::vector<OperationResult>& results) {
  for (std::size_t i = 0; i < prepared.size() && i < results.size(); ++i) {
    const auto& p = prepared[i];
    const EntitySpec* entity = p.valid ? p.valid->entity : find_entity(p.record.entity);
    std::optional<Action> action;
    if (p.valid)
      action = p.valid->action;
    else if (p.record.action == "insert")
      action = Action::insert;
    else if (p.record.action == "update")
      action = Action::update;
    else if (p.record.action == "delete")
      action = Action::remove;
    const auto& error = results[i].error;
    metrics.count_operation(entity, action,
                            error ? std::optional<ErrorCode>(error->code) : std::nullopt);
  }
}

}  // namespace

BatchOutcome SyncService::apply_batch(const RequestContext& context,
                                      const std::vector<Operation>& operations) {
  // Validation and the log record need no database: prepare them before taking the
  // store's writer, so the serialised part of a batch is only its reads and writes.
  std::vector<Prepared> prepared;
  prepared.reserve(operations.size());
  for (const Operation& op : operations) {
    const JsonValue* payload = op.body.find("payload");
    Prepared p{validate_operation(op.body), describe(op), !payload || numbers_fit_numeric(*payload)};
    if (p.valid) {
      p.record.entity = std::string(p.valid->entity->name);  // `payments` is logged as `abonos`
      p.record.entity_id = p.valid->entity_id;
      // A delete's payload is ignored (§3), so it is logged bounded like a failure's.
      if (p.valid->action == Action::remove) p.record.payload = bounded_payload(p.record.payload, p.payload_fits);
    }
    prepared.push_back(std::move(p));
  }
  const std::span<const Prepared> all(prepared);
  const std::size_t limit = store_.max_operations_per_transaction();
  const std::size_t step = limit ? limit : std::max<std::size_t>(1, all.size());
  BatchOutcome outcome;
  outcome.results.reserve(all.size());
  for (std::size_t start = 0; start < all.size(); start += step) {
    const auto part = all.subspan(start, std::min(step, all.size() - start));
    std::vector<OperationResult> done;
    try {
      done = apply_together(context, part, outcome.version);
    } catch (const store::DataRejected&) {
      // Validation should have refused every value the database refuses; one got through.
      // Nothing of this part was applied: run it again one operation at a time, so only the
      // operation that carries the value fails (§3.1: each operation is atomic on its own).
      done = apply_one_at_a_time(context, part, outcome.version);
    }
    std::move(done.begin(), done.end(), std::back_inserter(outcome.results));
  }
  if (metrics_) count_outcomes(*metrics_, prepared, outcome.results);
  return outcome;
}

void SyncService::commit(const RequestContext& context, store::BatchTransaction& tx,
                         std::uint64_t before, std::uint64_t& version) {
  tx.commit();
  version = tx.version();
  // Only a transaction that wrote moved the feed; the store's watch may announce it again.
  if (commits_ && version != before) commits_->changed(context.business_id, version);
}

std::vector<OperationResult> SyncService::apply_together(const RequestContext& context,
                                                         std::span<const Prepared> prepared,
                                                         std::uint64_t& version) {
  std::vector<OperationResult> results;
  results.reserve(prepared.size());
  auto tx = store_.begin_batch(context.business_id);
  const std::uint64_t start_version = tx->version();
  std::vector<std::string_view> ids;
  ids.reserve(prepared.size());
  for (const Prepared& p : prepared) ids.push_back(p.record.operation_id);
  tx->expect_operations(ids);
  // Every row the batch may read: the rows it writes and the rows its foreign keys name.
  std::vector<std::vector<std::string_view>> rows(all_entities().size());
  for (const Prepared& p : prepared) {
    if (!p.valid) continue;
    rows[entity_index(*p.valid->entity)].push_back(p.valid->entity_id);
    for (const FieldAssignment& a : p.valid->assignments) {
      const FieldSpec& f = p.valid->entity->fields[a.field];
      if (f.type == FieldType::reference && a.value) rows[entity_index(*find_entity(f.references))].push_back(*a.value);
    }
  }
  for (std::size_t e = 0; e < rows.size(); ++e)
    if (!rows[e].empty()) tx->expect_rows(all_entities()[e], rows[e]);
  for (const Prepared& p : prepared) {
    const UnixMillis now = clock_.now();
    const std::string now_text = format_timestamp(now);
    // §3.2: an applied operation is never applied again; a failed one is re-evaluated.
    if (tx->find_operation(p.record.operation_id) == OperationStatus::processed) {
      results.push_back({p.record.operation_id, std::nullopt, now});
      continue;
    }
    std::optional<Error> error;
    if (!p.valid) {
      error = p.valid.error();
    } else {
      const ValidOperation& valid = *p.valid;
      tx->begin_operation();
      switch (valid.action) {
        case Action::insert: error = apply_insert(*tx, valid, now, now_text); break;
        case Action::update: error = apply_update(*tx, valid, now, now_text); break;
        case Action::remove: error = apply_delete(*tx, valid, now, now_text); break;
      }
      tx->end_operation(!error);
    }
    OperationRecord record = p.record;
    record.processed_at = now_text;
    if (error) record_failure(record, *error, p.payload_fits);
    tx->record_operation(record);
    results.push_back({record.operation_id, std::move(error), now});
  }
  commit(context, *tx, start_version, version);
  return results;
}

std::vector<OperationResult> SyncService::apply_one_at_a_time(const RequestContext& context,
                                                              std::span<const Prepared> prepared,
                                                              std::uint64_t& version) {
  std::vector<OperationResult> results;
  results.reserve(prepared.size());
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    try {
      results.push_back(std::move(apply_together(context, prepared.subspan(i, 1), version).at(0)));
      continue;
    } catch (const store::DataRejected&) {
      // This operation carries the value: it fails alone, below.
    }
    // Logged with what can be stored: its payload as text, so no value of it is parsed.
    const UnixMillis now = clock_.now();
    OperationRecord record = prepared[i].record;
    record.processed_at = format_timestamp(now);
    Error error{ErrorCode::validation_error, "payload: holds a value the database cannot store"};
    record_failure(record, error, /*payload_fits=*/false);
    try {
      auto tx = store_.begin_batch(context.business_id);
      const std::uint64_t start_version = tx->version();
      tx->record_operation(record);
      commit(context, *tx, start_version, version);
    } catch (const store::DataRejected& e) {
      throw std::runtime_error(std::string("the operation log refused a failed operation's record: ") + e.what());
    }
    results.push_back({record.operation_id, std::move(error), now});
  }
  return results;
}

Result<ChangesPage> SyncService::read_changes(const RequestContext& context,
                                              const ChangesRequest& request) {
  store::ChangeQuery query;
  query.limit = request.limit;
  query.after_version = request.after_version;
  if (request.since == ChangesRequest::Since::instant) query.changed_since = request.changed_since;
  // A full sync may leave out tombstones (§4): the client holds nothing they could remove.
  query.include_deleted = request.since != ChangesRequest::Since::beginning;
  auto snapshot = store_.open_changes(context.business_id, query);
  ChangesPage page;
  page.latest_version = snapshot->latest_version();
  if (query.after_version > page.latest_version)
    return Error{ErrorCode::bad_request,
                 "since is a cursor this feed never issued; sync again from the beginning"};
  ChangesEncoder encoder(query.limit);
  const store::PageEnd end = store::merge_changes(
      *snapshot, query, [&](const ChangeView& change) { encoder.add(change); });
  snapshot.reset();  // the snapshot ends before the body is finished
  page.rows = end.rows;
  page.has_more = end.has_more;
  page.body = encoder.finish(encode_cursor(end.cursor_version), end.has_more, clock_.now());
  return page;
}

}  // namespace avsync::server

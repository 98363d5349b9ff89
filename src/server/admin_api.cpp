#include "server/admin_api.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "core/base64url.hpp"
#include "core/codec.hpp"
#include "core/cursor.hpp"
#include "core/ids.hpp"
#include "server/auth.hpp"
#include "server/router.hpp"
#include "server/sync_service.hpp"

namespace avsync::server {
namespace json = boost::json;
namespace {

constexpr std::size_t kMinCredentialLength = 32;
constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxUserIdLength = 256;

HttpResponse json_answer(int status, const json::object& body) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

HttpResponse bad_request(std::string message) { return error_response(ErrorCode::bad_request, message); }

// The request body as an object whose members are all in `allowed`.
Result<json::object> parse_object(std::string_view body, std::initializer_list<std::string_view> allowed) {
  json::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return Error{ErrorCode::bad_request, "the body is not valid JSON: " + ec.message()};
  if (!value.is_object()) return Error{ErrorCode::bad_request, "the body must be a JSON object"};
  for (const auto& member : value.as_object())
    if (std::find(allowed.begin(), allowed.end(), member.key()) == allowed.end())
      return Error{ErrorCode::bad_request, "unknown member '" + std::string(member.key().substr(0, 64)) + "'"};
  return std::move(value.as_object());
}

// A string member of 1 to `max` characters, or nullopt when absent; bad_request otherwise.
Result<std::optional<std::string>> string_member(const json::object& object, std::string_view name,
                                                 std::size_t max) {
  const json::value* v = object.if_contains(name);
  if (!v) return std::optional<std::string>();
  if (!v->is_string() || v->as_string().empty() || v->as_string().size() > max)
    return Error{ErrorCode::bad_request,
                 std::string(name) + " must be a string of 1 to " + std::to_string(max) + " characters"};
  return std::optional<std::string>(std::string(v->as_string()));
}

// The operations console's pages (docs/protocol.md §7.2 to §7.5).
constexpr std::size_t kDefaultPage = 100;
constexpr std::size_t kMaxBusinessPage = 1000;
constexpr std::size_t kMaxOperationPage = 500;
constexpr std::size_t kMaxFilterLength = 128;  // entity, error code, operation id
constexpr std::size_t kMaxResolverLength = 200;

json::value nullable(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

// A query's parameters, read one by one; the first malformed one is remembered.
bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

class QueryReader {
 public:
  explicit QueryReader(std::string_view query) : query_(query) {}

  // A value of 1 to `max` bytes, or nullopt when absent or empty.
  // Control characters are refused: PostgreSQL would cut a value at a NUL byte, so a filter
  // holding one would match another value there than on SQLite.
  std::optional<std::string> text(std::string_view name, std::size_t max = kMaxFilterLength) {
    auto value = raw(name);
    if (value && value->size() > max)
      fail(std::string(name) + " must be at most " + std::to_string(max) + " characters");
    else if (value && has_control_character(*value))
      fail(std::string(name) + " must not hold control characters");
    return value;
  }
  std::optional<std::string> business_id() {
    auto value = raw("businessId");
    if (value && !is_business_id(*value))
      fail("businessId must be 1 to 128 printable ASCII characters");
    return value;
  }
  // A timestamp in canonical form (RFC 3339, UTC), or nullopt when absent.
  std::optional<std::string> time(std::string_view name) {
    auto value = raw(name);
    if (!value) return std::nullopt;
    auto parsed = parse_timestamp(*value);
    if (!parsed) {
      fail(std::string(name) + " must be an RFC 3339 time such as 2026-01-31T12:00:00.000Z");
      return std::nullopt;
    }
    return format_timestamp(*parsed);
  }
  std::size_t limit(std::size_t max) {
    auto value = raw("limit");
    if (!value) return kDefaultPage;
    std::size_t n = 0;
    bool digits = !value->empty() && value->size() <= 4;
    for (char c : *value) digits = digits && c >= '0' && c <= '9';
    if (digits) n = std::stoul(*value);
    if (!digits || n < 1 || n > max)
      fail("limit must be an integer from 1 to " + std::to_string(max));
    return n;
  }
  const std::optional<std::string>& error() const { return error_; }
  void fail(std::string message) {
    if (!error_) error_ = std::move(message);
  }

 private:
  std::optional<std::string> raw(std::string_view name) {
    auto value = query_param(query_, name);
    if (!value) {
      fail(value.error().message);
      return std::nullopt;
    }
    if (!*value || (*value)->empty()) return std::nullopt;
    return std::move(**value);
  }

  std::string_view query_;
  std::optional<std::string> error_;
};

// Cursors are opaque to callers: base64url of a JSON array of the last row's key.
std::string encode_list_cursor(std::initializer_list<std::string_view> key) {
  json::array a;
  for (std::string_view k : key) a.emplace_back(k);
  return encode_base64url(json::serialize(a));
}

// The key `parts` strings long that encode_list_cursor made, or nullopt.
std::optional<std::vector<std::string>> decode_list_cursor(std::string_view cursor,
                                                           std::size_t parts) {
  if (cursor.size() > 1024) return std::nullopt;
  auto bytes = decode_base64url(cursor);
  if (!bytes) return std::nullopt;
  json::error_code ec;
  json::value value = json::parse(*bytes, ec);
  if (ec || !value.is_array() || value.as_array().size() != parts) return std::nullopt;
  std::vector<std::string> out;
  for (const json::value& v : value.as_array()) {
    if (!v.is_string()) return std::nullopt;
    out.emplace_back(v.as_string());
  }
  return out;
}

// A listing's position from its cursor: the time in canonical form, and the business the
// listing is filtered by, if any, the same as the cursor's.
std::optional<store::ListPosition> decode_position(std::string_view cursor,
                                                   const std::optional<std::string>& business_id) {
  auto key = decode_list_cursor(cursor, 3);
  if (!key) return std::nullopt;
  auto at = parse_timestamp((*key)[0]);
  if (!at || format_timestamp(*at) != (*key)[0]) return std::nullopt;
  if (business_id && *business_id != (*key)[1]) return std::nullopt;
  return store::ListPosition{std::move((*key)[0]), std::move((*key)[1]), std::move((*key)[2])};
}

constexpr std::string_view kBadCursor = "cursor is not one this listing issued";

json::value next_cursor(bool more, const store::ListPosition& last) {
  if (!more) return nullptr;
  return json::value(encode_list_cursor({last.at, last.business_id, last.operation_id}));
}

// The wire status of a logged operation: the log says "processed", the API "applied".
std::string_view wire_status(store::OperationStatus status) {
  return status == store::OperationStatus::processed ? "applied" : "failed";
}

json::value resolution_json(const std::optional<store::ResolutionRecord>& r) {
  if (!r) return nullptr;
  return json::object{{"resolution", r->resolution}, {"by", r->by}, {"at", r->at}};
}

// One logged operation as the API shows it, its payload spliced in as the log keeps it
// (JSON text; numbers keep their digits) and `extra` members appended.
std::string operation_json(const store::LoggedOperation& op, json::object extra = {}) {
  const store::OperationRecord& r = op.record;
  json::object o{{"businessId", op.business_id},
                 {"operationId", r.operation_id},
                 {"entity", r.entity},
                 {"action", r.action},
                 {"entityId", r.entity_id},
                 {"status", wire_status(r.status)},
                 {"errorCode", nullable(r.error)},
                 {"message", nullable(r.message)},
                 {"clientTimestamp", nullable(r.client_timestamp)},
                 {"processedAt", r.processed_at},
                 {"resolution", resolution_json(op.resolution)}};
  for (auto& member : extra) o.emplace(member.key(), std::move(member.value()));
  std::string text = json::serialize(o);
  text.pop_back();
  text += ",\"payload\":";
  text += r.payload.empty() ? "null" : r.payload;
  text += '}';
  return text;
}

// {"<list>": [items...], "nextCursor": ...}, the items being JSON text.
HttpResponse listing(std::string_view name, const std::vector<std::string>& items,
                     const json::value& cursor) {
  HttpResponse r;
  r.body = "{\"" + std::string(name) + "\":[";
  for (std::size_t i = 0; i < items.size(); ++i) r.body += (i ? "," : "") + items[i];
  r.body += "],\"nextCursor\":" + json::serialize(cursor) + "}";
  return r;
}

// The current server row, as the feed shows a row's fields (§4), plus "deleted".
json::value server_row_json(const EntitySpec& entity, std::string_view id,
                            const std::optional<store::StoredRow>& row) {
  if (!row) return nullptr;
  json::object o{{"id", id}};
  for (std::size_t i = 0; i < entity.fields.size(); ++i)
    o.emplace(entity.fields[i].name, nullable(row->values[i]));
  o.emplace("deleted", row->deleted);
  return o;
}

}  // namespace

Result<std::string> load_admin_credential(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::bad_request, "cannot read the admin credential file " + path};
  std::ostringstream text;
  text << in.rdbuf();
  std::string credential = text.str();
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!credential.empty() && is_space(credential.back())) credential.pop_back();
  credential.erase(0, std::find_if_not(credential.begin(), credential.end(), is_space) - credential.begin());
  if (credential.size() < kMinCredentialLength)
    return Error{ErrorCode::bad_request, "the admin credential in " + path + " must be at least " +
                                             std::to_string(kMinCredentialLength) +
                                             " characters (e.g. openssl rand -base64 32)"};
  // What a bearer token may hold, or no request could ever present it.
  if (!bearer_token("Bearer " + credential))
    return Error{ErrorCode::bad_request, "the admin credential in " + path +
                                             " may hold only letters, digits and - . _ ~ + / = (base64 is fine)"};
  return credential;
}

AdminApi::AdminApi(store::Store& store, const Clock& clock, std::string_view credential)
    : store_(store), clock_(clock), credential_digest_(hash_token(credential)) {}

bool AdminApi::authorized(std::string_view authorization) const {
  auto token = bearer_token(authorization);
  if (!token) return false;
  const std::string digest = hash_token(*token);
  return CRYPTO_memcmp(digest.data(), credential_digest_.data(), digest.size()) == 0;
}

HttpResponse AdminApi::create_business(std::string_view body) const {
  auto object = parse_object(body, {"id", "name"});
  if (!object) return bad_request(object.error().message);
  auto name = string_member(*object, "name", kMaxNameLength);
  if (!name) return bad_request(name.error().message);
  if (!*name) return bad_request("name is required");
  auto id = string_member(*object, "id", 128);
  if (!id) return bad_request(id.error().message);
  std::string business_id = id->value_or(generate_uuid());
  if (!is_business_id(business_id))
    return bad_request("id must be 1 to 128 printable ASCII characters");
  const std::string now = format_timestamp(clock_.now());
  if (!store_.ensure_business(business_id, **name, now))
    return error_response(ErrorCode::conflict, "a business with this id exists");
  return json_answer(201, {{"id", business_id}, {"name", **name}, {"createdAt", now}});
}

HttpResponse AdminApi::create_token(std::string_view body) const {
  auto object = parse_object(body, {"businessId", "userId", "ttlHours"});
  if (!object) return bad_request(object.error().message);
  auto business = string_member(*object, "businessId", 128);
  if (!business) return bad_request(business.error().message);
  auto user = string_member(*object, "userId", kMaxUserIdLength);
  if (!user) return bad_request(user.error().message);
  if (!*business || !*user) return bad_request("businessId and userId are required");
  std::int64_t ttl_hours = kDefaultTokenTtlHours;
  if (const json::value* ttl = object->if_contains("ttlHours")) {
    if (!ttl->is_int64() || ttl->as_int64() < 1 || ttl->as_int64() > kMaxTokenTtlHours)
      return bad_request("ttlHours must be an integer from 1 to " + std::to_string(kMaxTokenTtlHours));
    ttl_hours = ttl->as_int64();
  }
  if (!is_business_id(**business) || !store_.business_exists(**business))
    return error_response(ErrorCode::not_found, "no business with this id");
  IssuedToken issued = issue_token(store_, clock_, **business, **user, ttl_hours);
  return json_answer(201, {{"token", issued.token},
                           {"id", issued.id},
                           {"businessId", **business},
                           {"userId", **user},
                           {"expiresAt", format_timestamp(issued.expires_at)}});
}

HttpResponse AdminApi::list_tokens(std::string_view query) const {
  auto business = query_param(query, "businessId");
  if (!business) return bad_request(business.error().message);
  if (!*business || (*business)->empty()) return bad_request("businessId is required");
  if (!is_business_id(**business) || !store_.business_exists(**business))
    return error_response(ErrorCode::not_found, "no business with this id");
  const UnixMillis now = clock_.now();
  json::array tokens;
  for (const store::TokenInfo& t : store_.list_tokens(**business)) {
    const char* state = t.revoked_at ? "revoked" : t.expires_at <= now ? "expired" : "active";
    json::value revoked_at = t.revoked_at ? json::value(*t.revoked_at) : json::value(nullptr);
    tokens.push_back(json::object{{"id", t.id},
                                  {"businessId", t.business_id},
                                  {"userId", t.user_id},
                                  {"createdAt", t.created_at},
                                  {"expiresAt", format_timestamp(t.expires_at)},
                                  {"revokedAt", std::move(revoked_at)},
                                  {"state", state}});
  }
  return json_answer(200, {{"tokens", std::move(tokens)}});
}

HttpResponse AdminApi::revoke_token(std::string_view id) const {
  const bool well_formed = id.size() == store::kTokenIdLength &&
                           std::all_of(id.begin(), id.end(), [](char c) {
                             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                           });
  if (!well_formed || !store_.revoke_token_by_id(id, format_timestamp(clock_.now())))
    return error_response(ErrorCode::not_found, "no token with this id");
  return json_answer(200, {{"id", std::string(id)}, {"revoked", true}});
}

HttpResponse AdminApi::list_businesses(std::string_view query) const {
  QueryReader q(query);
  const std::size_t limit = q.limit(kMaxBusinessPage);
  std::string after;
  if (auto cursor = q.text("cursor", 1024)) {
    auto key = decode_list_cursor(*cursor, 1);
    if (!key || !is_business_id((*key)[0]))
      q.fail(std::string(kBadCursor));
    else
      after = (*key)[0];
  }
  if (q.error()) return bad_request(*q.error());
  const UnixMillis now = clock_.now();
  constexpr UnixMillis kDay = 24 * 60 * 60 * 1000;
  auto businesses = store_.list_businesses(after, limit + 1, format_timestamp(now - kDay), now);
  const bool more = businesses.size() > limit;
  if (more) businesses.resize(limit);
  json::array out;
  for (const store::BusinessSummary& b : businesses) {
    const double rate =
        b.operations_24h ? static_cast<double>(b.failed_24h) / static_cast<double>(b.operations_24h)
                         : 0.0;
    out.push_back(json::object{{"id", b.id},
                               {"name", b.name},
                               {"createdAt", b.created_at},
                               {"lastPushAt", nullable(b.last_push_at)},
                               {"operations24h", b.operations_24h},
                               {"failed24h", b.failed_24h},
                               {"failureRate24h", rate},
                               {"activeTokens", b.active_tokens}});
  }
  json::value cursor =
      more ? json::value(encode_list_cursor({businesses.back().id})) : json::value(nullptr);
  return json_answer(200, {{"businesses", std::move(out)}, {"nextCursor", std::move(cursor)}});
}

HttpResponse AdminApi::list_operations(std::string_view query) const {
  QueryReader q(query);
  store::OperationSearch search;
  search.business_id = q.business_id();
  if (auto status = q.text("status")) {
    if (*status == "applied")
      search.status = store::OperationStatus::processed;
    else if (*status == "failed")
      search.status = store::OperationStatus::failed;
    else
      q.fail("status must be applied or failed");
  }
  search.entity = q.text("entity");
  search.error = q.text("errorCode");
  search.operation_id = q.text("operationId");
  search.from = q.time("from");
  search.to = q.time("to");
  search.limit = q.limit(kMaxOperationPage);
  if (auto cursor = q.text("cursor", 1024)) {
    search.after = decode_position(*cursor, search.business_id);
    if (!search.after) q.fail(std::string(kBadCursor));
  }
  if (q.error()) return bad_request(*q.error());
  const std::size_t limit = search.limit;
  std::vector<store::LoggedOperation> rows;
  // An error code is logged only for failed operations: applied ones with one are none.
  if (!(search.error && search.status == store::OperationStatus::processed)) {
    ++search.limit;
    rows = store_.search_operations(search);
  }
  const bool more = rows.size() > limit;
  if (more) rows.resize(limit);
  std::vector<std::string> items;
  for (const store::LoggedOperation& op : rows) items.push_back(operation_json(op));
  return listing("operations", items,
                 more ? next_cursor(true, {rows.back().record.processed_at, rows.back().business_id,
                                           rows.back().record.operation_id})
                      : json::value(nullptr));
}

HttpResponse AdminApi::list_conflicts(std::string_view query) const {
  QueryReader q(query);
  store::OperationSearch search;
  search.business_id = q.business_id();
  search.unresolved_only = true;
  search.limit = q.limit(kMaxOperationPage);
  if (auto cursor = q.text("cursor", 1024)) {
    search.after = decode_position(*cursor, search.business_id);
    if (!search.after) q.fail(std::string(kBadCursor));
  }
  if (q.error()) return bad_request(*q.error());
  const std::size_t limit = search.limit++;
  auto rows = store_.search_operations(search);
  const bool more = rows.size() > limit;
  if (more) rows.resize(limit);
  // The server rows of the page, read per business and entity (one query each on
  // PostgreSQL, rather than one per conflict). A failed operation may name anything; only a
  // known entity and a UUID name a row.
  std::map<std::pair<std::string, const EntitySpec*>, std::vector<std::string>> wanted;
  for (const store::LoggedOperation& op : rows) {
    const EntitySpec* entity = find_entity(op.record.entity);
    if (auto id = normalize_uuid(op.record.entity_id); entity && id)
      wanted[{op.business_id, entity}].push_back(*id);
  }
  std::map<std::tuple<std::string, const EntitySpec*, std::string>, store::StoredRow> found;
  for (auto& [key, ids] : wanted)
    for (auto& [id, row] : store_.read_rows(key.first, *key.second, ids))
      found.emplace(std::tuple(key.first, key.second, std::move(id)), std::move(row));
  std::vector<std::string> items;
  for (const store::LoggedOperation& op : rows) {
    json::value server_row = nullptr;
    const EntitySpec* entity = find_entity(op.record.entity);
    if (auto id = normalize_uuid(op.record.entity_id); entity && id) {
      auto it = found.find(std::tuple(op.business_id, entity, *id));
      server_row = server_row_json(
          *entity, *id,
          it == found.end() ? std::nullopt : std::optional<store::StoredRow>(it->second));
    }
    items.push_back(operation_json(op, {{"serverRow", std::move(server_row)}}));
  }
  return listing("conflicts", items,
                 more ? next_cursor(true, {rows.back().record.processed_at, rows.back().business_id,
                                           rows.back().record.operation_id})
                      : json::value(nullptr));
}

HttpResponse AdminApi::resolve_conflict(SyncService& sync, std::string_view business_id,
                                        std::string_view operation_id, std::string_view body,
                                        std::string_view address) const {
  auto object = parse_object(body, {"resolution", "by"});
  if (!object) return bad_request(object.error().message);
  const json::value* choice = object->if_contains("resolution");
  if (!choice || !choice->is_string() ||
      (choice->as_string() != "apply_client" && choice->as_string() != "keep_server"))
    return bad_request("resolution must be apply_client or keep_server");
  auto by = string_member(*object, "by", kMaxResolverLength);
  if (!by) return bad_request(by.error().message);
  if (*by && has_control_character(**by)) return bad_request("by must not hold control characters");
  if (!is_business_id(business_id) || operation_id.empty() || operation_id.size() > 128 ||
      has_control_character(operation_id))
    return error_response(ErrorCode::not_found,
                          "this business has no failed operation with this id");
  ConflictResolution request{std::string(business_id), std::string(operation_id),
                             choice->as_string() == "apply_client"
                                 ? ConflictResolution::Choice::apply_client
                                 : ConflictResolution::Choice::keep_server,
                             by->value_or("admin"), std::string(address)};
  auto resolved = sync.resolve_conflict(request);
  if (!resolved) {
    HttpResponse refused = error_response(resolved.error().code, resolved.error().message);
    // The request was well formed; what it names cannot be written (§7.4): 422, not 400.
    if (resolved.error().code == ErrorCode::validation_error) refused.status = 422;
    return refused;
  }
  json::value version =
      resolved->version ? json::value(encode_cursor(*resolved->version)) : json::value(nullptr);
  return json_answer(200, {{"businessId", resolved->business_id},
                           {"operationId", resolved->operation_id},
                           {"resolution", resolved->resolution},
                           {"by", resolved->by},
                           {"at", resolved->at},
                           {"version", std::move(version)}});
}

HttpResponse AdminApi::list_audit(std::string_view query) const {
  QueryReader q(query);
  const auto business_id = q.business_id();
  const std::size_t limit = q.limit(kMaxOperationPage);
  std::optional<store::ListPosition> after;
  if (auto cursor = q.text("cursor", 1024)) {
    after = decode_position(*cursor, business_id);
    if (!after) q.fail(std::string(kBadCursor));
  }
  if (q.error()) return bad_request(*q.error());
  auto records = store_.list_resolutions(business_id, after, limit + 1);
  const bool more = records.size() > limit;
  if (more) records.resize(limit);
  json::array out;
  for (const store::ResolutionRecord& r : records)
    out.push_back(json::object{
        {"at", r.at},
        {"by", r.by},
        {"address", r.address},
        {"action", "resolve_conflict"},
        {"businessId", r.business_id},
        {"operationId", r.operation_id},
        {"resolution", r.resolution},
        {"version", r.version ? json::value(encode_cursor(*r.version)) : json::value(nullptr)}});
  json::value cursor = more ? next_cursor(true, {records.back().at, records.back().business_id,
                                                 records.back().operation_id})
                            : json::value(nullptr);
  return json_answer(200, {{"audit", std::move(out)}, {"nextCursor", std::move(cursor)}});
}

}  // namespace avsync::server

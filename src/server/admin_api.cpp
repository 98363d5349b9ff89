#include "server/admin_api.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "core/codec.hpp"
#include "server/auth.hpp"
#include "server/router.hpp"

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

}  // namespace avsync::server

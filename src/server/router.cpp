#include "server/router.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>

#include "core/cursor.hpp"
#include "server/rate_limiter.hpp"

namespace avsync::server {
namespace {

bool is_json_media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (std::size_t i = 0; i < kJson.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  return true;
}

HttpResponse json_response(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

}  // namespace

HttpResponse error_response(ErrorCode code, std::string_view message) {
  HttpResponse r;
  r.status = http_status(code);
  r.body = encode_error(code, message);
  return r;
}

namespace {

HttpResponse too_many(std::string_view what, std::chrono::milliseconds wait) {
  const auto seconds = std::max<std::int64_t>(1, (wait.count() + 999) / 1000);
  HttpResponse r = error_response(ErrorCode::rate_limited,
                                  std::string(what) + "; retry in " + std::to_string(seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

// The answer to the exception being handled: 503 when the store is unreachable, else 500
// with an id that the log line shares. Requires: called inside a catch block.
HttpResponse answer_failure(const HttpRequest& request) {
  static std::atomic<std::uint64_t> next_failure_id{1};
  std::string what = "unknown exception";
  try {
    throw;
  } catch (const store::Unavailable& e) {
    std::cerr << "store unavailable: " << e.what() << "\n";
    return error_response(ErrorCode::unavailable, "the store is unavailable; retry later");
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  auto id = next_failure_id++;
  std::string path = request.target.substr(0, request.target.find('?'));
  std::cerr << "internal error #" << id << " on " << request.method.substr(0, 16) << " "
            << path.substr(0, 256) << ": " << what << "\n";
  return error_response(ErrorCode::internal, "internal error #" + std::to_string(id));
}

}  // namespace

Admission Router::admit(const HttpRequest& request) const {
  try {
    return admit_unguarded(request);
  } catch (...) {
    Admission refused;
    refused.refusal = answer_failure(request);
    return refused;
  }
}

HttpResponse Router::serve(const HttpRequest& request, const Admission& admission) const {
  try {
    switch (admission.route) {
      case Admission::Route::batch: return post_batch(request, admission);
      case Admission::Route::changes: return get_changes(request, admission);
      case Admission::Route::health: return get_health();
    }
    return error_response(ErrorCode::internal, "unrouted request");
  } catch (...) {
    return answer_failure(request);
  }
}

Admission Router::admit_unguarded(const HttpRequest& request) const {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  struct Route {
    std::string_view path;
    std::string_view method;
    Admission::Route route;
  };
  static constexpr Route kRoutes[] = {{"/sync/batch", "POST", Admission::Route::batch},
                                      {"/sync/changes", "GET", Admission::Route::changes},
                                      {"/healthz", "GET", Admission::Route::health}};
  Admission out;
  const Route* route = nullptr;
  for (const Route& r : kRoutes)
    if (r.path == path) route = &r;
  // The request line is never echoed: a refusal names only our own routes.
  if (!route) {
    out.refusal = error_response(ErrorCode::route_not_found, "no such route");
    return out;
  }
  if (route->method != request.method) {
    out.refusal = error_response(ErrorCode::method_not_allowed,
                                 std::string(route->path) + " accepts " + std::string(route->method));
    out.refusal->headers.emplace_back("Allow", std::string(route->method));
    return out;
  }
  out.route = route->route;
  if (out.route == Admission::Route::health) return out;

  Throttle* throttle = options_.throttle;
  const auto now = std::chrono::steady_clock::now();
  auto token = bearer_token(request.authorization);
  if (!token) {
    if (auto wait = throttle ? throttle->malformed(request.client_address, now) : std::nullopt)
      out.refusal = too_many("too many failed authentications from this address", *wait);
    else
      out.refusal = error_response(token.error().code, token.error().message);
    return out;
  }
  out.token_hash = hash_token(*token);
  if (throttle) {
    auto decision = throttle->before_lookup(out.token_hash, request.client_address, now);
    switch (decision.verdict) {
      case Throttle::Verdict::go_on: break;
      case Throttle::Verdict::too_many_requests:
        out.refusal = too_many("too many requests for this token", decision.retry_after);
        return out;
      case Throttle::Verdict::too_many_failures:
        out.refusal = too_many("too many failed authentications from this address", decision.retry_after);
        return out;
      case Throttle::Verdict::unknown_token:
        out.refusal = error_response(ErrorCode::unauthenticated, "unknown token");
        return out;
    }
  }
  using Status = Authenticator::Identity::Status;
  auto identity = auth_.identify(out.token_hash);
  if (throttle) {
    auto outcome = identity.status == Status::valid     ? Throttle::Outcome::known
                   : identity.status == Status::unknown ? Throttle::Outcome::unknown
                                                        : Throttle::Outcome::refused;
    throttle->after_lookup(out.token_hash, request.client_address, outcome, now);
  }
  switch (identity.status) {
    case Status::valid: break;
    case Status::unknown: out.refusal = error_response(ErrorCode::unauthenticated, "unknown token"); return out;
    case Status::revoked: out.refusal = error_response(ErrorCode::unauthenticated, "token revoked"); return out;
    case Status::expired: out.refusal = error_response(ErrorCode::unauthenticated, "token expired"); return out;
  }
  if (out.route == Admission::Route::batch && !is_json_media_type(request.content_type)) {
    out.refusal = error_response(ErrorCode::unsupported_media_type, "Content-Type must be application/json");
    out.refusal->business_id = identity.context.business_id;
    return out;
  }
  out.caller = std::move(identity.context);
  return out;
}

HttpResponse Router::post_batch(const HttpRequest& request, const Admission& admission) const {
  const RequestContext& caller = *admission.caller;
  auto batch = decode_batch(request.body, options_.batch);
  if (!batch) {
    HttpResponse r = error_response(batch.error().code, batch.error().message);
    r.business_id = caller.business_id;
    return r;
  }
  if (options_.throttle) {
    if (auto wait = options_.throttle->take_operations(admission.token_hash, batch->operations.size(),
                                                       std::chrono::steady_clock::now())) {
      HttpResponse r = too_many("too many operations for this token; nothing was applied", *wait);
      r.business_id = caller.business_id;
      return r;
    }
  }
  auto results = sync_.apply_batch(caller, batch->operations);
  HttpResponse r = json_response(encode_batch_response(results, clock_.now()));
  r.business_id = caller.business_id;
  r.operation_count = results.size();
  return r;
}

HttpResponse Router::get_changes(const HttpRequest& request, const Admission& admission) const {
  const RequestContext& caller = *admission.caller;
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  auto decoded = decode_changes_query(query);
  if (!decoded) return error_response(decoded.error().code, decoded.error().message);
  store::ChangeQuery change_query;
  change_query.limit = decoded->limit;
  change_query.after_version = decoded->after_version;
  if (decoded->since == ChangesRequest::Since::instant) change_query.changed_since = decoded->changed_since;
  // A full sync may leave out tombstones (§4).
  change_query.include_deleted = decoded->since != ChangesRequest::Since::beginning;
  ChangePage page = sync_.read_changes(caller, change_query);
  // Versions only grow, so a cursor past the tenant's newest change was not issued by this
  // tenant's feed (another tenant's cursor, or a database restored from a backup). Serving
  // it would silently skip changes until the counter caught up.
  if (change_query.after_version > page.latest_version)
    return error_response(ErrorCode::bad_request,
                          "since is a cursor this feed never issued; sync again from the beginning");
  HttpResponse r = json_response(encode_changes(page, encode_cursor(page.cursor_version), clock_.now()));
  r.business_id = caller.business_id;
  r.operation_count = page.changes.size();
  return r;
}

HttpResponse Router::get_health() const {
  if (!store_.ping()) return error_response(ErrorCode::unavailable, "the store does not answer");
  return json_response(R"({"status":"ok"})");
}

}  // namespace avsync::server

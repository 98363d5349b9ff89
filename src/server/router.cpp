#include "server/router.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "core/cursor.hpp"
#include "server/admin_api.hpp"
#include "server/change_hub.hpp"
#include "server/cors.hpp"
#include "server/metrics.hpp"
#include "server/overview.hpp"
#include "server/rate_limiter.hpp"
#include "server/static_files.hpp"

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
  r.error = code;
  return r;
}

namespace {

// A 429, counted under `reason`.
HttpResponse too_many(Metrics* metrics, RateLimited reason, std::string_view what,
                      std::chrono::milliseconds wait) {
  if (metrics) metrics->count_rate_limited(reason);
  const auto seconds = std::max<std::int64_t>(1, (wait.count() + 999) / 1000);
  HttpResponse r = error_response(ErrorCode::rate_limited,
                                  std::string(what) + "; retry in " + std::to_string(seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

}  // namespace

// 503 when the store is unreachable, else 500 naming the request id that the error's log
// line and the request's line share (the message reveals nothing else).
HttpResponse Router::answer_failure(const HttpRequest& request) const {
  std::string what = "unknown exception";
  try {
    throw;
  } catch (const store::Unavailable& e) {
    if (options_.metrics) options_.metrics->count_store_error(StoreError::unavailable);
    std::cerr << "store unavailable (request " << request.request_id << "): " << e.what() << "\n";
    return error_response(ErrorCode::unavailable, "the store is unavailable; retry later");
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  if (options_.metrics) options_.metrics->count_store_error(StoreError::internal);
  std::string path = request.target.substr(0, request.target.find('?'));
  std::cerr << "internal error (request " << request.request_id << ") on "
            << request.method.substr(0, 16) << " " << path.substr(0, 256) << ": " << what << "\n";
  return error_response(ErrorCode::internal, "internal error; request id " + request.request_id);
}

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
      case Admission::Route::demo: return get_demo_file(request);
      case Admission::Route::admin_ui: return get_admin_ui_file(request);
      case Admission::Route::metrics:
        return get_metrics();
      default: return serve_admin(request, admission);
    }
  } catch (...) {
    return answer_failure(request);
  }
}

namespace {

struct Route {
  std::string_view method;
  std::string_view path;  // a "{name}" segment matches one non-empty segment
  Admission::Route route;
};
constexpr Route kRoutes[] = {
    {"POST", "/sync/batch", Admission::Route::batch},
    {"GET", "/sync/changes", Admission::Route::changes},
    {"GET", "/healthz", Admission::Route::health},
    {"POST", "/admin/businesses", Admission::Route::admin_create_business},
    {"POST", "/admin/tokens", Admission::Route::admin_create_token},
    {"GET", "/admin/tokens", Admission::Route::admin_list_tokens},
    {"DELETE", "/admin/tokens/{id}", Admission::Route::admin_revoke_token},
    {"GET", "/admin/businesses", Admission::Route::admin_list_businesses},
    {"GET", "/admin/operations", Admission::Route::admin_list_operations},
    {"GET", "/admin/conflicts", Admission::Route::admin_list_conflicts},
    {"POST", "/admin/conflicts/{businessId}/{operationId}/resolve",
     Admission::Route::admin_resolve_conflict},
    {"GET", "/admin/audit", Admission::Route::admin_list_audit},
    {"GET", "/metrics", Admission::Route::metrics},
    {"GET", "/admin/overview", Admission::Route::admin_overview},
};

// Whether `path` matches `pattern`; each of its segments a {name} stands for is appended
// to `values` (as sent, %-encoded) when given.
bool path_matches(std::string_view pattern, std::string_view path,
                  std::vector<std::string_view>* values = nullptr) {
  for (;;) {
    const std::size_t brace = pattern.find('{');
    if (brace == std::string_view::npos) return pattern == path;
    if (path.substr(0, brace) != pattern.substr(0, brace)) return false;
    pattern.remove_prefix(pattern.find('}', brace) + 1);
    path.remove_prefix(brace);
    const std::size_t end = std::min(path.find('/'), path.size());
    if (end == 0) return false;
    if (values) values->push_back(path.substr(0, end));
    path.remove_prefix(end);
  }
}

bool is_admin(Admission::Route route) {
  return route != Admission::Route::batch && route != Admission::Route::changes &&
         route != Admission::Route::health;
}

std::string_view path_of(const HttpRequest& request) {
  return std::string_view(request.target).substr(0, request.target.find('?'));
}

// The query string without '?', empty when there is none.
std::string_view query_of(const HttpRequest& request) {
  const std::size_t q = request.target.find('?');
  return q == std::string::npos ? std::string_view()
                                : std::string_view(request.target).substr(q + 1);
}

// The demo app lives under this prefix; its files need no token (the page takes one from
// its URL's fragment, which browsers never send).
constexpr std::string_view kDemoRoot = "/demo";
constexpr std::string_view kDemoPrefix = "/demo/";
constexpr std::string_view kDemoMethods = "GET, HEAD";

// What the demo page may do: run its own scripts and service worker, and talk only to this
// server, so the token in its URL cannot be sent elsewhere by anything injected into it.
constexpr std::string_view kDemoContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
    "worker-src 'self'";

bool is_demo_path(std::string_view path) {
  return path == kDemoRoot || path.starts_with(kDemoPrefix);
}

// The operations console lives at /admin/, beside the admin API's routes.
constexpr std::string_view kAdminUiRoot = "/admin";
constexpr std::string_view kAdminUiPrefix = "/admin/";
constexpr std::string_view kAdminUiMethods = "GET, HEAD";

// What the console may do: run its own scripts and styles and talk only to this server. No
// inline script or style, no form posted anywhere, no frame around it: text injected into
// the page could neither run nor send the credential elsewhere.
constexpr std::string_view kAdminUiContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// /admin, /admin/ and the console's own files by their exact names. Every other /admin/...
// path is left to the route table, so a file never hides an admin API route. Names are
// compared as sent, never percent-decoded: the console's own URLs never encode them.
bool is_admin_ui_path(std::string_view path, const StaticFiles& files) {
  if (path == kAdminUiRoot || path == kAdminUiPrefix) return true;
  if (!path.starts_with(kAdminUiPrefix)) return false;
  const std::string_view name = path.substr(kAdminUiPrefix.size());
  return !name.ends_with('/') && files.find(name) != nullptr;
}

// `text` with each %XX replaced by its byte; nullopt when a % is not followed by two hex
// digits. Whatever it decodes to is only ever a key to look up, never a file system path.
std::optional<std::string> percent_decoded(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]), low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// Whether an If-None-Match header names `etag`, so the client holds this version already
// (RFC 9110 §13.1.2: "*" or a list of entity tags, compared weakly).
bool names_etag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

// The route label of a kRoutes entry, or of its preflight.
std::string_view label_of(std::string_view method, std::string_view path) {
  for (const std::string& label : route_labels())
    if (label.size() == method.size() + 1 + path.size() && label.starts_with(method) &&
        label.ends_with(path) && label[method.size()] == ' ')
      return label;
  return kUnknownRoute;
}

}  // namespace

std::vector<RouteSpec> served_routes() {
  std::vector<RouteSpec> out;
  for (const Route& r : kRoutes) {
    out.push_back({r.method, r.path});
    if (r.path.starts_with("/sync/")) out.push_back({"OPTIONS", r.path});
  }
  return out;
}

const std::vector<std::string>& route_labels() {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    for (const RouteSpec& r : served_routes())
      out.push_back(std::string(r.method) + " " + std::string(r.path));
    out.emplace_back(kLongPollRoute);
    out.emplace_back("demo");
    out.emplace_back("console");
    out.emplace_back(kUnknownRoute);
    return out;
  }();
  return labels;
}

void Router::decorate(const HttpRequest& request, HttpResponse& response) const {
  // A preflight's answer was decided by CorsPolicy::preflight, headers included.
  if (options_.cors && request.method != "OPTIONS" && path_of(request).starts_with("/sync/"))
    options_.cors->decorate(request.origin, response);
}

Admission Router::admit_unguarded(const HttpRequest& request) const {
  const std::string_view path = path_of(request);
  Admission out;
  if (options_.metrics_exposure == MetricsExposure::metrics_only) {
    if (path != "/metrics") {
      out.refusal =
          error_response(ErrorCode::route_not_found, "this address serves GET /metrics only");
      return out;
    }
    out.route_label = label_of("GET", "/metrics");
    if (request.method != "GET") {
      out.refusal = error_response(ErrorCode::method_not_allowed, "/metrics accepts GET");
      out.refusal->headers.emplace_back("Allow", "GET");
      return out;
    }
    out.route = Admission::Route::metrics;
    return out;
  }
  if (options_.demo && is_demo_path(path)) {
    out.route_label = "demo";
    if (request.method != "GET" && request.method != "HEAD") {
      out.refusal =
          error_response(ErrorCode::method_not_allowed,
                         std::string(kDemoPrefix) + " accepts " + std::string(kDemoMethods));
      out.refusal->headers.emplace_back("Allow", kDemoMethods);
      return out;
    }
    out.route = Admission::Route::demo;
    return out;
  }
  if (options_.admin && options_.admin_ui && is_admin_ui_path(path, *options_.admin_ui)) {
    out.route_label = "console";
    if (request.method != "GET" && request.method != "HEAD") {
      out.refusal = error_response(ErrorCode::method_not_allowed,
                                   "the console's files under " + std::string(kAdminUiPrefix) +
                                       " accept " + std::string(kAdminUiMethods));
      out.refusal->headers.emplace_back("Allow", kAdminUiMethods);
      return out;
    }
    out.route = Admission::Route::admin_ui;
    return out;
  }
  const Route* route = nullptr;
  std::string allowed;  // the methods of the path, for 405's Allow
  for (const Route& r : kRoutes) {
    if (!path_matches(r.path, path)) continue;
    if (is_admin(r.route) && !options_.admin) continue;  // no credential: no admin API at all
    if (r.route == Admission::Route::metrics &&
        (!options_.metrics || options_.metrics_exposure != MetricsExposure::admin))
      continue;
    if (r.route == Admission::Route::admin_overview && !options_.overview) continue;
    allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
    if (r.method == request.method) route = &r;
  }
  // The request line is never echoed: a refusal names only our own routes.
  if (allowed.empty()) {
    out.refusal = error_response(ErrorCode::route_not_found, "no such route");
    return out;
  }
  if (!route && request.method == "OPTIONS" && options_.cors && path.starts_with("/sync/")) {
    out.route_label = label_of("OPTIONS", path);
    out.refusal = options_.cors->preflight(request.origin, request.requested_method, allowed);
    return out;
  }
  if (!route) {
    out.refusal = error_response(ErrorCode::method_not_allowed, std::string(path) + " accepts " + allowed);
    out.refusal->headers.emplace_back("Allow", allowed);
    return out;
  }
  out.route = route->route;
  out.route_label = label_of(route->method, route->path);
  if (out.route == Admission::Route::health) return out;
  if (is_admin(out.route)) {
    if (!options_.admin->authorized(request.authorization)) {
      auto wait = options_.throttle ? options_.throttle->malformed(request.client_address,
                                                                   std::chrono::steady_clock::now())
                                    : std::nullopt;
      if (!wait && options_.metrics)
        options_.metrics->count_auth_failure(AuthFailure::admin_credential);
      out.refusal = wait ? too_many(options_.metrics, RateLimited::failed_authentications,
                                    "too many failed authentications from this address", *wait)
                         : error_response(ErrorCode::unauthenticated,
                                          "the admin API takes the admin credential only");
      return out;
    }
  } else {
    authenticate(request, out);
    if (out.refusal) return out;
  }
  if (out.route == Admission::Route::changes) {
    // A malformed query is answered by get_changes; here only the wait matters.
    const std::size_t q = request.target.find('?');
    if (auto decoded = decode_changes_query(q == std::string::npos
                                                ? std::string_view()
                                                : std::string_view(request.target).substr(q + 1)))
      out.wait_seconds = decoded->wait_seconds;
    if (out.wait_seconds > 0) out.route_label = kLongPollRoute;
  }
  if (request.method == "POST" && !is_json_media_type(request.content_type)) {
    out.refusal = error_response(ErrorCode::unsupported_media_type, "Content-Type must be application/json");
    if (out.caller) out.refusal->business_id = out.caller->business_id;
    out.caller.reset();
  }
  return out;
}

void Router::authenticate(const HttpRequest& request, Admission& out) const {
  Throttle* throttle = options_.throttle;
  Metrics* metrics = options_.metrics;
  auto failed = [metrics](AuthFailure reason) {
    if (metrics) metrics->count_auth_failure(reason);
  };
  const auto now = std::chrono::steady_clock::now();
  auto token = bearer_token(request.authorization);
  if (!token) {
    if (auto wait = throttle ? throttle->malformed(request.client_address, now) : std::nullopt) {
      out.refusal = too_many(metrics, RateLimited::failed_authentications,
                             "too many failed authentications from this address", *wait);
    } else {
      failed(AuthFailure::missing);
      out.refusal = error_response(token.error().code, token.error().message);
    }
    return;
  }
  out.token_hash = hash_token(*token);
  if (throttle) {
    auto decision = throttle->before_lookup(out.token_hash, request.client_address, now);
    switch (decision.verdict) {
      case Throttle::Verdict::go_on: break;
      case Throttle::Verdict::too_many_requests:
        out.refusal = too_many(metrics, RateLimited::token_requests,
                               "too many requests for this token", decision.retry_after);
        return;
      case Throttle::Verdict::too_many_failures:
        out.refusal =
            too_many(metrics, RateLimited::failed_authentications,
                     "too many failed authentications from this address", decision.retry_after);
        return;
      case Throttle::Verdict::unknown_token:
        failed(AuthFailure::unknown);
        out.refusal = error_response(ErrorCode::unauthenticated, "unknown token");
        return;
    }
  }
  using Status = Authenticator::Identity::Status;
  // Device tokens never hold a dot: any token with one is judged as a JWT, so a mangled
  // JWT is told what is wrong with it rather than "unknown token".
  const bool jwt = token->find('.') != std::string_view::npos;
  auto identity = jwt ? auth_.identify_jwt(*token) : auth_.identify(out.token_hash);
  if (throttle && identity.status != Status::unavailable) {
    // A refused JWT is not remembered as unknown: its 401 keeps saying why.
    auto outcome = identity.status == Status::valid     ? Throttle::Outcome::known
                   : identity.status == Status::unknown ? Throttle::Outcome::unknown
                                                        : Throttle::Outcome::refused;
    throttle->after_lookup(out.token_hash, request.client_address, outcome, now);
  }
  switch (identity.status) {
    case Status::valid: out.caller = std::move(identity.context); return;
    case Status::unknown:
      failed(AuthFailure::unknown);
      out.refusal = error_response(ErrorCode::unauthenticated, "unknown token");
      return;
    case Status::revoked:
      failed(AuthFailure::revoked);
      out.refusal = error_response(ErrorCode::unauthenticated, "token revoked");
      return;
    case Status::expired:
      failed(AuthFailure::expired);
      out.refusal = error_response(ErrorCode::unauthenticated, "token expired");
      return;
    case Status::invalid:
      failed(AuthFailure::invalid_jwt);
      out.refusal = error_response(ErrorCode::unauthenticated, identity.reason);
      return;
    case Status::unavailable:
      if (metrics) metrics->count_store_error(StoreError::unavailable);
      out.refusal = error_response(ErrorCode::unavailable, identity.reason);
      out.refusal->headers.emplace_back("Retry-After", "1");
      return;
  }
}

HttpResponse Router::serve_admin(const HttpRequest& request, const Admission& admission) const {
  const AdminApi& admin = *options_.admin;
  const std::string_view path = path_of(request);
  switch (admission.route) {
    case Admission::Route::admin_create_business: return admin.create_business(request.body);
    case Admission::Route::admin_create_token: return admin.create_token(request.body);
    case Admission::Route::admin_list_tokens:
      return admin.list_tokens(path.size() < request.target.size()
                                   ? std::string_view(request.target).substr(path.size() + 1)
                                   : std::string_view());
    case Admission::Route::admin_revoke_token: return admin.revoke_token(path.substr(path.rfind('/') + 1));
    case Admission::Route::admin_list_businesses:
      return admin.list_businesses(query_of(request));
    case Admission::Route::admin_list_operations:
      return admin.list_operations(query_of(request));
    case Admission::Route::admin_list_conflicts:
      return admin.list_conflicts(query_of(request));
    case Admission::Route::admin_list_audit:
      return admin.list_audit(query_of(request));
    case Admission::Route::admin_resolve_conflict: {
      // Ids are %-encoded in the path: a business id may hold '/' or '%' (§7.4).
      std::vector<std::string_view> segments;
      path_matches("/admin/conflicts/{businessId}/{operationId}/resolve", path, &segments);
      auto business_id = percent_decoded(segments.at(0));
      auto operation_id = percent_decoded(segments.at(1));
      if (!business_id || !operation_id)
        return error_response(ErrorCode::bad_request, "bad %-escape in the path");
      return admin.resolve_conflict(sync_, *business_id, *operation_id, request.body,
                                    request.client_address);
    }
    case Admission::Route::admin_overview:
      return json_response(options_.overview->to_json());
    default: return error_response(ErrorCode::internal, "unrouted request");
  }
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
      HttpResponse r = too_many(options_.metrics, RateLimited::token_operations,
                                "too many operations for this token; nothing was applied", *wait);
      r.business_id = caller.business_id;
      return r;
    }
  }
  auto outcome = sync_.apply_batch(caller, batch->operations);
  if (options_.metrics) options_.metrics->count_batch();
  HttpResponse r = json_response(
      encode_batch_response(outcome.results, encode_cursor(outcome.version), clock_.now()));
  r.business_id = caller.business_id;
  r.operation_count = outcome.results.size();
  return r;
}

HttpResponse Router::get_changes(const HttpRequest& request, const Admission& admission) const {
  const RequestContext& caller = *admission.caller;
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  auto decoded = decode_changes_query(query);
  if (!decoded) return error_response(decoded.error().code, decoded.error().message);
  auto page = sync_.read_changes(caller, *decoded);
  if (!page) return error_response(page.error().code, page.error().message);
  // A long-poll reads an empty page before it waits and again when woken or at its
  // deadline: its empty pages are not counted, so each page counts once.
  const bool empty_long_poll = admission.wait_seconds > 0 && page->rows == 0 && !page->has_more;
  if (options_.metrics && !empty_long_poll) options_.metrics->count_pull(page->rows);
  HttpResponse r = json_response(std::move(page->body));
  r.business_id = caller.business_id;
  r.operation_count = page->rows;
  if (page->rows == 0 && !page->has_more) r.caught_up_at = page->latest_version;
  return r;
}

namespace {

// The answer to GET or HEAD of a static file (the demo's, the console's): a 404 when there
// is none, a 304 when the client holds this version.
HttpResponse static_file_response(const HttpRequest& request, const StaticFile* file,
                                  std::string_view content_security_policy) {
  if (!file) return error_response(ErrorCode::route_not_found, "no such file");
  HttpResponse r;
  // no-cache: kept, but asked about each time (a 304 is cheap), so the files of a restarted
  // server show at the next reload.
  r.headers = {{"ETag", file->etag},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Security-Policy", std::string(content_security_policy)}};
  if (names_etag(request.if_none_match, file->etag)) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", file->content_type);
  r.body = file->bytes;
  return r;
}

// The folder a page's relative URLs resolve against is the path up to its last '/': /demo
// needs its slash. A 308 keeps the method.
HttpResponse redirect_to(std::string_view location) {
  HttpResponse r;
  r.status = 308;
  r.headers.emplace_back("Location", location);
  return r;
}

}  // namespace

HttpResponse Router::get_demo_file(const HttpRequest& request) const {
  const std::string_view path = path_of(request);
  if (path == kDemoRoot) return redirect_to(kDemoPrefix);
  auto name = percent_decoded(path.substr(kDemoPrefix.size()));
  return static_file_response(request, name ? options_.demo->find(*name) : nullptr,
                              kDemoContentSecurityPolicy);
}

HttpResponse Router::get_admin_ui_file(const HttpRequest& request) const {
  const std::string_view path = path_of(request);
  if (path == kAdminUiRoot) return redirect_to(kAdminUiPrefix);
  HttpResponse r =
      static_file_response(request, options_.admin_ui->find(path.substr(kAdminUiPrefix.size())),
                           kAdminUiContentSecurityPolicy);
  // The page holds the admin credential while it is open: no other site may learn its
  // address, nor frame it (older browsers than frame-ancestors).
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

HttpResponse Router::get_metrics() const {
  HttpResponse r;
  r.body = options_.metrics->render({.live_waiters = options_.live ? options_.live->waiters() : 0});
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Router::get_health() const {
  if (!store_.ping()) return error_response(ErrorCode::unavailable, "the store does not answer");
  const std::size_t waiters = options_.live ? options_.live->waiters() : 0;
  return json_response(R"({"status":"ok","waiters":)" + std::to_string(waiters) + "}");
}

}  // namespace avsync::server

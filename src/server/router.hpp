#pragma once
// The HTTP API as a function from request to response (docs/protocol.md §3, §4, §6 to §8), testable
// without a socket. With --demo it also serves the web demo app's files under /demo/
// (docs/configuration.md), and with an admin credential the operations console's files at
// /admin/ (§7); neither is part of the API. The HTTP layer (http/http_server.cpp)
// turns bytes into HttpRequest and enforces size and time limits before a request gets here.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/codec.hpp"
#include "server/auth.hpp"
#include "server/request_log.hpp"
#include "server/sync_service.hpp"

namespace avsync::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string content_type;
  std::string authorization;
  std::string client_address;  // the peer's IP address, for per-address limits
  std::string body;
  std::string origin;            // the Origin header (browsers), for CORS
  std::string requested_method;  // a preflight's Access-Control-Request-Method
  std::string if_none_match;     // the If-None-Match header (the demo's files)
  std::string request_id;        // X-Request-Id of the answer and the log (request_log.hpp)
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON, or empty (204, 304, a redirect), or a demo file
  // Beyond Content-Type, which is application/json for a body unless one here says otherwise.
  std::vector<std::pair<std::string, std::string>> headers;
  // For the request log line.
  std::string business_id;
  std::size_t operation_count = 0;
  std::optional<ErrorCode> error;  // an error answer's code (error_response sets it)
  // A change page with nothing after the caller's cursor: the tenant's version it saw. A
  // long-poll (Admission::wait_seconds) then waits for a commit past it (§4.1).
  std::optional<std::uint64_t> caught_up_at;
};

class Throttle;
class AdminApi;
class CorsPolicy;
class StaticFiles;
class ChangeHub;
class Metrics;
class Overview;

// Where GET /metrics is served (docs/protocol.md §6.2).
enum class MetricsExposure {
  admin,         // on this listener, as an admin route (the admin credential; 404 without one)
  elsewhere,     // on the --metrics-listen listener: 404 here
  metrics_only,  // this is the --metrics-listen listener: GET /metrics without credential, nothing
                 // else
};

struct RouterOptions {
  BatchLimits batch;
  Throttle* throttle = nullptr;       // not owned; nullptr: no rate limits
  const AdminApi* admin = nullptr;    // not owned; nullptr: no /admin/* routes (404)
  const CorsPolicy* cors = nullptr;   // not owned; nullptr: no CORS, OPTIONS is 405
  const StaticFiles* demo = nullptr;  // not owned; nullptr: no /demo/ (404)
  const ChangeHub* live = nullptr;    // not owned; /healthz reports its waiters
  // Not owned; the operations console at /admin/, served only when `admin` is set too.
  const StaticFiles* admin_ui = nullptr;
  Metrics* metrics = nullptr;         // not owned; nullptr: nothing counted, no /metrics (404)
  const Overview* overview = nullptr;  // not owned; nullptr: no /admin/overview (404)
  MetricsExposure metrics_exposure = MetricsExposure::admin;
  LogLevel log_level = LogLevel::info;  // internal errors and store failures log at error
};

// What a request may do, decided from its head before its body is read.
struct Admission {
  enum class Route {
    batch,
    changes,
    health,
    admin_create_business,
    admin_create_token,
    admin_list_tokens,
    admin_revoke_token,
    admin_list_businesses,
    admin_list_operations,
    admin_list_conflicts,
    admin_resolve_conflict,
    admin_list_audit,
    demo,      // GET or HEAD of /demo or anything under /demo/, with --demo
    admin_ui,  // GET or HEAD of /admin, /admin/ or one of the console's files, with `admin`
    metrics,
    admin_overview,
  };
  std::optional<HttpResponse> refusal;   // answer this without reading the body
  Route route = Route::health;
  std::optional<RequestContext> caller;  // /sync/* routes: who is calling
  std::string token_hash;                // /sync/* routes: the rate-limit key
  unsigned wait_seconds = 0;             // GET /sync/changes: how long to hold an empty page
  // The route label of the request's metrics: one of route_labels(), static storage.
  std::string_view route_label = "unknown";
};

// A route the router serves: its method and path, a {name} segment standing for any
// value (docs/openapi.yaml lists the same set; a test compares them). The demo's and the
// console's static files are not API routes and are not listed.
struct RouteSpec {
  std::string_view method;
  std::string_view path;
};
// Every route, with the OPTIONS preflights of /sync/* that --cors-origin adds.
std::vector<RouteSpec> served_routes();
// Every value Admission::route_label takes ("POST /sync/batch", "OPTIONS /sync/batch",
// "GET /sync/changes?wait" for a long-poll, "demo", "console" for the operations console's
// files, "unknown"), for the metrics' route label.
const std::vector<std::string>& route_labels();

class Router {
 public:
  Router(SyncService& sync, const Authenticator& auth, store::Store& store, const Clock& clock,
         RouterOptions options)
      : sync_(sync), auth_(auth), store_(store), clock_(clock), options_(options) {}

  // Step one, once the head is in (`request.body` is not read yet and is ignored): the
  // route (404, 405), the token (401), the rate limits (429) and the media type (415).
  // The demo's and the console's files need no token and are not rate-limited, like /healthz.
  // Reads the store once (the token). Never throws: a store failure is a refusal with
  // 503 UNAVAILABLE or 500 INTERNAL, like serve().
  Admission admit(const HttpRequest& request) const;
  // Step two, with the body: runs what admit() let through. Never throws: a failure
  // inside becomes 503 UNAVAILABLE (store unreachable) or 500 INTERNAL, logged with a
  // request id, revealing nothing to the client.
  HttpResponse serve(const HttpRequest& request, const Admission& admission) const;
  // Adds the CORS headers an answer to `request` needs (any answer, the HTTP layer's own
  // 503s and 429s included). Cheap; never throws.
  void decorate(const HttpRequest& request, HttpResponse& response) const;

 private:
  Admission admit_unguarded(const HttpRequest& request) const;
  // The caller of a /sync/* request, or a refusal (401, 429).
  void authenticate(const HttpRequest& request, Admission& out) const;
  HttpResponse serve_admin(const HttpRequest& request, const Admission& admission) const;
  HttpResponse post_batch(const HttpRequest& request, const Admission& admission) const;
  HttpResponse get_changes(const HttpRequest& request, const Admission& admission) const;
  HttpResponse get_health() const;
  HttpResponse get_demo_file(const HttpRequest& request) const;
  HttpResponse get_admin_ui_file(const HttpRequest& request) const;
  HttpResponse get_metrics() const;
  // The answer to the exception being handled (503 or 500, counted and logged).
  // Requires: called inside a catch block.
  HttpResponse answer_failure(const HttpRequest& request) const;

  SyncService& sync_;
  const Authenticator& auth_;
  store::Store& store_;
  const Clock& clock_;
  RouterOptions options_;
};

// The error body of §1 with the status its code maps to.
HttpResponse error_response(ErrorCode code, std::string_view message);

}  // namespace avsync::server

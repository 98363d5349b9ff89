#pragma once
// The HTTP API as a function from request to response (PROTOCOL.md §3, §4, §6), testable
// without a socket. The HTTP layer (http/http_server.cpp) turns bytes into HttpRequest
// and enforces size and time limits before a request gets here.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/codec.hpp"
#include "server/auth.hpp"
#include "server/sync_service.hpp"

namespace avsync::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string content_type;
  std::string authorization;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // always JSON
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
  // For the request log line.
  std::string business_id;
  std::size_t operation_count = 0;
};

class RateLimiter;

struct RouterOptions {
  BatchLimits batch;
  RateLimiter* rate_limiter = nullptr;  // not owned; nullptr: no rate limit
};

class Router {
 public:
  Router(SyncService& sync, const Authenticator& auth, store::Store& store, const Clock& clock,
         RouterOptions options)
      : sync_(sync), auth_(auth), store_(store), clock_(clock), options_(options) {}

  // Never throws: a failure inside becomes 503 UNAVAILABLE (store unreachable) or
  // 500 INTERNAL, logged with a request id, revealing nothing to the client.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  HttpResponse route(const HttpRequest& request) const;
  HttpResponse post_batch(const HttpRequest& request) const;
  HttpResponse get_changes(const HttpRequest& request, std::string_view query) const;
  HttpResponse get_health() const;
  // 429 RATE_LIMITED with Retry-After when the request's token is over its rate.
  std::optional<HttpResponse> over_rate_limit(const HttpRequest& request) const;

  SyncService& sync_;
  const Authenticator& auth_;
  store::Store& store_;
  const Clock& clock_;
  RouterOptions options_;
};

// The error body of §1 with the status its code maps to.
HttpResponse error_response(ErrorCode code, std::string_view message);

}  // namespace avsync::server

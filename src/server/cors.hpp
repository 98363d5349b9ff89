#pragma once
// CORS for browser apps served from another origin (docs/protocol.md §8). Only
// the exact origins the operator lists (--cors-origin) are answered; there is no wildcard,
// and credentials (cookies) are never allowed: a browser app sends its token in the
// Authorization header.

#include <string>
#include <string_view>
#include <vector>

namespace avsync::server {

struct HttpResponse;

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {}

  bool enabled() const { return !origins_.empty(); }
  bool allows(std::string_view origin) const;
  // The answer to a preflight (OPTIONS) for a route that accepts `method`: 204, with the
  // Access-Control-Allow-* headers when the origin is listed and asks for that method,
  // without them otherwise (the browser then refuses the request).
  HttpResponse preflight(std::string_view origin, std::string_view requested_method,
                         std::string_view method) const;
  // Adds Access-Control-Allow-Origin (and Vary, Expose-Headers) to an answer for a listed
  // origin; leaves it untouched otherwise.
  void decorate(std::string_view origin, HttpResponse& response) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace avsync::server

#include "server/cors.hpp"

#include <algorithm>

#include "server/router.hpp"

namespace avsync::server {

bool CorsPolicy::allows(std::string_view origin) const {
  return !origin.empty() && std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

HttpResponse CorsPolicy::preflight(std::string_view origin, std::string_view requested_method,
                                   std::string_view method) const {
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Vary", "Origin");
  if (!allows(origin) || requested_method != method) return r;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  r.headers.emplace_back("Access-Control-Allow-Methods", std::string(method));
  r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

void CorsPolicy::decorate(std::string_view origin, HttpResponse& response) const {
  if (!allows(origin)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response.headers.emplace_back("Vary", "Origin");
  // A browser app reads Retry-After to back off from a 429 or 503.
  response.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
}

}  // namespace avsync::server

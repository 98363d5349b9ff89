#include "server/router.hpp"

#include <atomic>
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

HttpResponse Router::handle(const HttpRequest& request) const {
  static std::atomic<std::uint64_t> next_failure_id{1};
  try {
    return route(request);
  } catch (const store::Unavailable& e) {
    std::cerr << "store unavailable: " << e.what() << "\n";
    return error_response(ErrorCode::unavailable, "the store is unavailable; retry later");
  } catch (const std::exception& e) {
    auto id = next_failure_id++;
    std::cerr << "internal error #" << id << " on " << request.method << " " << request.target
              << ": " << e.what() << "\n";
    return error_response(ErrorCode::internal, "internal error #" + std::to_string(id));
  }
}

HttpResponse Router::route(const HttpRequest& request) const {
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  struct Route {
    std::string_view path;
    std::string_view method;
  };
  static constexpr Route kRoutes[] = {
      {"/sync/batch", "POST"}, {"/sync/changes", "GET"}, {"/healthz", "GET"}};
  for (const Route& r : kRoutes) {
    if (r.path != path) continue;
    if (r.method != request.method) {
      HttpResponse response = error_response(ErrorCode::method_not_allowed,
                                             std::string(path) + " accepts " + std::string(r.method));
      response.headers.emplace_back("Allow", std::string(r.method));
      return response;
    }
    if (path == "/sync/batch") return post_batch(request);
    if (path == "/sync/changes") return get_changes(request, query);
    return get_health();
  }
  return error_response(ErrorCode::route_not_found, "no route for " + std::string(path));
}

std::optional<HttpResponse> Router::over_rate_limit(const HttpRequest& request) const {
  if (!options_.rate_limiter) return std::nullopt;
  auto wait = options_.rate_limiter->admit(request.authorization, std::chrono::steady_clock::now());
  if (!wait) return std::nullopt;
  const auto seconds = std::max<std::int64_t>(1, (wait->count() + 999) / 1000);
  HttpResponse r = error_response(ErrorCode::rate_limited,
                                  "too many requests for this token; retry in " + std::to_string(seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

HttpResponse Router::post_batch(const HttpRequest& request) const {
  auto context = auth_.authenticate(request.authorization);
  if (!context) return error_response(context.error().code, context.error().message);
  if (auto limited = over_rate_limit(request)) return *limited;
  if (!is_json_media_type(request.content_type))
    return error_response(ErrorCode::unsupported_media_type, "Content-Type must be application/json");
  auto batch = decode_batch(request.body, options_.batch);
  if (!batch) {
    HttpResponse r = error_response(batch.error().code, batch.error().message);
    r.business_id = context->business_id;
    return r;
  }
  auto results = sync_.apply_batch(*context, batch->operations);
  HttpResponse r = json_response(encode_batch_response(results, clock_.now()));
  r.business_id = context->business_id;
  r.operation_count = results.size();
  return r;
}

HttpResponse Router::get_changes(const HttpRequest& request, std::string_view query) const {
  auto context = auth_.authenticate(request.authorization);
  if (!context) return error_response(context.error().code, context.error().message);
  if (auto limited = over_rate_limit(request)) return *limited;

  auto decoded = decode_changes_query(query);
  if (!decoded) return error_response(decoded.error().code, decoded.error().message);
  store::ChangeQuery change_query;
  change_query.limit = decoded->limit;
  change_query.after_version = decoded->after_version;
  if (decoded->since == ChangesRequest::Since::instant) change_query.changed_since = decoded->changed_since;
  // A full sync may leave out tombstones (§4).
  change_query.include_deleted = decoded->since != ChangesRequest::Since::beginning;
  ChangePage page = sync_.read_changes(*context, change_query);
  // Versions only grow, so a cursor past the tenant's newest change was not issued by this
  // tenant's feed (another tenant's cursor, or a database restored from a backup). Serving
  // it would silently skip changes until the counter caught up.
  if (change_query.after_version > page.latest_version)
    return error_response(ErrorCode::bad_request,
                          "since is a cursor this feed never issued; sync again from the beginning");
  HttpResponse r = json_response(encode_changes(page, encode_cursor(page.cursor_version), clock_.now()));
  r.business_id = context->business_id;
  r.operation_count = page.changes.size();
  return r;
}

HttpResponse Router::get_health() const {
  if (!store_.ping()) return error_response(ErrorCode::unavailable, "the store does not answer");
  return json_response(R"({"status":"ok"})");
}

}  // namespace avsync::server

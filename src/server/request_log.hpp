#pragma once
// Request ids and the request log (docs/protocol.md §6.1): every answer carries an
// X-Request-Id, the client's own when it is sane, and the JSON line logged for the request
// carries it too, so a client's report of a failure finds its line.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace avsync::server {

struct HttpRequest;
struct HttpResponse;

// How much the server logs on stderr: each level logs itself and those above it.
//  error: request lines of 5xx answers, internal errors and store failures;
//  warn:  request lines of 4xx answers but 401/404 (a client doing something wrong);
//  info:  every request line (the default);
//  debug: nothing more yet.
enum class LogLevel { error, warn, info, debug };

// "error", "warn", "info" or "debug"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

// The level a request's line is logged at, from its answer's status.
LogLevel request_line_level(int status);

// Whether `id` may be echoed: 1 to 64 characters of [A-Za-z0-9._-].
bool is_sane_request_id(std::string_view id);
// 128 random bits (OpenSSL's generator) as 32 lower-case hex digits.
std::string new_request_id();
// `sent` when it is sane, else a new id.
std::string request_id_for(std::string_view sent);

// The request's log line: one JSON object and a newline, {"method", "path", "status",
// "latency_ms", "business", "operations", "requestId"} and "error" (the wire code) when the
// answer is an error. Text a client chose (the path, a JWT's business claim) has quotes,
// backslashes and control characters neutralised, so a line stays one valid object.
std::string format_request_line(const HttpRequest& request, const HttpResponse& response,
                                std::chrono::steady_clock::duration latency);

}  // namespace avsync::server

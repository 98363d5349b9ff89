#pragma once
// The HTTP/1.1 front end: Boost.Beast over Asio with C++20 coroutines. Beast stays inside
// http_server.cpp; callers only see this header.
//
// What it guarantees under hostile load (docs/security.md):
// - Connections: a deadline for a request's first byte and for its head, separate from the
//   body's; caps on connections in all and per client address; at a cap, connections that
//   have sent nothing yet are closed first (then idle keep-alive ones), and past every cap
//   a new connection gets an immediate 503 with Retry-After.
// - The head is judged before the body is read (Router::admit): 401, 429, 404, 405 and 415
//   are answered without reading the body or sending 100 Continue, and the connection
//   closes.
// - Store calls and encoding run on a bounded pool of worker threads, never on the I/O
//   threads; one tenant runs a bounded number of requests at once; /healthz has a thread
//   of its own and answers within a deadline.
// - A long-poll waiting for a change holds no worker, no tenant turn and no database
//   connection, only its socket and a suspended coroutine; a peer that hangs up ends it.
// - Only `Transfer-Encoding: chunked` is accepted (anything else: 400, or 501 for a coding
//   we do not know) and a duplicate Authorization header is a 400; both close the
//   connection.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include "server/http/connection_table.hpp"
#include "server/router.hpp"

namespace avsync::server {

class ChangeHub;
class Metrics;

// --metrics-listen: a second address whose requests `router` answers (a Router with
// MetricsExposure::metrics_only), with the same limits as the main listener.
struct MetricsListener {
  std::string host;
  std::uint16_t port = 0;          // 0 picks a free port
  const Router* router = nullptr;  // not owned
  // Called once with the bound port, before the main listener's on_listening.
  std::function<void(std::uint16_t)> on_listening;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;              // 0 picks a free port
  std::size_t io_threads = 0;             // 0: one per core, at least 2
  std::size_t workers = 4;                // threads running store calls and encoding answers
  std::size_t max_queued = 256;           // requests waiting for a worker; past it: 503
  TenantLimits tenant;                    // requests one tenant runs at once, and queues
  ConnectionLimits connections;           // clamped to what the process may open
  std::size_t body_limit = 4 << 20;       // docs/protocol.md §1: 4 MiB default
  std::size_t header_limit = 16 << 10;
  std::chrono::seconds header_timeout{10};  // a request's first byte, then its whole head
  std::chrono::seconds read_timeout{30};    // the body, once the head is in
  std::chrono::seconds idle_timeout{75};    // keep-alive: the next request's first byte
  std::chrono::seconds health_timeout{2};   // /healthz answers 503 past this
  std::chrono::seconds shutdown_grace{10};  // in-flight requests get this long to finish
  // Long-polls (GET /sync/changes?wait=) wait on it for their tenant's next commit, as
  // suspended coroutines holding no worker; shutdown closes it, so each answers at once.
  // Not owned; nullptr: a wait is ignored and every page is answered at once.
  ChangeHub* live = nullptr;
  // Counts every answer, refusals of the HTTP layer included (by route, status and
  // latency). Not owned; nullptr: nothing counted.
  Metrics* metrics = nullptr;
  // Request lines below this level are not written (request_log.hpp says which is which).
  LogLevel log_level = LogLevel::info;
  std::optional<MetricsListener> metrics_listener;
};

// The address could not be bound; code() says why (std::errc::address_in_use, ...). Its
// what() is plain text, for the caller to name the address and what to do about it; it
// starts with "metrics" when the metrics listener's address was the one.
struct ListenError : std::system_error {
  using std::system_error::system_error;
};

// Every answer carries an X-Request-Id header: the request's (HttpRequest::request_id, the
// client's own when sane), or a new one for an answer given before the head was read.
//
// Listens, then serves `router` until SIGINT or SIGTERM. On a signal it stops accepting,
// closes connections without a request in progress, lets in-flight requests finish (up to
// shutdown_grace) and returns. `on_listening` is called once with the bound port before
// serving starts. Throws ListenError when an address (the metrics listener's included)
// cannot be bound.
void run_http_server(const HttpServerOptions& options, const Router& router,
                     const std::function<void(std::uint16_t)>& on_listening);

}  // namespace avsync::server

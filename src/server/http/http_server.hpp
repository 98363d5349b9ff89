#pragma once
// The HTTP/1.1 front end: Boost.Beast over Asio with C++20 coroutines, keep-alive,
// limits enforced while reading (header and body size, per-request read time), one log
// line per request, graceful shutdown on SIGINT/SIGTERM. Beast stays inside
// http_server.cpp; callers only see this header.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "server/router.hpp"

namespace avsync::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;           // 0 picks a free port
  std::size_t threads = 0;             // 0: max(8, 4 x cores); store calls block a thread
  std::size_t body_limit = 4 << 20;    // PROTOCOL.md §3: 4 MiB default
  std::size_t header_limit = 16 << 10;
  std::size_t max_connections = 1024;  // beyond this, new connections are closed at once
  std::chrono::seconds read_timeout{30};   // a whole request, headers and body
  std::chrono::seconds idle_timeout{75};   // keep-alive between requests
  std::chrono::seconds shutdown_grace{10}; // in-flight requests get this long to finish
};

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Listens, then serves until SIGINT or SIGTERM. On a signal it stops accepting, closes
// idle connections, lets in-flight requests finish (up to shutdown_grace) and returns.
// `on_listening` is called once with the bound port before serving starts.
// Throws when the address cannot be bound.
void run_http_server(const HttpServerOptions& options, const RequestHandler& handler,
                     const std::function<void(std::uint16_t)>& on_listening);

}  // namespace avsync::server

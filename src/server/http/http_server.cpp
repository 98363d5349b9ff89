#include "server/http/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>


namespace avsync::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What shutdown needs to reach in every open connection.
struct Connection {
  beast::tcp_stream* stream = nullptr;
  asio::any_io_executor executor;  // the connection's strand
  bool idle = true;                // waiting for (or partway through reading) a request
};

struct ServerState {
  const HttpServerOptions& options;
  const RequestHandler& handler;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::set<std::shared_ptr<Connection>> connections;

  void close_idle_connections() {
    std::lock_guard lock(mutex);
    for (const auto& c : connections)
      asio::post(c->executor, [c] {
        if (c->idle) c->stream->socket().close();
      });
  }
};

void log_request(const HttpRequest& request, const HttpResponse& response,
                 std::chrono::steady_clock::time_point start) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start).count();
  std::string path = request.target.substr(0, request.target.find('?'));
  // One JSON object per line. The path is the only client-chosen text: quotes and
  // control characters in it are neutralised so a line stays one valid object.
  std::ostringstream out;
  out << "{\"method\":\"" << request.method << "\",\"path\":\"";
  for (char c : path) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (static_cast<unsigned char>(c) < 0x20) out << '?';
    else out << c;
  }
  out << "\",\"status\":" << response.status << ",\"latency_ms\":" << micros / 1000 << "."
      << (micros % 1000) / 100 << ",\"business\":\"" << response.business_id
      << "\",\"operations\":" << response.operation_count << "}\n";
  std::cerr << out.str();
}

http::response<http::string_body> to_beast(HttpResponse response, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, "avsync");
  res.set(http::field::content_type, "application/json");
  for (auto& [name, value] : response.headers) res.set(name, value);
  res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// Answers a request the parser rejected, then closes the connection. The client may still
// be sending (an oversized body): closing a socket with unread input sends a reset that can
// destroy the answer in flight, so stop sending and drain what arrives for a short while
// first ("lingering close").
asio::awaitable<void> reject(beast::tcp_stream& stream, ErrorCode code, std::string_view message) {
  auto res = to_beast(error_response(code, message), 11, false);
  stream.expires_after(std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  if (ec) co_return;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  std::size_t drained = 0;
  while (drained < (64u << 20)) {
    auto [read_ec, got] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;
    drained += got;
  }
}

asio::awaitable<void> serve_connection(ServerState& state, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  auto connection = std::make_shared<Connection>(Connection{&stream, stream.get_executor(), true});
  {
    std::lock_guard lock(state.mutex);
    if (state.connections.size() >= state.options.max_connections) co_return;
    state.connections.insert(connection);
  }
  struct Unregister {
    ServerState& state;
    std::shared_ptr<Connection> connection;
    ~Unregister() {
      std::lock_guard lock(state.mutex);
      state.connections.erase(connection);
    }
  } unregister{state, connection};

  beast::flat_buffer buffer;
  bool first = true;
  while (!state.stopping) {
    connection->idle = true;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state.options.header_limit));
    parser.body_limit(state.options.body_limit);
    stream.expires_after(first ? state.options.read_timeout : state.options.idle_timeout);
    first = false;
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (ec == http::error::header_limit) {
      co_await reject(stream, ErrorCode::bad_request, "request headers are too large");
      break;
    }
    if (ec == http::error::body_limit) {  // a declared Content-Length over the limit
      co_await reject(stream, ErrorCode::payload_too_large,
                      "body exceeds " + std::to_string(state.options.body_limit) + " bytes");
      break;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::bad_descriptor) break;
    if (ec) {
      co_await reject(stream, ErrorCode::bad_request, "malformed HTTP request: " + ec.message());
      break;
    }
    // The whole request, headers and body, must arrive within read_timeout.
    stream.expires_after(state.options.read_timeout);
    auto& header = parser.get();
    if (auto length = parser.content_length(); length && *length > state.options.body_limit) {
      co_await reject(stream, ErrorCode::payload_too_large,
                      "body exceeds " + std::to_string(state.options.body_limit) + " bytes");
      break;
    }
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(stream, cont, use_tuple);
    }
    std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec == http::error::body_limit) {
      co_await reject(stream, ErrorCode::payload_too_large,
                      "body exceeds " + std::to_string(state.options.body_limit) + " bytes");
      break;
    }
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) break;
    if (ec) {
      co_await reject(stream, ErrorCode::bad_request, "malformed HTTP request: " + ec.message());
      break;
    }
    connection->idle = false;
    auto start = std::chrono::steady_clock::now();
    auto req = parser.release();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::string(req[http::field::content_type]),
                        std::string(req[http::field::authorization]), std::move(req.body())};
    HttpResponse response = state.handler(request);
    log_request(request, response, start);
    bool keep_alive = req.keep_alive() && !state.stopping;
    auto res = to_beast(std::move(response), req.version(), keep_alive);
    stream.expires_after(state.options.read_timeout);
    std::tie(ec, n) = co_await http::async_write(stream, res, use_tuple);
    if (ec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(ServerState& state, tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), use_tuple);
    if (ec) {
      if (state.stopping || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve_connection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

void run_http_server(const HttpServerOptions& options, const RequestHandler& handler,
                     const std::function<void(std::uint16_t)>& on_listening) {
  std::size_t threads = options.threads
                            ? options.threads
                            : std::max<std::size_t>(8, 4 * std::max(1u, std::thread::hardware_concurrency()));
  asio::io_context io(static_cast<int>(threads));
  ServerState state{options, handler};

  tcp::endpoint endpoint(asio::ip::make_address(options.host), options.port);
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  on_listening(acceptor.local_endpoint().port());

  asio::steady_timer deadline(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code& ec, int) {
    if (ec) return;
    std::cerr << "avsync-server: shutting down\n";
    state.stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    state.close_idle_connections();
    deadline.expires_after(options.shutdown_grace);
    deadline.async_wait([&](const beast::error_code& e) {
      if (!e) io.stop();  // in-flight requests ran out of grace
    });
    // Stop waiting on the deadline as soon as the last connection is gone.
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      asio::steady_timer poll(io);
      for (;;) {
        {
          std::lock_guard lock(state.mutex);
          if (state.connections.empty()) break;
        }
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(asio::use_awaitable);
      }
      deadline.cancel();
    }, asio::detached);
  });

  asio::co_spawn(io, accept_loop(state, acceptor), asio::detached);
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
}

}  // namespace avsync::server

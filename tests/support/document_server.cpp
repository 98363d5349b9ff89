#include "document_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace avsync::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct DocumentServer::Impl {
  std::mutex mutex;
  std::string document;
  std::uint16_t port = 0;
  std::atomic<int> requests{0};
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread thread;

  void listen() {
    acceptor = std::make_unique<tcp::acceptor>(io);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen();
    port = acceptor->local_endpoint().port();
    thread = std::thread([this] { serve(); });
  }

  // One request per connection, answered in turn: a test's fetches are few.
  void serve() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket(io);
      acceptor->accept(socket, ec);
      if (ec) return;  // closed by stop()
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, "application/json");
      {
        std::lock_guard lock(mutex);
        response.body() = document;
      }
      response.keep_alive(false);
      response.prepare_payload();
      http::write(socket, response, ec);
      ++requests;
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  void stop() {
    if (!acceptor) return;
    // shutdown() on the descriptor wakes the blocking accept() (close() alone does not on
    // Linux); the acceptor object itself is closed only once its thread is gone.
    ::shutdown(acceptor->native_handle(), SHUT_RDWR);
    thread.join();
    beast::error_code ignored;
    acceptor->close(ignored);
    acceptor.reset();
  }
};

DocumentServer::DocumentServer(std::string document) : impl_(std::make_unique<Impl>()) {
  impl_->document = std::move(document);
  impl_->listen();
}

DocumentServer::~DocumentServer() { impl_->stop(); }

std::string DocumentServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/jwks.json";
}

void DocumentServer::set_document(std::string document) {
  std::lock_guard lock(impl_->mutex);
  impl_->document = std::move(document);
}

void DocumentServer::take_down() { impl_->stop(); }

void DocumentServer::bring_up() {
  if (!impl_->acceptor) impl_->listen();
}

int DocumentServer::requests() const { return impl_->requests.load(); }

}  // namespace avsync::testing

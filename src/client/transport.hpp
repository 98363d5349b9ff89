#pragma once
// How the sync client talks HTTP. An interface so the engine's decisions can be tested
// with a hand-written fake; the product uses CurlTransport (libcurl).

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "avsync/error.hpp"

namespace avsync::client {

struct HttpReply {
  int status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;  // from a Retry-After header in seconds
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A request to the server. Any HTTP answer is a value (the caller reads its status);
  // not reaching the server is an Error: network (refused, reset, DNS), tls_failure (no
  // secure connection) or timeout.
  virtual Result<HttpReply> post_json(std::string_view path, std::string_view body) = 0;
  virtual Result<HttpReply> get(std::string_view path_and_query) = 0;
};

struct TransportOptions {
  std::string base_url;  // "http://host:port" or "https://...", no trailing slash needed
  std::string token;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::string ca_file;  // empty: the system's trust store. Verification is always on.
  // When set and it becomes true, a request in progress ends with ErrorCode::cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

// libcurl, one connection kept alive across requests. Not thread-safe: one per sync.
std::unique_ptr<Transport> make_curl_transport(TransportOptions options);

}  // namespace avsync::client

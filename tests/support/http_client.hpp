#pragma once
// A small blocking HTTP/1.1 client for integration tests (Beast inside the .cpp).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace avsync::testing {

struct HttpResult {
  int status = 0;  // 0: the connection failed
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;

  // One request on a keep-alive connection (reconnects when the server closed it).
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

  HttpResult post_batch(const std::string& token, const std::string& body);
  HttpResult get_changes(const std::string& token, const std::string& query = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends raw bytes on a new connection and returns whatever the server answered before
// closing or before `wait` elapsed ("" when nothing came).
std::string send_raw(std::uint16_t port, const std::string& bytes,
                     std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

}  // namespace avsync::testing

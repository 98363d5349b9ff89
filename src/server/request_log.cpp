#include "server/request_log.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "server/router.hpp"

namespace avsync::server {

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::error;
  if (text == "warn") return LogLevel::warn;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  return std::nullopt;
}

LogLevel request_line_level(int status) {
  if (status >= 500) return LogLevel::error;
  if (status >= 400 && status != 401 && status != 404) return LogLevel::warn;
  return LogLevel::info;
}

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() {
  std::array<unsigned char, 16> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string request_id_for(std::string_view sent) {
  return is_sane_request_id(sent) ? std::string(sent) : new_request_id();
}

std::string format_request_line(const HttpRequest& request, const HttpResponse& response,
                                std::chrono::steady_clock::duration latency) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?')).substr(0, 256);
  std::string out;
  auto text = [&out](std::string_view value) {
    for (char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        out += '?';
      } else {
        out += c;
      }
    }
  };
  out += "{\"method\":\"";
  text(std::string_view(request.method).substr(0, 16));
  out += "\",\"path\":\"";
  text(path);
  out += "\",\"status\":" + std::to_string(response.status) +
         ",\"latency_ms\":" + std::to_string(micros / 1000) + "." +
         std::to_string((micros % 1000) / 100) + ",\"business\":\"";
  text(response.business_id);
  out += "\",\"operations\":" + std::to_string(response.operation_count) + ",\"requestId\":\"";
  text(request.request_id);
  out += '"';
  if (response.error) {
    out += ",\"error\":\"";
    text(to_wire(*response.error));
    out += '"';
  }
  out += "}\n";
  return out;
}

}  // namespace avsync::server

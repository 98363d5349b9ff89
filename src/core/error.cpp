#include "core/error.hpp"

namespace avsync {

std::string_view to_wire(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_error: return "VALIDATION_ERROR";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::conflict: return "CONFLICT";
    case ErrorCode::internal: return "INTERNAL";
    case ErrorCode::unauthenticated: return "UNAUTHENTICATED";
    case ErrorCode::bad_request: return "BAD_REQUEST";
    case ErrorCode::batch_too_large: return "BATCH_TOO_LARGE";
    case ErrorCode::payload_too_large: return "PAYLOAD_TOO_LARGE";
    case ErrorCode::unsupported_media_type: return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::route_not_found: return "NOT_FOUND";
    case ErrorCode::method_not_allowed: return "METHOD_NOT_ALLOWED";
    case ErrorCode::rate_limited: return "RATE_LIMITED";
    case ErrorCode::unavailable: return "UNAVAILABLE";
    case ErrorCode::network: return "NETWORK";
    case ErrorCode::timeout: return "TIMEOUT";
    case ErrorCode::server_error: return "SERVER_ERROR";
    case ErrorCode::bad_response: return "BAD_RESPONSE";
    case ErrorCode::local_storage: return "LOCAL_STORAGE";
    case ErrorCode::not_configured: return "NOT_CONFIGURED";
    case ErrorCode::cancelled: return "CANCELLED";
    case ErrorCode::tls_failure: return "TLS_FAILURE";
  }
  return "INTERNAL";
}

std::optional<ErrorCode> error_code_from_wire(std::string_view wire) {
  static constexpr ErrorCode kProtocolCodes[] = {
      ErrorCode::validation_error,  ErrorCode::not_found,          ErrorCode::conflict,
      ErrorCode::internal,          ErrorCode::unauthenticated,    ErrorCode::bad_request,
      ErrorCode::batch_too_large,   ErrorCode::payload_too_large,  ErrorCode::unsupported_media_type,
      ErrorCode::method_not_allowed, ErrorCode::rate_limited,      ErrorCode::unavailable};
  for (ErrorCode code : kProtocolCodes) {
    if (to_wire(code) == wire) return code;
  }
  return std::nullopt;
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
  if (auto code = error_code_from_wire(name)) return code;
  for (int i = static_cast<int>(ErrorCode::network); i <= static_cast<int>(kLastErrorCode); ++i) {
    if (to_wire(static_cast<ErrorCode>(i)) == name) return static_cast<ErrorCode>(i);
  }
  return std::nullopt;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_error: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::internal: return 500;
    case ErrorCode::unauthenticated: return 401;
    case ErrorCode::bad_request: return 400;
    case ErrorCode::batch_too_large: return 413;
    case ErrorCode::payload_too_large: return 413;
    case ErrorCode::unsupported_media_type: return 415;
    case ErrorCode::route_not_found: return 404;
    case ErrorCode::method_not_allowed: return 405;
    case ErrorCode::rate_limited: return 429;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::network:
    case ErrorCode::timeout:
    case ErrorCode::server_error:
    case ErrorCode::bad_response:
    case ErrorCode::local_storage:
    case ErrorCode::not_configured:
    case ErrorCode::cancelled:
    case ErrorCode::tls_failure: return 500;  // never answered by the server
  }
  return 500;
}

}  // namespace avsync

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
  }
  return "INTERNAL";
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
  }
  return 500;
}

}  // namespace avsync

#pragma once
// The one error vocabulary of avsync, shared by the server, the store and the client SDK
// (docs/architecture.md, "How errors travel"). Expected outcomes travel as values
// (Result<T>); the unexpected throws inside the library and is caught at its edges.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace avsync {

// Starts with the protocol's codes (docs/protocol.md §1 and §3), spelled as on the wire, then
// the codes only a client can observe.
enum class ErrorCode {
  // Per-operation codes (§3).
  validation_error,
  not_found,
  conflict,
  internal,
  // Whole-request codes (§1).
  unauthenticated,
  bad_request,
  batch_too_large,
  payload_too_large,
  unsupported_media_type,
  route_not_found,
  method_not_allowed,
  rate_limited,
  unavailable,
  // Client side.
  network,         // the server could not be reached (DNS, refused, reset)
  timeout,         // the server did not answer in time
  server_error,    // a 5xx other than 503
  bad_response,    // the server answered something that is not the protocol
  local_storage,   // the device's database failed (disk full, corrupt file)
  not_configured,  // no server URL or token yet (`avsync init`)
  cancelled,       // the client is shutting down
  tls_failure,     // reached, but no secure connection: a certificate not trusted, or TLS to a
                   // server that speaks plain HTTP
};

struct Error {
  ErrorCode code;
  std::string message;
};

// A value or an Error. Shaped like std::expected so it can become one later.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

}  // namespace avsync

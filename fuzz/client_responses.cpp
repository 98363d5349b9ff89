// Fuzz target: what the client SDK reads from a server (or from whatever answers in its
// place): a batch response, a changes page, an error body. The first byte picks the
// HTTP status for the error decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client/response_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)avsync::client::decode_batch_results(body, {"a", "b"});
  (void)avsync::client::decode_changes_page(body);
  const int status = size > 0 ? 400 + data[0] % 200 : 500;
  (void)avsync::client::decode_error_reply(status, body);
  return 0;
}

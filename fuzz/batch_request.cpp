// Fuzz target: a POST /sync/batch body through the envelope decoder, then every operation
// through the validator, the log's payload copy and the response encoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/codec.hpp"
#include "core/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto batch = avsync::decode_batch(body, avsync::BatchLimits{});
  if (!batch) return 0;
  std::vector<avsync::OperationResult> results;
  for (const avsync::Operation& op : batch->operations) {
    auto valid = avsync::validate_operation(op.body);
    (void)avsync::loggable_payload(op.body);
    results.push_back({op.operation_id, valid ? std::nullopt : std::optional<avsync::Error>(valid.error()), 0});
  }
  (void)avsync::encode_batch_response(results, 0);
  return 0;
}

// Fuzz target: a POST /sync/batch body through the envelope decoder, then every operation
// through the validator, the log's payload copy and the response encoder. The body is also
// decoded under tiny caps, so the fuzzer reaches every cap with short inputs; a cap only
// ever refuses more, so whatever decodes under the tiny caps must decode the same way
// under the server's.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/codec.hpp"
#include "core/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  avsync::BatchLimits tiny;
  tiny.max_operations = 3;
  tiny.max_values_per_operation = 12;
  tiny.max_string_bytes = 16;
  tiny.average_values_per_operation = 4;
  auto small = avsync::decode_batch(body, tiny);
  auto batch = avsync::decode_batch(body, avsync::BatchLimits{});
  if (small) {
    if (!batch || batch->operations.size() != small->operations.size()) __builtin_trap();
    for (std::size_t i = 0; i < small->operations.size(); ++i)
      if (batch->operations[i].operation_id != small->operations[i].operation_id) __builtin_trap();
  }
  if (!batch) return 0;
  std::vector<avsync::OperationResult> results;
  for (const avsync::Operation& op : batch->operations) {
    auto valid = avsync::validate_operation(op.body);
    (void)avsync::loggable_payload(op.body);
    results.push_back({op.operation_id, valid ? std::nullopt : std::optional<avsync::Error>(valid.error()), 0});
  }
  (void)avsync::encode_batch_response(results, "v1.0", 0);
  return 0;
}

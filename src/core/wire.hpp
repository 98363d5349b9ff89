#pragma once
// The protocol's request and response shapes as C++ values (docs/protocol.md §3, §4).
// camelCase exists only in codec.cpp, which translates between these and JSON.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/schema.hpp"
#include "core/timestamp.hpp"

namespace avsync {

// One element of a batch's `operations`, after the envelope checks: the id is known
// good, the rest is validated per operation (a bad field fails that operation only).
struct Operation {
  std::string operation_id;
  JsonValue body;  // the whole element
};

struct BatchRequest {
  std::vector<Operation> operations;
};

struct OperationResult {
  std::string operation_id;
  std::optional<Error> error;  // nullopt: success
  UnixMillis server_time;
};

// A row's latest state as the change feed serves it.
struct RowChange {
  const EntitySpec* entity;
  std::string entity_id;
  bool deleted;
  std::vector<std::optional<std::string>> values;  // one per entity field, canonical text
  std::string created_at;
  std::string updated_at;  // when it last changed: the change's serverTimestamp
  std::uint64_t version;   // the tenant's change counter when it last changed
};

// A change as the streaming pull reads it (ChangesEncoder): views of the row a store's
// statement holds, valid until the store moves to its next row.
struct ChangeView {
  const EntitySpec* entity;
  std::string_view entity_id;
  bool deleted;
  std::uint64_t version;
  std::string_view created_at;
  std::string_view updated_at;
  std::span<const std::optional<std::string_view>> values;  // one per entity field (upserts)
};

struct ChangePage {
  std::vector<RowChange> changes;
  std::uint64_t cursor_version;  // resume after this version
  bool has_more;
  std::uint64_t latest_version = 0;  // the tenant's newest change version in the snapshot
};

}  // namespace avsync

#pragma once
// The protocol's batch semantics (PROTOCOL.md §3) and change feed (§4), once, over any
// Store. Synchronous and unaware of HTTP: the HTTP layer decides which thread runs it.

#include <vector>

#include "core/clock.hpp"
#include "core/wire.hpp"
#include "server/auth.hpp"
#include "store/store.hpp"

namespace avsync::server {

class SyncService {
 public:
  SyncService(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Applies the operations in order inside one store transaction (one durable commit),
  // each atomic on its own behind a savepoint. Returns one result per operation; a
  // failed operation is a result, never an exception. Throws when the store fails, and
  // then nothing of the batch is applied.
  std::vector<OperationResult> apply_batch(const RequestContext& context,
                                           const std::vector<Operation>& operations);

  // One page of the tenant's compacted change feed. Throws when the store fails.
  ChangePage read_changes(const RequestContext& context, const store::ChangeQuery& query);

 private:
  store::Store& store_;
  const Clock& clock_;
};

}  // namespace avsync::server

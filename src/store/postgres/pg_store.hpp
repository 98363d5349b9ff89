#pragma once
// The PostgreSQL store: a pool of libpq connections shared by the request threads, many
// stateless servers on one database. Batches of one tenant are serialised by a row lock
// on the tenant's `businesses` row, taken first in every batch: it makes the idempotency
// check exact across servers and hands out feed versions in commit order.

#include <memory>
#include <string>

#include "store/store.hpp"

namespace avsync::store {

// Connects lazily; throws store::Unavailable from calls while the database is down and
// recovers by itself when it returns.
std::unique_ptr<Store> open_postgres_store(const std::string& url, const StoreOptions& options);

}  // namespace avsync::store

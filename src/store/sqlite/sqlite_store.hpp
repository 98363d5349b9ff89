#pragma once
// The embedded store: one SQLite file in WAL mode. One writer connection (batches are
// serialised in-process by a mutex and across processes by BEGIN IMMEDIATE) and a pool of
// reader connections, so pulls and token look-ups never wait for a batch.

#include <memory>
#include <string>

#include "store/store.hpp"

namespace avsync::store {

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options);

}  // namespace avsync::store

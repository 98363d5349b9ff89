#include <stdexcept>

#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace avsync::store {

std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options) {
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path.erase(0, 2);  // tolerate sqlite://relative/path
    if (path.empty()) throw std::invalid_argument("sqlite: URL needs a file path, e.g. sqlite:avsync.db");
    return open_sqlite_store(path, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
    return open_postgres_store(std::string(url), options);
  throw std::invalid_argument("unknown --db URL '" + std::string(url) +
                              "': use sqlite:PATH or postgresql://...");
}

}  // namespace avsync::store

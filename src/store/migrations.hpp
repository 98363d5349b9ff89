#pragma once
// Numbered SQL migrations, embedded into the binary at build time from
// src/store/migrations/<backend>/NNNN_name.sql (see cmake/embed_migrations.cmake).

#include <span>
#include <string_view>

namespace avsync::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgres_migrations();

}  // namespace avsync::store

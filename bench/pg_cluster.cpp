#include "pg_cluster.hpp"

#include <unistd.h>

#include <stdexcept>
#include <system_error>

#include "server_process.hpp"

namespace avsync::bench {

PgCluster::PgCluster(const std::string& name) : name_(name) {
  parent_ = std::filesystem::temp_directory_path() /
            ("avsync-" + name + "-pg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(parent_);
  // The cluster runs as the unprivileged postgres user.
  using std::filesystem::perms;
  std::filesystem::permissions(parent_, perms::owner_all | perms::group_read | perms::group_exec |
                                            perms::others_read | perms::others_exec);
  auto out = testing::run_program({AVSYNC_PG_CLUSTER, "start", (parent_ / "pg").string()});
  if (out.exit_code != 0) throw std::runtime_error("scripts/pg-cluster start failed: " + out.err);
  url_ = out.out.substr(0, out.out.find('\n'));
}

PgCluster::~PgCluster() {
  auto ignored = testing::run_program({AVSYNC_PG_CLUSTER, "stop", (parent_ / "pg").string()});
  (void)ignored;
  std::error_code ec;
  std::filesystem::remove_all(parent_, ec);
}

std::string PgCluster::new_database() {
  const std::string database = "avsync_" + name_ + "_" + std::to_string(databases_++);
  testing::query_database(url_, "CREATE DATABASE " + database);
  return url_.substr(0, url_.rfind('/') + 1) + database;
}

}  // namespace avsync::bench

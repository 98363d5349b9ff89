#pragma once
// A throwaway PostgreSQL cluster for the benchmarks (scripts/pg-cluster): started on a free
// loopback port by the constructor, stopped and removed by the destructor.

#include <filesystem>
#include <string>

namespace avsync::bench {

class PgCluster {
 public:
  // `name` tells the cluster's directory apart (under the temporary directory, with the
  // process id). Throws when the cluster cannot start.
  explicit PgCluster(const std::string& name);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // A new, empty database in the cluster: its URL.
  std::string new_database();

 private:
  std::filesystem::path parent_;
  std::string url_;
  std::string name_;
  int databases_ = 0;
};

}  // namespace avsync::bench

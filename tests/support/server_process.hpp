#pragma once
// Runs a real avsync-server process for integration tests: a temporary directory with a
// SQLite file, admin commands to create tenants and tokens, `serve` on a free loopback
// port, and stop / kill -9 / restart on the same database.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace avsync::testing {

struct CommandOutput {
  int exit_code;
  std::string out;
  std::string err;
};

// Environment changes for a program run by a test: variables to set (nullopt unsets) and
// the directory to run in (empty: the test's).
struct ProgramEnvironment {
  std::vector<std::pair<std::string, std::optional<std::string>>> variables;
  std::string working_directory;
};

// Starts `argv_full` (argv_full[0] is the binary's path) with stdout and stderr to files.
pid_t spawn_program(const std::vector<std::string>& argv_full, const std::filesystem::path& out_path,
                    const std::filesystem::path& err_path, const ProgramEnvironment& env = {});
// Runs `argv_full` to completion.
CommandOutput run_program(const std::vector<std::string>& argv_full, const ProgramEnvironment& env = {});
// Runs `avsync-server args...` to completion.
CommandOutput run_server_command(const std::vector<std::string>& args);

// One statement against a server's database (sqlite:... or postgresql://...), written with
// $1, $2 placeholders; every value comes back as text (nullopt for NULL).
using DbRows = std::vector<std::vector<std::optional<std::string>>>;
DbRows query_database(const std::string& db_url, const std::string& sql,
                      const std::vector<std::string>& params = {});

class ServerProcess {
 public:
  // Creates a fresh database and migrates it (in this process); does not start serving yet. The database is
  // a temporary SQLite file, or, when AVSYNC_TEST_PG_URL_FILE names a file holding a
  // PostgreSQL URL (the suite's throwaway cluster), a new database in that cluster.
  explicit ServerProcess(std::vector<std::string> extra_serve_args = {});
  // Serves an existing database URL instead of a fresh temporary SQLite file.
  ServerProcess(std::string db_url, std::vector<std::string> extra_serve_args);
  ~ServerProcess();  // stops the server and removes the directory (AVSYNC_KEEP_TEST_DIRS=1 keeps it)
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `serve` and waits until it listens. The port survives restarts when possible.
  void start();
  void stop();     // SIGTERM, wait for exit; returns when the process is gone
  void kill9();    // SIGKILL, no cleanup
  bool running() const { return pid_ > 0; }
  int last_exit_status() const { return last_status_; }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& db_url() const { return db_url_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string log() const;  // what the server wrote on stderr so far

  std::string create_business(const std::string& name);
  std::string create_token(const std::string& business_id, const std::string& user,
                           const std::string& ttl_hours = "");
  void revoke_token(const std::string& token);

 private:
  void signal_and_wait(int signal);

  std::filesystem::path dir_;
  std::string db_url_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int last_status_ = 0;
};

}  // namespace avsync::testing

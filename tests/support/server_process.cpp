#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "server/auth.hpp"
#include "sqlite/database.hpp"
#include "store/postgres/pg.hpp"
#include "store/store.hpp"

#ifndef AVSYNC_SERVER_BIN
#error "AVSYNC_SERVER_BIN must name the avsync-server binary"
#endif

namespace avsync::testing {
namespace {

// The binary under test; AVSYNC_SERVER_BIN_OVERRIDE names another (the benchmarks compare a
// build of an older commit with this one: scripts/bench --server-binary).
std::string server_binary() {
  const char* other = std::getenv("AVSYNC_SERVER_BIN_OVERRIDE");
  return other && *other ? other : AVSYNC_SERVER_BIN;
}

std::vector<char*> to_argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::filesystem::path make_temp_dir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("avsync-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct FreshDatabase {
  std::string url;
  bool migrated;
};

// A fresh database for one ServerProcess: SQLite in `dir`, or a new PostgreSQL database
// copied from a migrated template. The first test process on the cluster migrates the
// template under an advisory lock; the others wait for it, then copy it, which spares each
// test a migration's connection and statements.
FreshDatabase fresh_database(const std::filesystem::path& dir) {
  const char* url_file = std::getenv("AVSYNC_TEST_PG_URL_FILE");
  if (!url_file || !*url_file) return {"sqlite:" + (dir / "server.db").string(), false};
  std::string base = trim(read_file(url_file));
  if (base.empty()) throw std::runtime_error(std::string("no PostgreSQL URL in ") + url_file + " (did the cluster start?)");
  const std::string cluster = base.substr(0, base.rfind('/') + 1);
  const std::string tmpl = "avsync_test_template";
  store::pg::Connection admin(base);
  admin.exec("SELECT pg_advisory_lock(7205770)");
  if (admin.exec("SELECT 1 FROM pg_database WHERE datname = '" + tmpl + "'").rows() == 0) {
    admin.exec("CREATE DATABASE " + tmpl);
    store::open_store(cluster + tmpl, {.pool_size = 1})->migrate();
  }
  admin.exec("SELECT pg_advisory_unlock(7205770)");
  static std::atomic<int> counter{0};
  std::string name = "avsync_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  admin.exec("DROP DATABASE IF EXISTS " + name);
  admin.exec("CREATE DATABASE " + name + " TEMPLATE " + tmpl);
  return {cluster + name, true};
}

}  // namespace

DbRows query_database(const std::string& db_url, const std::string& sql, const std::vector<std::string>& params) {
  DbRows rows;
  if (db_url.starts_with("sqlite:")) {
    sqlite::Database db(db_url.substr(7), sqlite::Database::Access::read_write);
    std::string text = sql;
    for (auto& c : text)
      if (c == '$') c = '?';
    auto q = db.query(text);
    for (std::size_t i = 0; i < params.size(); ++i) q.bind(static_cast<int>(i) + 1, params[i]);
    while (q.step()) {
      auto& row = rows.emplace_back();
      for (int c = 0; c < q.column_count(); ++c) row.push_back(q.optional_text(c));
    }
    return rows;
  }
  store::pg::Connection db(db_url);
  store::pg::Params p(params.begin(), params.end());
  // Without parameters, a plain query: utility statements (CREATE DATABASE) cannot be prepared.
  auto r = params.empty() ? db.exec(sql) : db.query(sql, p);
  for (int i = 0; i < r.rows(); ++i) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < r.columns(); ++c) row.push_back(r.optional_text(i, c));
  }
  return rows;
}

pid_t spawn_program(const std::vector<std::string>& argv_full, const std::filesystem::path& out_path,
                    const std::filesystem::path& err_path, const ProgramEnvironment& env) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& [name, value] : env.variables) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    if (!env.working_directory.empty() && ::chdir(env.working_directory.c_str()) != 0) ::_exit(126);
    std::vector<std::string> args = argv_full;
    auto argv = to_argv(args);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

CommandOutput run_program(const std::vector<std::string>& argv_full, const ProgramEnvironment& env) {
  auto dir = make_temp_dir();
  auto out_path = dir / "out", err_path = dir / "err";
  pid_t pid = spawn_program(argv_full, out_path, err_path, env);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandOutput result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out_path),
                       read_file(err_path)};
  std::filesystem::remove_all(dir);
  return result;
}

CommandOutput run_server_command(const std::vector<std::string>& args) {
  std::vector<std::string> full{server_binary()};
  full.insert(full.end(), args.begin(), args.end());
  return run_program(full);
}

ServerProcess::ServerProcess(std::vector<std::string> extra_serve_args)
    : ServerProcess(std::string(), std::move(extra_serve_args)) {}

ServerProcess::ServerProcess(std::string db_url, std::vector<std::string> extra_serve_args)
    : dir_(make_temp_dir()), extra_args_(std::move(extra_serve_args)) {
  bool migrated = false;
  if (db_url.empty()) {
    auto fresh = fresh_database(dir_);
    db_url_ = std::move(fresh.url);
    migrated = fresh.migrated;
  } else {
    db_url_ = std::move(db_url);
  }
  if (!migrated) store::open_store(db_url_, {.pool_size = 1})->migrate();
}

ServerProcess::~ServerProcess() {
  if (running()) kill9();
  if (const char* keep = std::getenv("AVSYNC_KEEP_TEST_DIRS"); keep && *keep == '1') {
    std::fprintf(stderr, "kept %s\n", dir_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ServerProcess::start() {
  auto out_path = dir_ / "serve.out";
  std::filesystem::remove(out_path);
  std::vector<std::string> args{server_binary(), "serve", "--db", db_url_, "--listen",
                                "127.0.0.1:" + std::to_string(port_)};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open((dir_ / "serve.err").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    auto argv = to_argv(args);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Wait for "avsync-server listening on http://127.0.0.1:PORT".
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = read_file(out_path);
    auto colon = out.rfind(':');
    if (out.find('\n') != std::string::npos && colon != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::stoi(out.substr(colon + 1)));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("avsync-server exited at start: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("avsync-server did not start listening: " + log());
}

void ServerProcess::stop() { signal_and_wait(SIGTERM); }

void ServerProcess::kill9() { signal_and_wait(SIGKILL); }

void ServerProcess::signal_and_wait(int signal) {
  if (!running()) return;
  ::kill(pid_, signal);
  ::waitpid(pid_, &last_status_, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const { return read_file(dir_ / "serve.err"); }

// The store calls the admin commands make, in this process: five fewer processes to start
// per test, which under the sanitizers is most of a test's setup.
std::string ServerProcess::create_business(const std::string& name) {
  auto store = store::open_store(db_url_, {.pool_size = 1});
  std::string id = server::generate_uuid();
  store->create_business(id, name, format_timestamp(SystemClock().now()));
  return id;
}

std::string ServerProcess::create_token(const std::string& business_id, const std::string& user,
                                        const std::string& ttl_hours) {
  auto store = store::open_store(db_url_, {.pool_size = 1});
  if (!store->business_exists(business_id)) throw std::runtime_error("create_token: no business " + business_id);
  const std::int64_t ttl = ttl_hours.empty() ? server::kDefaultTokenTtlHours : std::stoll(ttl_hours);
  return server::issue_token(*store, SystemClock(), business_id, user, ttl).token;
}

void ServerProcess::revoke_token(const std::string& token) {
  auto store = store::open_store(db_url_, {.pool_size = 1});
  if (!store->revoke_token(server::hash_token(token), format_timestamp(SystemClock().now())))
    throw std::runtime_error("revoke_token: no such token");
}

}  // namespace avsync::testing

#pragma once
// A thin RAII layer over libpq: a connection with a cache of prepared statements and a
// result that frees itself. Every value travels as text; user data is always a parameter.
// Failures throw pg::Failure carrying the SQLSTATE, so the store can tell a lost
// connection from a constraint violation.

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace avsync::store::pg {

class Failure : public std::runtime_error {
 public:
  Failure(std::string sqlstate, bool connection_lost, const std::string& what)
      : std::runtime_error(what), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // The server went away (or never answered): the connection is unusable.
  bool connection_lost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

class Result {
 public:
  explicit Result(pg_result* result) : result_(result) {}
  ~Result();
  Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Result& operator=(Result&&) = delete;

  int rows() const;
  int columns() const;
  int affected() const;  // rows changed by INSERT/UPDATE/DELETE
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  long long int64(int row, int column) const;

 private:
  pg_result* result_;
};

// Parameters for one execution: text values or NULL.
using Params = std::vector<std::optional<std::string_view>>;

class Connection {
 public:
  // Connects to `url` (postgresql://...). Throws Failure(connection_lost) when it cannot.
  explicit Connection(const std::string& url);
  // Connects like the constructor above without blocking past the moment `cancel_fd` (a
  // file descriptor, e.g. an eventfd) becomes readable: then it gives up and throws
  // Failure(connection_lost). For a thread that must stop promptly while the database is
  // unreachable (a TCP connect may otherwise wait minutes). Host names are still resolved
  // synchronously.
  Connection(const std::string& url, int cancel_fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs statements without parameters (BEGIN, COMMIT, DDL).
  Result exec(std::string_view sql);
  // Runs `sql` as a named prepared statement, preparing it on first use.
  Result query(const std::string& sql, const Params& params);
  // Runs several parameterised statements in one round trip (libpq pipeline mode), in
  // order, and returns their results, one per statement in the same order. The first
  // failure throws, after which the rest did not run and the transaction is aborted.
  // `sql` must stay valid during the call.
  struct Pipelined {
    const std::string* sql;
    std::vector<std::optional<std::string>> params;
  };
  std::vector<Result> run_pipelined(const std::vector<Pipelined>& statements);
  // False once the connection is known to be broken.
  bool healthy() const;
  // Reads whatever the server sent while the connection sat idle, without blocking: a
  // database that restarted has closed it, and this notices before a request is lost on it.
  bool still_alive();

  // Notifications (LISTEN/NOTIFY). The connection's socket, for poll(): readable when the
  // server sent something, such as a notification or the end of the connection.
  int socket() const;
  // Reads whatever the server sent, without blocking. Throws Failure(connection_lost) when
  // the connection is closed or broken.
  void consume_input();
  // One notification received on a channel this connection LISTENs on.
  struct Notification {
    std::string channel;
    std::string payload;
  };
  // Takes the notifications received so far (read by consume_input or by a query), oldest
  // first; empty when there are none. Does not read the socket.
  std::vector<Notification> take_notifications();

 private:
  void configure();  // after connecting: settings every connection gets
  [[noreturn]] void fail(pg_result* result, std::string_view context);
  const std::string& prepare(const std::string& sql);  // the statement's name

  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

}  // namespace avsync::store::pg

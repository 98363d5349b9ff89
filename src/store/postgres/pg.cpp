#include "store/postgres/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>

namespace avsync::store::pg {

Result::~Result() { PQclear(result_); }

int Result::rows() const { return PQntuples(result_); }

int Result::columns() const { return PQnfields(result_); }

int Result::affected() const {
  const char* n = PQcmdTuples(result_);
  return n && *n ? std::atoi(n) : 0;
}

bool Result::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view Result::text(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column),
                          static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::optional<std::string> Result::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(text(row, column));
}

long long Result::int64(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

Connection::Connection(const std::string& url) {
  conn_ = PQconnectdb(url.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw Failure("08001", true, "cannot connect to PostgreSQL: " + why);
  }
  configure();
}

Connection::Connection(const std::string& url, int cancel_fd) {
  conn_ = PQconnectStart(url.c_str());
  auto give_up = [&](std::string why) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw Failure("08001", true, "cannot connect to PostgreSQL: " + why);
  };
  if (!conn_) give_up("out of memory");
  // libpq's asynchronous connect: wait for the socket as PQconnectPoll asks, beginning as
  // if it had asked to write, until it is done, fails, or the caller cancels.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED || PQstatus(conn_) == CONNECTION_BAD)
      give_up(PQerrorMessage(conn_));
    pollfd fds[2] = {
        {PQsocket(conn_), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0},
        {cancel_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      give_up("poll failed");
    }
    if (fds[1].revents != 0) give_up("cancelled");
    state = PQconnectPoll(conn_);
  }
  configure();
}

// Settings every connection gets. A constructor that throws runs no destructor, so a
// failure here closes the connection itself.
void Connection::configure() {
  // Silence NOTICEs (e.g. "relation already exists, skipping") on stderr.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  // A generic plan is fixed after five executions using the statistics of that moment: on
  // a new database that is an empty table, and the plan (a sequential scan) never changes
  // as the table grows. Custom plans are made per execution from the table's real size.
  pg_result* r = PQexec(conn_, "SET plan_cache_mode = force_custom_plan");
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    try {
      fail(r, "SET plan_cache_mode");
    } catch (...) {
      PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
  }
  PQclear(r);
}

Connection::~Connection() { PQfinish(conn_); }

// A connection left in pipeline mode by a failure midway is not reusable either.
bool Connection::healthy() const {
  return conn_ && PQstatus(conn_) == CONNECTION_OK && PQpipelineStatus(conn_) == PQ_PIPELINE_OFF;
}

bool Connection::still_alive() {
  if (!healthy()) return false;
  if (PQconsumeInput(conn_) == 0) return false;  // EOF or error on the socket
  return PQstatus(conn_) == CONNECTION_OK;
}

int Connection::socket() const { return PQsocket(conn_); }

void Connection::consume_input() {
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK)
    throw Failure("08006", true,
                  "PostgreSQL connection lost: " + std::string(PQerrorMessage(conn_)));
}

std::vector<Connection::Notification> Connection::take_notifications() {
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname, n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

void Connection::fail(pg_result* result, std::string_view context) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = PQerrorMessage(conn_);
  PQclear(result);
  bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate == "57P01" ||
              sqlstate.empty();
  throw Failure(sqlstate, lost, "PostgreSQL error " + sqlstate + ": " + message + " in: " + std::string(context));
}

Result Connection::exec(std::string_view sql) {
  std::string text(sql);
  pg_result* r = PQexec(conn_, text.c_str());
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, sql);
  return Result(r);
}

const std::string& Connection::prepare(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    pg_result* r = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, sql);
    PQclear(r);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return it->second;
}

std::vector<Result> Connection::run_pipelined(const std::vector<Pipelined>& statements) {
  std::vector<Result> results;
  if (statements.empty()) return results;
  results.reserve(statements.size());
  std::vector<const std::string*> names;
  names.reserve(statements.size());
  for (const auto& s : statements) names.push_back(&prepare(*s.sql));  // prepared outside the pipeline
  if (PQenterPipelineMode(conn_) != 1) fail(nullptr, "entering pipeline mode");
  std::vector<const char*> values;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    values.clear();
    for (const auto& p : statements[i].params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryPrepared(conn_, names[i]->c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                            nullptr, 0) != 1)
      fail(nullptr, "sending a pipelined statement");
  }
  if (PQpipelineSync(conn_) != 1) fail(nullptr, "pipeline sync");
  // Every statement yields its result then a null; the sync point closes the pipeline.
  std::string failure, sqlstate;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    pg_result* r = PQgetResult(conn_);
    auto status = PQresultStatus(r);
    if (status == PGRES_FATAL_ERROR && failure.empty()) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      sqlstate = state ? state : "";
      failure = PQresultErrorMessage(r) + std::string(" in: ") + *statements[i].sql;
    }
    results.emplace_back(r);  // frees it; a failure throws below
    while ((r = PQgetResult(conn_)) != nullptr) PQclear(r);
  }
  pg_result* sync = PQgetResult(conn_);
  bool synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  PQexitPipelineMode(conn_);
  if (!failure.empty()) {
    bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate.empty();
    throw Failure(sqlstate, lost, "PostgreSQL error " + sqlstate + ": " + failure);
  }
  if (!synced) fail(nullptr, "pipeline did not end at its sync point");
  return results;
}

Result Connection::query(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    prepare(sql);
    it = prepared_.find(sql);
  }
  std::vector<std::string> owned;  // NUL-terminated copies: libpq wants C strings
  owned.reserve(params.size());
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    if (!p) {
      values.push_back(nullptr);
      continue;
    }
    owned.emplace_back(*p);
    values.push_back(owned.back().c_str());
  }
  pg_result* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                                nullptr, nullptr, 0);
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, sql);
  return Result(r);
}

}  // namespace avsync::store::pg

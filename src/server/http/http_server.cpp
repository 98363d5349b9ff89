#include "server/http/http_server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/change_hub.hpp"
#include "server/metrics.hpp"
#include "server/request_log.hpp"

namespace avsync::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A connection's strand, by its concrete type. Threads outside the io_context (the worker
// pools) post to it and never copy or destroy an any_io_executor: its type-erased copies
// share a reference count that ThreadSanitizer cannot follow across threads.
using Strand = asio::strand<asio::io_context::executor_type>;

// One open connection. Owned by its coroutine and by anything posted to its strand, so a
// socket is never touched after the coroutine that served it has ended.
struct Connection {
  Connection(tcp::socket socket, Strand s) : stream(std::move(socket)), strand(std::move(s)) {}
  beast::tcp_stream stream;
  Strand strand;  // the stream's executor
  ConnectionTable::Id id = 0;
  std::string address;
};

// A request waiting for its tenant's turn. Lives on its connection's strand.
struct Waiter {
  explicit Waiter(const Strand& s) : strand(s), timer(s) {}
  Strand strand;
  asio::steady_timer timer;
  bool granted = false;
};

// Runs `f(object)` on the object's strand, if the object still exists. The posted lambda
// holds the last reference it may hold, so the object is destroyed on its own strand.
template <typename T, typename F>
void post_if_alive(const std::weak_ptr<T>& weak, F f) {
  auto object = weak.lock();
  if (!object) return;
  Strand strand = object->strand;
  asio::post(strand, [object = std::move(object), f = std::move(f)] { f(*object); });
}

struct ServerState {
  ServerState(const HttpServerOptions& o, const Router& r)
      : options(o), router(r), hub(o.live), table(o.connections), gate(o.tenant) {}

  const HttpServerOptions& options;
  const Router& router;
  ChangeHub* hub;  // long-polls wait on it; nullptr: none
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> pending_jobs{0};  // submitted to the workers, not finished

  // Every worker is busy and max_queued requests wait for one already.
  bool workers_full() const { return pending_jobs >= options.workers + options.max_queued; }

  std::mutex mutex;  // guards everything below
  ConnectionTable table;
  std::unordered_map<ConnectionTable::Id, std::weak_ptr<Connection>> live;
  ConnectionTable::Id next_id = 1;
  TenantGate gate;
  std::unordered_map<TenantGate::Ticket, std::weak_ptr<Waiter>> waiters;

  // Closes a connection from any thread: on its own strand, only while it still exists.
  // Requires: mutex held.
  void close_locked(ConnectionTable::Id id) {
    auto it = live.find(id);
    if (it == live.end()) return;
    post_if_alive(it->second, [](Connection& c) {
      beast::error_code ignored;
      c.stream.socket().close(ignored);
    });
  }

  void set_state(const Connection& c, ConnectionTable::State s) {
    std::lock_guard lock(mutex);
    table.set_state(c.id, s);
  }

  // Closes every connection that has no request in progress (shutdown).
  void close_unbusy_connections() {
    std::lock_guard lock(mutex);
    for (const auto& [id, weak] : live)
      if (!table.is_busy(id)) close_locked(id);
  }

  // Wakes the waiter that was handed a tenant slot. Requires: mutex held.
  void grant_locked(TenantGate::Ticket ticket) {
    auto it = waiters.find(ticket);
    if (it == waiters.end()) return;
    post_if_alive(it->second, [](Waiter& w) {
      w.granted = true;
      w.timer.cancel();
    });
    waiters.erase(it);
  }
};

// Holds one tenant slot for a request: entered in enter(), left in the destructor, also
// when the coroutine ends early (the connection closed while it waited).
class TenantTurn {
 public:
  TenantTurn(ServerState& state, std::string tenant) : state_(state), tenant_(std::move(tenant)) {}
  TenantTurn(const TenantTurn&) = delete;
  TenantTurn& operator=(const TenantTurn&) = delete;
  ~TenantTurn() {
    std::lock_guard lock(state_.mutex);
    if (waiting_ && state_.gate.withdraw(tenant_, ticket_)) {
      state_.waiters.erase(ticket_);
      return;
    }
    if (!running_ && !waiting_) return;
    // Running, or handed the slot before it could notice: pass it on.
    if (auto next = state_.gate.leave(tenant_)) state_.grant_locked(*next);
  }

  // True once the request may run; false when the tenant's queue is full (unless
  // `past_cap`, TenantGate::enter) or the wait ran past `patience`.
  asio::awaitable<bool> enter(const Strand& strand, std::chrono::steady_clock::duration patience,
                              bool past_cap = false) {
    auto waiter = std::make_shared<Waiter>(strand);
    {
      std::lock_guard lock(state_.mutex);
      ticket_ = next_ticket_++;
      switch (state_.gate.enter(tenant_, ticket_, past_cap)) {
        case TenantGate::Entry::running: running_ = true; co_return true;
        case TenantGate::Entry::refused: co_return false;
        case TenantGate::Entry::waiting:
          waiting_ = true;
          state_.waiters.emplace(ticket_, waiter);
          break;
      }
    }
    waiter->timer.expires_after(patience);
    co_await waiter->timer.async_wait(use_tuple);
    if (!waiter->granted) co_return false;  // the destructor withdraws, or passes a late grant on
    std::lock_guard lock(state_.mutex);
    waiting_ = false;
    running_ = true;
    co_return true;
  }

 private:
  static inline std::atomic<TenantGate::Ticket> next_ticket_{1};
  ServerState& state_;
  std::string tenant_;
  TenantGate::Ticket ticket_ = 0;
  bool waiting_ = false;
  bool running_ = false;
};

// A job handed to a thread pool, whose result comes back on the strand of the connection
// that started it. Only that strand touches it once the job is done.
template <typename R>
struct PendingJob {
  explicit PendingJob(const Strand& s) : strand(s), wake(s) {}
  Strand strand;
  asio::steady_timer wake;  // cancelled when the result arrives
  std::optional<R> result;  // nullopt when the job threw
  bool finished = false;
};

// Starts `job` on `pool`. The caller, on `strand`, then waits on `wake` unless the job is
// `finished` already. A plain function, not a coroutine: no temporary of a co_await
// expression has to survive a suspension.
template <typename R, typename Job>
std::shared_ptr<PendingJob<R>> start_job(asio::thread_pool& pool, const Strand& strand, Job job) {
  auto pending = std::make_shared<PendingJob<R>>(strand);
  pending->wake.expires_at(std::chrono::steady_clock::time_point::max());
  asio::post(pool, [pending, job = std::move(job)]() mutable {
    std::optional<R> result;
    try {
      result = job();
    } catch (...) {
      // Router calls never throw; one that does anyway answers as a failure.
    }
    // The job lets go of `pending` here, so it is destroyed on the strand, never on a pool
    // thread.
    Strand home = pending->strand;
    asio::post(home, [pending = std::move(pending), result = std::move(result)]() mutable {
      pending->result = std::move(result);
      pending->finished = true;
      pending->wake.cancel();
    });
  });
  return pending;
}

// What every answer to a request whose head was read goes through: the request's id as its
// X-Request-Id, its count under `route`, and its log line (at the level its status calls for).
void finish(const ServerState& state, const HttpRequest& request, HttpResponse& response,
            std::string_view route, std::chrono::steady_clock::time_point start) {
  const auto latency = std::chrono::steady_clock::now() - start;
  response.headers.emplace_back("X-Request-Id", request.request_id);
  if (Metrics* metrics = state.options.metrics)
    metrics->count_request(metrics->route_index(route), response.status, latency);
  if (request_line_level(response.status) <= state.options.log_level)
    std::cerr << format_request_line(request, response, latency);
}

// Counts an answer given before a request's head was read (no route, no id of its own).
void count_headless(const ServerState& state, int status) {
  if (Metrics* metrics = state.options.metrics)
    metrics->count_request(metrics->route_index(kUnknownRoute), status,
                           std::chrono::steady_clock::duration::zero());
}

// Whether the answer carries its body: RFC 9110 §9.3.2, a HEAD is answered as a GET would
// be, with its Content-Length, but without the body.
enum class Body { sent, omitted };
Body body_for(const HttpRequest& request) {
  return request.method == "HEAD" ? Body::omitted : Body::sent;
}

http::response<http::string_body> to_beast(HttpResponse response, unsigned version, bool keep_alive,
                                           Body body = Body::sent) {
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, "avsync");
  if (!response.body.empty()) res.set(http::field::content_type, "application/json");
  for (auto& [name, value] : response.headers) res.set(name, value);
  // An answer given before the head was read (or past every connection cap) has an id too.
  if (res.find("X-Request-Id") == res.end()) res.set("X-Request-Id", new_request_id());
  res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (body == Body::omitted) res.body().clear();  // Content-Length stays the GET's
  return res;
}

HttpResponse busy_response(std::string_view message) {
  HttpResponse r = error_response(ErrorCode::unavailable, message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// Answers a request that will not be read to its end, then closes the connection. The
// client may still be sending (an oversized or unauthorised body): closing a socket with
// unread input sends a reset that can destroy the answer in flight, so stop sending and
// drain what arrives for a short while first ("lingering close"). Nothing drained is kept.
asio::awaitable<void> answer_and_close(beast::tcp_stream& stream, HttpResponse response) {
  auto res = to_beast(std::move(response), 11, false);
  stream.expires_after(5s);
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  if (ec) co_return;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(2s);
  std::array<char, 16384> sink;
  std::size_t drained = 0;
  while (drained < (64u << 20)) {
    auto [read_ec, got] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;
    drained += got;
  }
}

asio::awaitable<void> reject(const ServerState& state, beast::tcp_stream& stream, ErrorCode code,
                             std::string_view message) {
  HttpResponse response = error_response(code, message);
  count_headless(state, response.status);
  co_await answer_and_close(stream, std::move(response));
}

// RFC 9112 §6.1: a request's Transfer-Encoding must end in chunked, the only coding we
// decode. nullopt: acceptable (absent, or exactly "chunked").
std::optional<HttpResponse> check_transfer_encoding(const http::request_parser<http::string_body>& parser) {
  const auto& header = parser.get();
  auto range = header.equal_range(http::field::transfer_encoding);
  if (range.first == range.second) return std::nullopt;
  std::vector<std::string> codings;
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view value(it->value().data(), it->value().size());
    while (!value.empty()) {
      std::size_t comma = value.find(',');
      std::string_view item = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      item = item.substr(0, item.find(';'));
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;
      std::string lower;
      for (char c : item) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      codings.push_back(std::move(lower));
    }
  }
  if (header.count(http::field::content_length) > 0)
    return error_response(ErrorCode::bad_request, "a request may not carry both Transfer-Encoding and Content-Length");
  if (codings.size() == 1 && codings[0] == "chunked") return std::nullopt;
  static constexpr std::string_view kKnown[] = {"chunked", "compress", "deflate", "gzip",
                                                "identity", "x-compress", "x-gzip"};
  // 501 NOT_IMPLEMENTED is ours alone (no ErrorCode): our clients never send a coding.
  auto not_implemented = [](std::string_view message) {
    HttpResponse r;
    r.status = 501;
    r.body = R"({"error":{"code":"NOT_IMPLEMENTED","message":")" + std::string(message) + R"("}})";
    return r;
  };
  for (const auto& coding : codings)
    if (std::find(std::begin(kKnown), std::end(kKnown), coding) == std::end(kKnown))
      return not_implemented("unknown transfer coding; only chunked is accepted");
  if (!codings.empty() && codings.back() == "chunked" &&
      std::count(codings.begin(), codings.end(), "chunked") == 1)
    return not_implemented("only the chunked transfer coding is accepted");
  return error_response(ErrorCode::bad_request, "Transfer-Encoding must be chunked, once, and last");
}

bool is_disconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor || ec == asio::error::eof;
}

std::string body_limit_message(const HttpServerOptions& o) {
  return "body exceeds " + std::to_string(o.body_limit) + " bytes";
}

// How a request waits for its turn and a worker.
enum class Queueing {
  bounded,  // a full tenant queue is a 429, a full worker queue a 503
  woken,    // a long-poll woken by a commit: it queues past the caps, as every waiter of a
            // tenant (or, after a change watch reconnects, of every tenant) wakes at once
};

// Runs a /sync/* or admin request on a worker, in its tenant's turn. Never fails: a full
// queue or a failed job is an error answer.
asio::awaitable<HttpResponse> run_on_worker(ServerState& state, const Strand& executor,
                                            asio::thread_pool& workers, HttpRequest& request,
                                            const Admission& admission,
                                            Queueing queueing = Queueing::bounded) {
  const bool woken = queueing == Queueing::woken;
  // A tenant's requests take their turn; the admin API's (no caller) only a worker.
  std::optional<TenantTurn> turn;
  if (admission.caller) turn.emplace(state, admission.caller->business_id);
  if (turn && !co_await turn->enter(executor, state.options.read_timeout, woken)) {
    if (state.options.metrics) state.options.metrics->count_rate_limited(RateLimited::tenant_queue);
    HttpResponse r = error_response(ErrorCode::rate_limited,
                                    "too many requests of this business at once; retry in 1 s");
    r.headers.emplace_back("Retry-After", "1");
    co_return r;
  }
  if (woken) {
    asio::steady_timer pause(executor);
    for (int tries = 0; state.workers_full() && !state.stopping && tries < 1000; ++tries) {
      pause.expires_after(5ms + std::chrono::milliseconds(tries % 16));
      co_await pause.async_wait(use_tuple);
    }
  }
  if (state.workers_full()) co_return busy_response("the server is busy; retry later");
  ++state.pending_jobs;
  auto shared = std::make_shared<HttpRequest>(std::move(request));
  auto job = start_job<HttpResponse>(
      workers, executor,
      [&router = state.router, shared, admission] { return router.serve(*shared, admission); });
  if (!job->finished) co_await job->wake.async_wait(use_tuple);
  --state.pending_jobs;
  request = std::move(*shared);
  if (!job->result) co_return error_response(ErrorCode::internal, "the request failed");
  co_return std::move(*job->result);
}

// A long-poll between two reads of the feed: woken by a commit of its tenant (or by
// shutdown), by its deadline, or ended by its peer hanging up.
struct LiveWait {
  explicit LiveWait(const Strand& s) : strand(s), timer(s) {}
  Strand strand;
  asio::steady_timer timer;  // expires at the deadline; cancelled by a wake-up
  bool woken = false;
};

enum class WaitEnd { woken_or_timed_out, peer_gone };

// Waits on `live.timer` while watching the socket: a peer that closes its end (or resets)
// while nothing is owed to it frees its waiter at once, not at the deadline. Bytes the peer
// sends meanwhile (a pipelined request) stay unread for the next request.
asio::awaitable<WaitEnd> wait_for_change(LiveWait& live, tcp::socket& socket) {
  using namespace asio::experimental::awaitable_operators;
  if (live.woken) co_return WaitEnd::woken_or_timed_out;  // its cancel found no wait to end
  auto ended = co_await (live.timer.async_wait(use_tuple) ||
                         socket.async_wait(tcp::socket::wait_read, use_tuple));
  if (ended.index() == 0) co_return WaitEnd::woken_or_timed_out;
  char byte;
  const ssize_t peeked = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    co_return WaitEnd::peer_gone;
  if (peeked < 0) co_return co_await wait_for_change(live, socket);  // spurious: watch again
  // Something to read later: stop watching the socket and wait on the timer alone.
  if (!live.woken) co_await live.timer.async_wait(use_tuple);
  co_return WaitEnd::woken_or_timed_out;
}

asio::awaitable<void> serve_connection(ServerState& state, std::shared_ptr<Connection> connection,
                                       asio::thread_pool& workers, asio::thread_pool& health) {
  struct Unregister {
    ServerState& state;
    ConnectionTable::Id id;
    ~Unregister() {
      std::lock_guard lock(state.mutex);
      state.table.remove(id);
      state.live.erase(id);
    }
  } unregister{state, connection->id};
  const auto& options = state.options;
  beast::tcp_stream& stream = connection->stream;
  const Strand& executor = connection->strand;

  beast::flat_buffer buffer;
  bool first = true;
  while (!state.stopping) {
    // The first byte of a request: soon on a new connection, later on keep-alive.
    if (buffer.size() == 0) {
      stream.expires_after(first ? options.header_timeout : options.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    state.set_state(*connection, ConnectionTable::State::busy);
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    stream.expires_after(options.header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (ec == http::error::header_limit) {
      co_await reject(state, stream, ErrorCode::bad_request, "request headers are too large");
      break;
    }
    if (is_disconnect(ec)) break;
    if (ec && ec != http::error::body_limit) {
      co_await reject(state, stream, ErrorCode::bad_request,
                      "malformed HTTP request: " + ec.message());
      break;
    }
    auto& header = parser.get();
    auto start = std::chrono::steady_clock::now();
    HttpRequest request{std::string(header.method_string()), std::string(header.target()),
                        std::string(header[http::field::content_type]),
                        std::string(header[http::field::authorization]), connection->address, {}};
    request.origin = std::string(header[http::field::origin]);
    request.requested_method = std::string(header[http::field::access_control_request_method]);
    request.if_none_match = std::string(header[http::field::if_none_match]);
    request.request_id = request_id_for(header["X-Request-Id"]);
    std::string_view route = kUnknownRoute;  // the metrics' route label, once admitted
    // From here on every answer carries the CORS headers its origin needs, so a browser app
    // can read a 413 (to split its batch) or a 503's Retry-After.
    auto refuse = [&](HttpResponse response) {
      state.router.decorate(request, response);
      finish(state, request, response, route, start);
      return answer_and_close(stream, std::move(response));
    };
    // A declared Content-Length over the limit.
    const bool too_long = ec == http::error::body_limit ||
                          (parser.content_length() && *parser.content_length() > options.body_limit);
    if (auto refused = check_transfer_encoding(parser)) {
      co_await refuse(std::move(*refused));
      break;
    }
    if (header.count(http::field::authorization) > 1) {
      co_await refuse(error_response(ErrorCode::bad_request, "a request may carry one Authorization header only"));
      break;
    }
    if (too_long) {
      co_await refuse(error_response(ErrorCode::payload_too_large, body_limit_message(options)));
      break;
    }

    // The head decides first: /sync/* reads the store (the token) or verifies a JWT, and
    // /admin/* hashes a credential, on a worker.
    Admission admission;
    if (request.target.starts_with("/sync/") || request.target.starts_with("/admin/") ||
        request.target.starts_with("/metrics")) {
      if (state.workers_full()) {
        co_await refuse(busy_response("the server is busy; retry later"));
        break;
      }
      ++state.pending_jobs;
      auto job = start_job<Admission>(workers, executor, [&router = state.router, request] {
        return router.admit(request);
      });
      if (!job->finished) co_await job->wake.async_wait(use_tuple);
      --state.pending_jobs;
      if (!job->finished || !job->result) break;
      admission = std::move(*job->result);
    } else {
      admission = state.router.admit(request);
    }
    route = admission.route_label;
    if (admission.refusal) {
      state.router.decorate(request, *admission.refusal);
      finish(state, request, *admission.refusal, route, start);
      if (!parser.is_done()) {  // a body is on its way: refuse it unread
        co_await answer_and_close(stream, std::move(*admission.refusal));
        break;
      }
      bool keep_alive = header.keep_alive() && !state.stopping;
      auto res =
          to_beast(std::move(*admission.refusal), header.version(), keep_alive, body_for(request));
      stream.expires_after(options.read_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, res, use_tuple);
      if (write_ec || !keep_alive) break;
      state.set_state(*connection, ConnectionTable::State::idle);
      continue;
    }

    if (beast::iequals(header[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(stream, cont, use_tuple);
    }
    stream.expires_after(options.read_timeout);
    std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec == http::error::body_limit) {
      co_await refuse(error_response(ErrorCode::payload_too_large, body_limit_message(options)));
      break;
    }
    if (is_disconnect(ec)) break;
    if (ec) {
      co_await refuse(error_response(ErrorCode::bad_request, "malformed HTTP request: " + ec.message()));
      break;
    }
    auto req = parser.release();
    request.body = std::move(req.body());

    std::optional<HttpResponse> response;
    if (admission.route == Admission::Route::health) {
      auto job = start_job<HttpResponse>(health, executor, [&router = state.router, request, admission] {
        return router.serve(request, admission);
      });
      if (!job->finished) {
        job->wake.expires_after(options.health_timeout);
        co_await job->wake.async_wait(use_tuple);
      }
      if (job->finished) response = std::move(job->result);
      if (!response) response = busy_response("the store did not answer in time");
    } else {
      // A long-poll subscribes before each read of the feed, so no commit falls between an
      // empty page and its wait; after the deadline, the last read is the answer.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(admission.wait_seconds);
      const bool long_poll = admission.wait_seconds > 0 && state.hub && admission.caller;
      for (bool woken = false;; woken = true) {
        std::shared_ptr<LiveWait> live;
        std::optional<ChangeHub::Subscription> subscription;
        if (long_poll) {
          live = std::make_shared<LiveWait>(executor);
          subscription.emplace(state.hub->subscribe(admission.caller->business_id,
                                                    [weak = std::weak_ptr<LiveWait>(live)] {
                                                      post_if_alive(weak, [](LiveWait& w) {
                                                        w.woken = true;
                                                        w.timer.cancel();
                                                      });
                                                    }));
        }
        response = co_await run_on_worker(state, executor, workers, request, admission,
                                          woken ? Queueing::woken : Queueing::bounded);
        if (!live || !response->caught_up_at || state.stopping ||
            std::chrono::steady_clock::now() >= deadline)
          break;
        if (!subscription->arm(*response->caught_up_at)) continue;  // a commit came: read again
        live->timer.expires_at(deadline);
        if (co_await wait_for_change(*live, stream.socket()) == WaitEnd::peer_gone)
          co_return;  // the caller hung up: nobody to answer, nothing to log
        if (state.stopping) break;  // shutdown: the empty page at once
      }
    }
    state.router.decorate(request, *response);
    finish(state, request, *response, route, start);
    bool keep_alive = req.keep_alive() && !state.stopping;
    auto res = to_beast(std::move(*response), req.version(), keep_alive, body_for(request));
    stream.expires_after(options.read_timeout);
    std::tie(ec, n) = co_await http::async_write(stream, res, use_tuple);
    if (ec || !keep_alive) break;
    state.set_state(*connection, ConnectionTable::State::idle);
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Past every cap: say so at once and close, rather than leave the client guessing.
asio::awaitable<void> refuse_connection(const ServerState& state, tcp::socket socket) {
  count_headless(state, 503);
  beast::tcp_stream stream(std::move(socket));
  co_await answer_and_close(stream, busy_response("too many connections; retry later"));
}

asio::awaitable<void> accept_loop(ServerState& state, tcp::acceptor& acceptor, asio::io_context& io,
                                  asio::thread_pool& workers, asio::thread_pool& health) {
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    Strand strand = asio::make_strand(io);
    auto [ec, socket] = co_await acceptor.async_accept(strand, use_tuple);
    if (ec) {
      if (state.stopping || ec == asio::error::operation_aborted) co_return;
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
        // Out of file descriptors: make room by closing a connection that sent nothing,
        // and do not spin on the pending connection meanwhile.
        {
          std::lock_guard lock(state.mutex);
          if (auto victim = state.table.oldest_evictable()) {
            state.close_locked(*victim);
            state.table.remove(*victim);
          }
        }
        pause.expires_after(10ms);
        co_await pause.async_wait(use_tuple);
      }
      continue;
    }
    beast::error_code endpoint_ec;
    auto peer = socket.remote_endpoint(endpoint_ec);
    if (endpoint_ec) continue;  // already gone
    auto connection = std::make_shared<Connection>(std::move(socket), strand);
    connection->address = peer.address().to_string();
    ConnectionTable::Admission admission;
    {
      std::lock_guard lock(state.mutex);
      connection->id = state.next_id++;
      admission = state.table.admit(connection->id, connection->address);
      for (auto victim : {admission.evict_for_address, admission.evict_for_total})
        if (victim) state.close_locked(*victim);
      if (admission.admitted) state.live.emplace(connection->id, connection);
    }
    Strand executor = connection->strand;
    if (!admission.admitted) {
      asio::co_spawn(executor, refuse_connection(state, connection->stream.release_socket()),
                     asio::detached);
      continue;
    }
    asio::co_spawn(executor, serve_connection(state, std::move(connection), workers, health), asio::detached);
  }
}

bool has_connections(ServerState& state) {
  std::lock_guard lock(state.mutex);
  return !state.live.empty();
}

// Raises the open-file limit to its hard maximum and returns how many connections fit in
// it, keeping room for the store's files and the process's own.
std::size_t connections_that_fit(std::size_t wanted) {
  constexpr std::size_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted + kReserve) return wanted;
  return limit.rlim_cur > 2 * kReserve ? limit.rlim_cur - kReserve : limit.rlim_cur / 2;
}

}  // namespace

void run_http_server(const HttpServerOptions& requested, const Router& router,
                     const std::function<void(std::uint16_t)>& on_listening) {
  HttpServerOptions options = requested;
  if (std::size_t fit = connections_that_fit(options.connections.max_connections);
      fit < options.connections.max_connections) {
    std::cerr << "avsync-server: the open-file limit allows " << fit << " connections, not "
              << options.connections.max_connections << "\n";
    options.connections.max_connections = fit;
  }
  const std::size_t io_threads =
      options.io_threads ? options.io_threads : std::max<std::size_t>(2, std::thread::hardware_concurrency());

  // Declared first, destroyed last: coroutine frames destroyed with the io_context refer to them.
  ServerState state(options, router);
  std::optional<ServerState> metrics_state;  // the --metrics-listen listener's
  if (options.metrics_listener) metrics_state.emplace(options, *options.metrics_listener->router);
  asio::io_context io(static_cast<int>(io_threads));
  asio::thread_pool workers(options.workers);
  asio::thread_pool health(1);

  auto listen = [](tcp::acceptor& acceptor, const std::string& host, std::uint16_t port,
                   const char* which) {
    tcp::endpoint endpoint(asio::ip::make_address(host), port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    boost::system::error_code bind_error;
    acceptor.bind(endpoint, bind_error);
    if (bind_error) throw ListenError(bind_error.value(), std::generic_category(), which);
    acceptor.listen(asio::socket_base::max_listen_connections);
  };
  tcp::acceptor acceptor(io);
  tcp::acceptor metrics_acceptor(io);
  if (metrics_state) {
    listen(metrics_acceptor, options.metrics_listener->host, options.metrics_listener->port,
           "metrics");
    if (options.metrics_listener->on_listening)
      options.metrics_listener->on_listening(metrics_acceptor.local_endpoint().port());
  }
  listen(acceptor, options.host, options.port, "bind");
  on_listening(acceptor.local_endpoint().port());

  asio::steady_timer deadline(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code& ec, int) {
    if (ec) return;
    std::cerr << "avsync-server: shutting down\n";
    state.stopping = true;
    if (state.hub) state.hub->close();  // every long-poll answers its empty page now
    beast::error_code ignored;
    acceptor.close(ignored);
    state.close_unbusy_connections();
    if (metrics_state) {
      metrics_state->stopping = true;
      metrics_acceptor.close(ignored);
      metrics_state->close_unbusy_connections();
    }
    deadline.expires_after(options.shutdown_grace);
    deadline.async_wait([&](const beast::error_code& e) {
      if (!e) io.stop();  // in-flight requests ran out of grace
    });
    // Stop waiting on the deadline as soon as the last connection is gone.
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      asio::steady_timer poll(io);
      for (;;) {
        if (!has_connections(state) && !(metrics_state && has_connections(*metrics_state))) break;
        poll.expires_after(20ms);
        co_await poll.async_wait(use_tuple);
      }
      deadline.cancel();
    }, asio::detached);
  });

  asio::co_spawn(io, accept_loop(state, acceptor, io, workers, health), asio::detached);
  if (metrics_state)
    asio::co_spawn(io, accept_loop(*metrics_state, metrics_acceptor, io, workers, health),
                   asio::detached);
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < io_threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  // Requests still running on a worker finish before the io_context they answer to goes.
  workers.stop();
  workers.join();
  health.stop();
  health.join();
}

}  // namespace avsync::server

// avsync-hostile-bench: what hostile load does to a real avsync-server process, each figure
// beside its baseline taken in the same run:
//   1. /healthz latency while 2,000 idle TCP connections (connected, nothing sent) are open;
//   2. /healthz latency while 20 clients pull GET /sync/changes?limit=10000 of a 60,000-row
//      tenant in a loop;
//   3. the server's RSS while 200 unauthenticated 4 MiB POST /sync/batch bodies arrive at once;
//   4. the server's RSS, answers and CPU per request for 20 concurrent 4 MB batches of junk
//      ({"operations":[],"junk":[0,0,...]}) sent with a valid token.
// Traffic goes to 127.0.0.1 only; every loop is bounded and every request has a deadline.
// The server runs with its default flags: this measures the server as it would be deployed.
// scripts/bench-hostile (make bench-hostile) runs it; --db URL serves an existing database.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "process_stats.hpp"
#include "server_process.hpp"
#include "sync_fixture.hpp"

namespace {

using avsync::bench::cpu_seconds;
using avsync::bench::percentile;
using avsync::bench::status_kib;

using avsync::testing::new_uuid;
using avsync::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string db;  // empty: a fresh temporary SQLite file
  int idle_connections = 2000;
  int healthz_tries = 12;
  int tenant_rows = 60000;
  int pullers = 20;
  int pulls_per_client = 6;  // bound on each puller's loop
  int big_bodies = 200;
  int junk_batches = 20;
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

// A non-blocking loopback connection, connect() started (-1 when no socket could be made).
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One HTTP exchange on its own connection (the request says Connection: close).
struct Exchange {
  std::string request;
  int fd = -1;
  std::size_t sent = 0;
  std::string response;
  bool done = false;
  double ms = 0;
  int status() const {  // 0: no answer
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return 0;
    return std::atoi(response.c_str() + 9);
  }
};

// Runs the exchanges concurrently from this thread until each has its answer and the
// server closed it, or `deadline` passes. `tick` runs every few milliseconds meanwhile.
template <typename Tick>
void pump(std::vector<Exchange>& xs, std::uint16_t port, Clock::duration deadline, Tick&& tick) {
  const auto t0 = Clock::now();
  for (auto& x : xs) {
    x.fd = connect_loopback(port);
    if (x.fd < 0) x.done = true;
  }
  char buf[65536];
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Exchange*> of;
    for (auto& x : xs)
      if (!x.done) {
        fds.push_back({x.fd, static_cast<short>(POLLIN | (x.sent < x.request.size() ? POLLOUT : 0)), 0});
        of.push_back(&x);
      }
    if (fds.empty() || Clock::now() - t0 > deadline) break;
    ::poll(fds.data(), fds.size(), 5);
    tick();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      Exchange& x = *of[i];
      if (fds[i].revents & POLLOUT) {
        ssize_t n = ::send(x.fd, x.request.data() + x.sent, x.request.size() - x.sent, MSG_NOSIGNAL);
        if (n > 0) x.sent += static_cast<std::size_t>(n);
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(x.fd, buf, sizeof buf, 0);
        if (n > 0) {
          x.response.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          x.done = true;
          x.ms = ms_since(t0);
        }
      }
    }
  }
  for (auto& x : xs) {
    if (!x.done) x.ms = ms_since(t0);
    if (x.fd >= 0) ::close(x.fd);
    x.fd = -1;
  }
}

std::string http_request(const std::string& method, const std::string& target, const std::string& token,
                         const std::string& body) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST") r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

// One exchange, with a deadline. Returns it with status 0 when no answer came.
Exchange exchange(std::uint16_t port, std::string request, Clock::duration deadline = std::chrono::seconds(10)) {
  std::vector<Exchange> xs(1);
  xs[0].request = std::move(request);
  pump(xs, port, deadline, [] {});
  return std::move(xs[0]);
}

struct Latency {
  double p50_ms = 0;
  double max_ms = 0;
  int failed = 0;  // no 200 within the deadline
};

Latency healthz(std::uint16_t port, int tries) {
  Latency l;
  std::vector<double> ms;
  for (int i = 0; i < tries; ++i) {
    auto x = exchange(port, http_request("GET", "/healthz", "", ""), std::chrono::seconds(5));
    if (x.status() != 200) ++l.failed;
    ms.push_back(x.ms);
  }
  l.p50_ms = percentile(ms, 0.5);
  l.max_ms = *std::max_element(ms.begin(), ms.end());
  return l;
}

std::string statuses(const std::vector<Exchange>& xs) {
  std::map<int, int> count;
  for (const auto& x : xs) ++count[x.status()];
  std::string s;
  for (auto [status, n] : count) s += (s.empty() ? "" : " ") + std::to_string(n) + "x" + (status ? std::to_string(status) : "none");
  return s;
}

// {"operations":[],"junk":[0,0,...]} of exactly `size` bytes.
std::string junk_batch(std::size_t size) {
  std::string head = "{\"operations\":[],\"junk\":[0", tail = "]}";
  std::string body = head;
  body.reserve(size);
  while (body.size() + 2 + tail.size() <= size) body += ",0";
  while (body.size() + tail.size() < size) body += ' ';
  return body + tail;
}

struct Row {
  std::string figure, baseline, under_load, notes;
};

std::string fmt(const char* f, double a, double b) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

std::string fmt1(const char* f, double a) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

// Samples the server's VmRSS while `run` runs; returns the highest sample, in KiB.
template <typename Run>
long peak_rss_during(pid_t pid, Run&& run) {
  std::atomic<bool> running{true};
  std::atomic<long> peak{status_kib(pid, "VmRSS")};
  std::thread sampler([&] {
    while (running) {
      peak = std::max(peak.load(), status_kib(pid, "VmRSS"));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  run();
  running = false;
  sampler.join();
  return std::max(peak.load(), status_kib(pid, "VmRSS"));
}

int run(const Options& o) {
  // 2,000 idle connections need file descriptors, here and in the server (it inherits ours).
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);

  auto server = o.db.empty() ? std::make_unique<ServerProcess>(std::vector<std::string>{})
                             : std::make_unique<ServerProcess>(o.db, std::vector<std::string>{});
  const std::string business = server->create_business("hostile bench");
  const std::string token = server->create_token(business, "loader");
  // The tenant is loaded at full speed with default flags, so under the per-token operation
  // limit (bursts of 2,000 operations): four 500-operation batches per loader token.
  std::vector<std::string> loader_tokens;
  for (int i = 0; i < (o.tenant_rows + 1999) / 2000; ++i)
    loader_tokens.push_back(server->create_token(business, "loader" + std::to_string(i)));
  std::vector<std::string> puller_tokens;  // one device each, as 20 phones of one shop would be
  for (int i = 0; i < o.pullers; ++i) puller_tokens.push_back(server->create_token(business, "puller" + std::to_string(i)));
  server->start();
  const std::uint16_t port = server->port();
  const pid_t pid = server->pid();
  std::vector<Row> rows;

  // 1. Idle connections.
  {
    auto base = healthz(port, o.healthz_tries);
    std::vector<int> idle;
    for (int i = 0; i < o.idle_connections; ++i)
      if (int fd = connect_loopback(port); fd >= 0) idle.push_back(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server accept them
    auto loaded = healthz(port, o.healthz_tries);
    int closed_by_server = 0;
    for (int fd : idle) {
      char c;
      ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ++closed_by_server;
      ::close(fd);
    }
    rows.push_back({"1. /healthz p50 / max ms, " + std::to_string(idle.size()) + " idle connections",
                    fmt("%.2f / %.2f", base.p50_ms, base.max_ms), fmt("%.2f / %.2f", loaded.p50_ms, loaded.max_ms),
                    std::to_string(loaded.failed) + " of " + std::to_string(o.healthz_tries) +
                        " failed; " + std::to_string(closed_by_server) + " idle closed by the server after the tries"});
  }

  const std::string big = junk_batch(4u << 20);        // 4 MiB: the default body limit
  const std::string junk = junk_batch(4'000'000);       // about 2M zeros
  // 3. Unauthenticated 4 MiB bodies.
  {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const long idle_kib = status_kib(pid, "VmRSS");
    std::vector<Exchange> xs(static_cast<std::size_t>(o.big_bodies));
    for (auto& x : xs) x.request = http_request("POST", "/sync/batch", "", big);
    long peak = peak_rss_during(pid, [&] { pump(xs, port, std::chrono::seconds(60), [] {}); });
    std::size_t sent = 0;
    for (const auto& x : xs) sent += x.sent;
    rows.push_back({"3. server RSS MiB (idle / peak), " + std::to_string(o.big_bodies) + " unauthenticated 4 MiB POSTs",
                    fmt1("%.1f", mib(idle_kib)), fmt1("%.1f", mib(peak)),
                    "answers: " + statuses(xs) + "; " + std::to_string(sent >> 20) + " MiB of " +
                        std::to_string((big.size() * xs.size()) >> 20) + " accepted; after: " +
                        fmt("%.1f MiB, VmHWM %.1f MiB", mib(status_kib(pid, "VmRSS")), mib(status_kib(pid, "VmHWM")))});
  }

  // 4. Junk batches with a valid token; the baseline is a one-operation batch.
  {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const long idle_kib = status_kib(pid, "VmRSS");
    std::vector<Exchange> small(static_cast<std::size_t>(o.junk_batches));
    for (auto& x : small) {
      boost::json::object op{{"operationId", new_uuid()}, {"entity", "customers"}, {"action", "insert"},
                             {"entityId", new_uuid()}, {"payload", {{"name", "Cliente"}}},
                             {"clientTimestamp", "2026-01-01T00:00:00.000Z"}};
      x.request = http_request("POST", "/sync/batch", token,
                               boost::json::serialize(boost::json::object{{"operations", boost::json::array{op}}}));
    }
    double cpu0 = cpu_seconds(pid);
    pump(small, port, std::chrono::seconds(60), [] {});
    const double small_cpu_ms = (cpu_seconds(pid) - cpu0) * 1000.0 / static_cast<double>(small.size());

    std::vector<Exchange> xs(static_cast<std::size_t>(o.junk_batches));
    for (auto& x : xs) x.request = http_request("POST", "/sync/batch", token, junk);
    cpu0 = cpu_seconds(pid);
    long peak = peak_rss_during(pid, [&] { pump(xs, port, std::chrono::seconds(60), [] {}); });
    const double junk_cpu_ms = (cpu_seconds(pid) - cpu0) * 1000.0 / static_cast<double>(xs.size());
    rows.push_back({"4. server RSS MiB (idle / peak), " + std::to_string(o.junk_batches) + " valid-token 4 MB junk batches",
                    fmt1("%.1f", mib(idle_kib)), fmt1("%.1f", mib(peak)),
                    "answers: " + statuses(xs) + "; after: " + fmt1("%.1f MiB", mib(status_kib(pid, "VmRSS")))});
    rows.push_back({"4. server CPU ms per request (1-op batch / junk batch)", fmt1("%.2f", small_cpu_ms),
                    fmt1("%.2f", junk_cpu_ms), "1-op answers: " + statuses(small)});
  }

  // 2. Large pulls of a 60,000-row tenant.
  {
    const std::string ts = "2026-01-01T00:00:00.000Z";
    int loaded = 0, refused = 0;
    while (loaded < o.tenant_rows) {
      boost::json::array ops;
      for (int i = 0; i < 500 && loaded + static_cast<int>(ops.size()) < o.tenant_rows; ++i)
        ops.push_back(boost::json::object{{"operationId", new_uuid()}, {"entity", "distribuciones"}, {"action", "insert"},
                                          {"entityId", new_uuid()},
                                          {"payload", {{"product_name", "Producto " + std::to_string(loaded + i)}, {"quantity", "2.5"}, {"route", "norte"}}},
                                          {"clientTimestamp", ts}});
      const int n = static_cast<int>(ops.size());
      const std::string& loader = loader_tokens.at(static_cast<std::size_t>(loaded / 2000));
      auto x = exchange(port, http_request("POST", "/sync/batch", loader,
                                           boost::json::serialize(boost::json::object{{"operations", std::move(ops)}})),
                        std::chrono::seconds(60));
      if (x.status() == 200) {
        loaded += n;
      } else if (++refused > 20) {
        break;  // the server will not take the data: report what there is
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // 429 or 503: come back later
      }
    }
    auto base = healthz(port, o.healthz_tries);
    std::atomic<bool> measuring{true};
    std::atomic<int> pulls{0}, pulls_ok{0};
    std::atomic<long> pulled_bytes{0};
    std::vector<std::thread> pullers;
    for (int p = 0; p < o.pullers; ++p)
      pullers.emplace_back([&, p] {
        for (int i = 0; i < o.pulls_per_client && measuring; ++i) {
          auto x = exchange(port, http_request("GET", "/sync/changes?limit=10000", puller_tokens[static_cast<std::size_t>(p)], ""),
                            std::chrono::seconds(60));
          ++pulls;
          if (x.status() == 200) ++pulls_ok;
          pulled_bytes += static_cast<long>(x.response.size());
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the pulls are under way
    auto during = healthz(port, o.healthz_tries);
    measuring = false;
    for (auto& t : pullers) t.join();
    rows.push_back({"2. /healthz p50 / max ms, " + std::to_string(o.pullers) + " pulls of limit=10000 in a loop",
                    fmt("%.2f / %.2f", base.p50_ms, base.max_ms), fmt("%.2f / %.2f", during.p50_ms, during.max_ms),
                    std::to_string(during.failed) + " of " + std::to_string(o.healthz_tries) + " failed; tenant rows " +
                        std::to_string(loaded) + "; pulls " + std::to_string(pulls_ok.load()) + " ok of " +
                        std::to_string(pulls.load()) + ", " + std::to_string(pulled_bytes.load() >> 20) + " MiB"});
  }
  const long peak_kib = status_kib(pid, "VmHWM");
  const bool alive = ::kill(pid, 0) == 0 && exchange(port, http_request("GET", "/healthz", "", "")).status() == 200;
  server->stop();

  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.figure < b.figure; });
  std::printf("%-72s %-16s %-16s %s\n", "figure", "baseline", "under load", "notes");
  for (const auto& r : rows)
    std::printf("%-72s %-16s %-16s %s\n", r.figure.c_str(), r.baseline.c_str(), r.under_load.c_str(), r.notes.c_str());
  std::printf("server peak RSS over the run (VmHWM): %.1f MiB; server %s at the end\n", mib(peak_kib),
              alive ? "answering" : "NOT answering");
  return alive ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--db") o.db = value;
    else if (flag == "--idle-connections") o.idle_connections = std::stoi(value);
    else if (flag == "--healthz-tries") o.healthz_tries = std::max(1, std::stoi(value));
    else if (flag == "--tenant-rows") o.tenant_rows = std::stoi(value);
    else if (flag == "--pullers") o.pullers = std::stoi(value);
    else if (flag == "--pulls-per-client") o.pulls_per_client = std::stoi(value);
    else if (flag == "--big-bodies") o.big_bodies = std::stoi(value);
    else if (flag == "--junk-batches") o.junk_batches = std::stoi(value);
    else {
      std::cerr << "usage: avsync-hostile-bench [--db URL] [--idle-connections N] [--healthz-tries N] [--tenant-rows N]"
                   " [--pullers N] [--pulls-per-client N] [--big-bodies N] [--junk-batches N]\n";
      return 2;
    }
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "avsync-hostile-bench: " << e.what() << "\n";
    return 1;
  }
}

#include "store/postgres/pg_change_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <thread>
#include <vector>

#include "store/postgres/pg.hpp"

namespace avsync::store::pg {
namespace {

// The wait before connecting again: doubled after each failed attempt, up to the cap.
constexpr std::chrono::milliseconds kFirstRetryDelay{50};
constexpr std::chrono::milliseconds kMaxRetryDelay{1000};

// libpq's messages span lines, indented with tabs: one line for the log.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool space = c == '\n' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

class PgChangeWatch final : public ChangeWatch {
 public:
  PgChangeWatch(std::string url, ChangeSink& sink) : url_(std::move(url)), sink_(sink) {
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {
      ::close(wake_);
      throw;
    }
  }

  ~PgChangeWatch() override {
    stopping_ = true;
    // The eventfd stays readable from now on: every wait of the thread returns at once.
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_, &one, sizeof one);
    thread_.join();
    ::close(wake_);
  }

 private:
  void run() noexcept {
    auto delay = kFirstRetryDelay;
    bool lost = false;  // stderr was told the watch has no connection
    while (!stopping_) {
      try {
        Connection conn(url_, wake_);
        conn.exec("LISTEN " + std::string(kChangesChannel));
        if (lost) std::fprintf(stderr, "avsync: change watch: listening on PostgreSQL again\n");
        lost = false;
        delay = kFirstRetryDelay;
        // Commits made while nobody listened went unreported.
        sink_.maybe_missed();
        listen(conn);
        return;
      } catch (const std::exception& e) {
        if (!lost && !stopping_) report_lost(one_line(e.what()));
        lost = true;
      } catch (...) {
        if (!lost && !stopping_) report_lost("unknown error");
        lost = true;
      }
      wait(delay);
      delay = std::min(delay * 2, kMaxRetryDelay);
    }
  }

  static void report_lost(const std::string& why) {
    std::fprintf(stderr, "avsync: change watch: no PostgreSQL connection, retrying: %s\n",
                 why.c_str());
  }

  // Reports notifications until the watch stops (returns) or the connection breaks (throws).
  void listen(Connection& conn) {
    for (;;) {
      deliver(conn.take_notifications());  // LISTEN's own reply may have brought some
      pollfd fds[2] = {{conn.socket(), POLLIN, 0}, {wake_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll");
      }
      if (stopping_) return;
      if (fds[0].revents != 0) conn.consume_input();  // throws at the connection's end
    }
  }

  void deliver(const std::vector<Connection::Notification>& notifications) {
    for (const auto& n : notifications) {
      if (n.channel != kChangesChannel) continue;
      if (auto notice = parse_change_notice(n.payload))
        sink_.changed(notice->business_id, notice->version);
    }
  }

  // Sleeps for `delay` unless the watch stops first.
  void wait(std::chrono::milliseconds delay) {
    pollfd fd{wake_, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(delay.count()));
  }

  std::string url_;
  ChangeSink& sink_;
  int wake_ = -1;  // eventfd: written once, by the destructor
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

std::optional<ChangeNotice> parse_change_notice(std::string_view payload) {
  auto space = payload.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  std::uint64_t version = 0;
  const char* digits_end = payload.data() + space;
  auto [end, error] = std::from_chars(payload.data(), digits_end, version);
  if (error != std::errc() || end != digits_end) return std::nullopt;
  std::string_view id = payload.substr(space + 1);
  if (id.empty() || id.size() > 128) return std::nullopt;
  if (!std::all_of(id.begin(), id.end(), [](char c) { return c >= ' ' && c <= '~'; }))
    return std::nullopt;
  return ChangeNotice{id, version};
}

std::unique_ptr<ChangeWatch> watch_postgres_changes(std::string url, ChangeSink& sink) {
  return std::make_unique<PgChangeWatch>(std::move(url), sink);
}

}  // namespace avsync::store::pg

// docs/protocol.md §4.1: live sync. GET /sync/changes?wait= holds an empty page until the
// tenant commits (on this server or another one on the same database) or the wait ends;
// POST /sync/batch answers the tenant's cursor once it committed.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>


#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

using namespace std::chrono_literals;
using LiveClock = std::chrono::steady_clock;

#ifdef AVSYNC_SANITIZED
constexpr auto kLiveSlack = 10;  // the sanitizers slow the server five to fifteen times
#else
constexpr auto kLiveSlack = 1;
#endif

class LiveTest : public SyncServerTest {
 protected:
  // The cursor that is caught up with everything tenant A has now.
  std::string caught_up_cursor(const std::string& token) {
    std::string cursor;
    pull_all(token, "", 1000, &cursor);
    return cursor;
  }
  static std::string query(const std::string& cursor, int wait) {
    return "since=" + cursor + "&wait=" + std::to_string(wait);
  }
  // What GET /healthz says about waiting long-polls.
  static std::int64_t waiters(std::uint16_t port) {
    auto res = HttpClient(port).request("GET", "/healthz");
    if (res.status != 200) return -1;
    return parse_json_body(res.body).at("waiters").as_int64();
  }
  // Polls `waiters` until it equals `n` or a few seconds pass; returns the last value.
  static std::int64_t await_waiters(std::uint16_t port, std::int64_t n) {
    std::int64_t seen = -1;
    for (auto until = LiveClock::now() + 5s * kLiveSlack; LiveClock::now() < until; std::this_thread::sleep_for(10ms))
      if ((seen = waiters(port)) == n) break;
    return seen;
  }
  struct Poll {
    HttpResult result;
    std::chrono::milliseconds took{};
  };
  // A long-poll on its own connection and thread.
  static std::future<Poll> long_poll(std::uint16_t port, std::string token, std::string q) {
    return std::async(std::launch::async, [port, token = std::move(token), q = std::move(q)] {
      auto start = LiveClock::now();
      Poll p{HttpClient(port).get_changes(token, q), {}};
      p.took = std::chrono::duration_cast<std::chrono::milliseconds>(LiveClock::now() - start);
      return p;
    });
  }
  static std::vector<std::string> ids_of(const HttpResult& r) {
    std::vector<std::string> ids;
    const auto body = parse_json_body(r.body);
    for (const auto& c : body.at("changes").as_array())
      ids.emplace_back(c.at("entityId").as_string());
    return ids;
  }
};

TEST_F(LiveTest, AWaitAnswersAtOnceWhenChangesExist) {
  std::string cursor = caught_up_cursor(token_a);
  std::string id = insert_customer("Already there");
  auto poll = long_poll(server->port(), token_a, query(cursor, 30)).get();
  ASSERT_EQ(poll.result.status, 200) << poll.result.body;
  EXPECT_EQ(ids_of(poll.result), std::vector<std::string>{id});
  EXPECT_LT(poll.took, 10s) << "a page with changes does not wait";
}

TEST_F(LiveTest, NothingChangedIsAnEmptyPageWithTheSameCursorAfterTheWait) {
  insert_customer();
  std::string cursor = caught_up_cursor(token_a);
  auto poll = long_poll(server->port(), token_a, query(cursor, 1)).get();
  ASSERT_EQ(poll.result.status, 200) << poll.result.body;
  auto body = parse_json_body(poll.result.body);
  EXPECT_TRUE(body.at("changes").as_array().empty());
  EXPECT_FALSE(body.at("hasMore").as_bool());
  EXPECT_EQ(body.at("cursor").as_string(), cursor);
  EXPECT_GE(poll.took, 950ms);
  EXPECT_EQ(await_waiters(server->port(), 0), 0);
}

// More waiters than one tenant may run and queue at once (2 and 32 by default): woken
// together, each still reads its page in turn rather than being refused with a 429. (They
// arrive in waves of 10: a first read is an ordinary request, held to the tenant's queue.)
TEST_F(LiveTest, ACommitWakesTheTenantsWaitersWithItsChange) {
  std::string cursor = caught_up_cursor(token_a);
  std::vector<std::future<Poll>> polls;
  for (int wave = 1; wave <= 4; ++wave) {
    for (int i = 0; i < 10; ++i)
      polls.push_back(long_poll(server->port(), token_a, query(cursor, 60)));
    ASSERT_EQ(await_waiters(server->port(), 10 * wave), 10 * wave);
  }
  std::string id = insert_customer("Live");
  for (auto& f : polls) {
    auto poll = f.get();
    ASSERT_EQ(poll.result.status, 200) << poll.result.body;
    EXPECT_EQ(ids_of(poll.result), std::vector<std::string>{id});
    EXPECT_LT(poll.took, 20s) << "woken by the commit, not by the end of the wait";
  }
}

TEST_F(LiveTest, AnotherTenantsCommitNeverAnswersAWaiter) {
  std::string cursor = caught_up_cursor(token_a);
  auto pending = long_poll(server->port(), token_a, query(cursor, 2));
  ASSERT_EQ(await_waiters(server->port(), 1), 1);
  for (int i = 0; i < 5; ++i) insert_customer("B's", token_b);
  auto poll = pending.get();
  ASSERT_EQ(poll.result.status, 200);
  EXPECT_TRUE(ids_of(poll.result).empty()) << poll.result.body;
  EXPECT_GE(poll.took, 1900ms) << "tenant B's commits answered tenant A's long-poll";
}

TEST_F(LiveTest, ABatchAnswersTheCursorItsPullCatchesUpTo) {
  std::string before = caught_up_cursor(token_a);
  std::string customer = new_uuid();
  auto res = http->post_batch(
      token_a, batch_body({operation(new_uuid(), "customers", "insert", customer, R"({"name":"A"})", ts(1)),
                           operation(new_uuid(), "customers", "update", customer, R"({"phone":"1"})", ts(2))}));
  ASSERT_EQ(res.status, 200) << res.body;
  const std::string checkpoint(parse_json_body(res.body).at("cursor").as_string());
  EXPECT_NE(checkpoint, before);
  std::string caught_up;
  pull_all(token_a, before, 1000, &caught_up);
  EXPECT_EQ(checkpoint, caught_up);
  // A retry changes nothing and answers the same checkpoint; so does a batch that fails.
  auto again = http->post_batch(
      token_a, batch_body({operation("x", "customers", "update", new_uuid(), R"({"phone":"1"})", ts(3))}));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(parse_json_body(again.body).at("cursor").as_string(), checkpoint);
  // Tenant B's checkpoint is tenant B's own.
  auto other = HttpClient(server->port()).post_batch(
      token_b, batch_body({operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"B"})", ts(1))}));
  ASSERT_EQ(other.status, 200);
  std::string b_cursor;
  pull_all(token_b, "", 1000, &b_cursor);
  EXPECT_EQ(parse_json_body(other.body).at("cursor").as_string(), b_cursor);
}

TEST_F(LiveTest, AWaitPastSixtySecondsOrMalformedIsABadRequest) {
  for (const char* wait : {"61", "-1", "1.5", "abc", "600", "1e1"}) {
    auto res = http->get_changes(token_a, std::string("wait=") + wait);
    EXPECT_EQ(res.status, 400) << wait;
    EXPECT_EQ(parse_json_body(res.body).at("error").at("code"), "BAD_REQUEST") << wait;
  }
  EXPECT_EQ(http->get_changes(token_a, "wait=0").status, 200);
  EXPECT_EQ(waiters(server->port()), 0);
}

// Opens a long-poll on a raw socket (so the test can hang up on it) and returns the fd.
int open_raw_long_poll(std::uint16_t port, const std::string& token, const std::string& q) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  std::string req = "GET /sync/changes?" + q + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return -1;
  return fd;
}

TEST_F(LiveTest, AClientThatHangsUpWhileWaitingFreesItsWaiter) {
  std::string cursor = caught_up_cursor(token_a);
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(open_raw_long_poll(server->port(), token_a, query(cursor, 60)));
  for (int fd : fds) ASSERT_GE(fd, 0);
  ASSERT_EQ(await_waiters(server->port(), 5), 5);
  for (int i = 0; i < 3; ++i) ::close(fds[i]);
  EXPECT_EQ(await_waiters(server->port(), 2), 2) << "hung-up waiters must be freed before their wait ends";
  // One that resets its connection (SO_LINGER 0) is freed too.
  linger hard{1, 0};
  ::setsockopt(fds[3], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fds[3]);
  EXPECT_EQ(await_waiters(server->port(), 1), 1);
  ::close(fds[4]);
  EXPECT_EQ(await_waiters(server->port(), 0), 0);
  // The server still serves.
  EXPECT_EQ(http->get_changes(token_a, query(cursor, 0)).status, 200);
}

TEST_F(LiveTest, ATokenRevokedWhileWaitingIsRefusedOnItsNextRequest) {
  std::string token = server->create_token(business_a, "seller-live");
  std::string cursor = caught_up_cursor(token);
  auto pending = long_poll(server->port(), token, query(cursor, 1));
  ASSERT_EQ(await_waiters(server->port(), 1), 1);
  server->revoke_token(token);
  EXPECT_EQ(pending.get().result.status, 200);
  auto next = HttpClient(server->port()).get_changes(token, query(cursor, 30));
  EXPECT_EQ(next.status, 401) << next.body;
}

TEST_F(LiveTest, ShutdownAnswersEveryWaiterAtOnceAndExits) {
  std::string cursor = caught_up_cursor(token_a);
  std::vector<std::future<Poll>> polls;
  for (int i = 0; i < 20; ++i) polls.push_back(long_poll(server->port(), token_a, query(cursor, 60)));
  ASSERT_EQ(await_waiters(server->port(), 20), 20);
  auto start = LiveClock::now();
  server->stop();
  auto took = LiveClock::now() - start;
  EXPECT_LT(took, 2s * kLiveSlack) << "the server took too long to stop with long-polls waiting";
  for (auto& f : polls) {
    auto poll = f.get();
    ASSERT_EQ(poll.result.status, 200) << poll.result.body;
    auto body = parse_json_body(poll.result.body);
    EXPECT_TRUE(body.at("changes").as_array().empty());
    EXPECT_EQ(body.at("cursor").as_string(), cursor);
  }
  EXPECT_NE(server->log().find("stopped"), std::string::npos) << server->log();
}

// Two servers on one database: a commit on one wakes the other's waiters (PostgreSQL:
// LISTEN/NOTIFY; SQLite: the file's data_version), and only the committing tenant's.
TEST_F(LiveTest, ACommitOnAnotherServerWakesThisServersWaiters) {
  ServerProcess second(server->db_url(), serve_args());
  second.start();
  std::string cursor = caught_up_cursor(token_a);
  auto other_tenant = long_poll(server->port(), token_b, query(caught_up_cursor(token_b), 3));
  auto pending = long_poll(server->port(), token_a, query(cursor, 30));
  ASSERT_EQ(await_waiters(server->port(), 2), 2);
  std::string id = new_uuid();
  auto res = HttpClient(second.port()).post_batch(
      token_a, batch_body({operation(new_uuid(), "customers", "insert", id, R"({"name":"Elsewhere"})", ts(1))}));
  ASSERT_EQ(res.status, 200) << res.body;
  auto poll = pending.get();
  ASSERT_EQ(poll.result.status, 200) << poll.result.body;
  EXPECT_EQ(ids_of(poll.result), std::vector<std::string>{id});
  EXPECT_LT(poll.took, 20s);
  auto b = other_tenant.get();
  EXPECT_TRUE(ids_of(b.result).empty()) << b.result.body;
  EXPECT_GE(b.took, 2900ms);
  second.stop();
}

// Writers racing long-polls (TSan watches the server): every follower ends with exactly
// what the feed holds, having been woken rather than polling.
TEST_F(LiveTest, FollowersOnLongPollsSeeEveryCommitOfRacingWriters) {
  std::atomic<bool> done{false};
  std::vector<std::thread> followers;
  std::vector<std::set<std::string>> seen(3);
  for (int f = 0; f < 3; ++f)
    followers.emplace_back([&, f] {
      HttpClient client(server->port());
      std::string cursor;
      for (int rounds = 0; rounds < 500; ++rounds) {
        auto res = client.get_changes(token_a, "limit=7&" + query(cursor, done ? 0 : 5));
        ASSERT_EQ(res.status, 200) << res.body;
        auto body = parse_json_body(res.body);
        for (const auto& c : body.at("changes").as_array()) seen[f].insert(std::string(c.at("entityId").as_string()));
        cursor = std::string(body.at("cursor").as_string());
        if (done && body.at("changes").as_array().empty() && !body.at("hasMore").as_bool()) return;
      }
      ADD_FAILURE() << "follower " << f << " never caught up";
    });
  std::vector<std::thread> writers;
  std::set<std::string> written;
  std::mutex written_mutex;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&] {
      HttpClient client(server->port());
      for (int b = 0; b < 15; ++b) {
        std::string id = new_uuid();
        {
          std::lock_guard lock(written_mutex);
          written.insert(id);
        }
        auto res = client.post_batch(
            token_a, batch_body({operation(new_uuid(), "customers", "insert", id, R"({"name":"R"})", ts(1))}));
        EXPECT_EQ(res.status, 200) << res.body;
      }
    });
  for (auto& w : writers) w.join();
  done = true;
  // Wake the followers still waiting, so each makes its final wait=0 round.
  insert_customer("last", token_a);
  for (auto& f : followers) f.join();
  for (auto& s : seen) {
    for (const auto& id : written) EXPECT_TRUE(s.count(id)) << id;
  }
}

}  // namespace
}  // namespace avsync::testing

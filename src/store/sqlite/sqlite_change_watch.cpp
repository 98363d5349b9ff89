#include "store/sqlite/sqlite_change_watch.hpp"

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "sqlite/database.hpp"

namespace avsync::store {
namespace {

class SqliteChangeWatch final : public ChangeWatch {
 public:
  SqliteChangeWatch(std::string path, ChangeSink& sink) : path_(std::move(path)), sink_(sink) {
    thread_ = std::thread([this] { run(); });
  }

  ~SqliteChangeWatch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() noexcept {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kSqliteWatchInterval, [this] { return stopping_; })) {
      lock.unlock();
      check();
      lock.lock();
    }
  }

  void check() noexcept {
    try {
      check_once();
      if (failing_) std::fprintf(stderr, "avsync: change watch: reading the database again\n");
      failing_ = false;
    } catch (const sqlite::Failure& e) {
      if (!e.is_busy()) fail(e.what());  // busy: another connection recovers the WAL; wait
    } catch (const std::exception& e) {
      fail(e.what());
    } catch (...) {
      fail("unknown error");
    }
  }

  void check_once() {
    if (!db_) {
      db_ = std::make_unique<sqlite::Database>(path_, sqlite::Database::Access::read_only);
      // A busy check is simply tried again at the next tick, and must not delay stopping.
      db_->set_busy_timeout(std::chrono::milliseconds(0));
      seen_.reset();
    }
    std::int64_t data_version;
    {
      auto q = db_->query("PRAGMA data_version");
      q.step();
      data_version = q.int64(0);
    }  // the statement is reset here: no read transaction outlives the check
    if (seen_ == data_version) return;
    std::vector<std::pair<std::string, std::uint64_t>> versions;
    for (std::string& id : sink_.watched_tenants()) {
      auto q = db_->query("SELECT version FROM businesses WHERE id = ?1");
      q.bind(1, id);
      if (q.step()) versions.emplace_back(std::move(id), static_cast<std::uint64_t>(q.int64(0)));
    }
    // Only once every read succeeded: a failed check is made again at the next tick.
    seen_ = data_version;
    for (const auto& [id, version] : versions) sink_.changed(id, version);
  }

  // The connection may be what failed (the file was replaced or removed): a new one next.
  void fail(const char* why) {
    db_.reset();
    if (!failing_)
      std::fprintf(stderr, "avsync: change watch: cannot read the database, retrying: %s\n", why);
    failing_ = true;
  }

  const std::string path_;
  ChangeSink& sink_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  // Used by the watch's thread only.
  std::unique_ptr<sqlite::Database> db_;
  std::optional<std::int64_t> seen_;  // data_version at the last complete check
  bool failing_ = false;              // stderr was told the checks fail
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ChangeWatch> watch_sqlite_changes(std::string path, ChangeSink& sink) {
  return std::make_unique<SqliteChangeWatch>(std::move(path), sink);
}

}  // namespace avsync::store

#include "server/log_retention.hpp"

#include <exception>
#include <stdexcept>

#include "core/timestamp.hpp"
#include "store/store.hpp"

namespace avsync::server {

LogRetention::LogRetention(store::Store& store, const Clock& clock, std::chrono::days retention,
                           std::chrono::milliseconds interval, std::ostream& log)
    : store_(store), clock_(clock), retention_(retention), interval_(interval), log_(log) {
  if (retention < std::chrono::days(0)) throw std::invalid_argument("log retention must not be negative");
  if (interval <= std::chrono::milliseconds(0)) throw std::invalid_argument("prune interval must be positive");
  if (retention == std::chrono::days(0)) return;  // keep forever
  thread_ = std::thread([this] { run(); });
}

LogRetention::~LogRetention() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t LogRetention::prune_now() {
  if (retention_ == std::chrono::days(0)) return 0;
  const UnixMillis cutoff = clock_.now() - std::chrono::duration_cast<std::chrono::milliseconds>(retention_).count();
  const std::string before = format_timestamp(cutoff);
  std::size_t pruned = store_.prune_operations(before);
  std::lock_guard lock(mutex_);  // one writer to log_ at a time
  log_ << "avsync-server: pruned " << pruned << " operation log rows processed before " << before << "\n";
  return pruned;
}

void LogRetention::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      prune_now();
    } catch (const std::exception& e) {
      std::lock_guard log_lock(mutex_);
      log_ << "avsync: pruning the operation log failed (retried in " << interval_.count() << " ms): " << e.what()
           << "\n";
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace avsync::server

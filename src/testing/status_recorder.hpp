#pragma once
// For tests of the sync engine: an observer that records every status it is given and lets
// the test wait for one (the engine calls observers on its own thread).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "avsync/client.hpp"

namespace avsync::testing {

class StatusRecorder {
 public:
  void operator()(const SyncStatus& s) {
    std::lock_guard lock(mutex_);
    seen_.push_back(s);
    changed_.notify_all();
  }
  // Waits (up to 30 s) for a status matching `pred` among those recorded from index
  // `from` on (size() taken before an action: only what came after it); returns it.
  template <typename Pred>
  std::optional<SyncStatus> wait_for(Pred pred, std::size_t from = 0) {
    std::unique_lock lock(mutex_);
    std::optional<SyncStatus> found;
    changed_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (std::size_t i = from; i < seen_.size(); ++i) {
        if (pred(seen_[i])) {
          found = seen_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::vector<SyncStatus> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<SyncStatus> seen_;
};

}  // namespace avsync::testing

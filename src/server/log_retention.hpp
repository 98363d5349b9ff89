#pragma once
// Keeps the operation log (sync_operations) to a retention window: rows processed more
// than `retention` ago are deleted through Store::prune_operations, once at start and then
// every `interval`, on a thread of its own.
//
// Idempotency (docs/protocol.md §3.2) holds only inside the window: an operation whose log
// row was pruned, sent again, is evaluated as new. A client keeps an operation queued only
// until it is acknowledged, so the window only has to exceed the longest a device can hold
// an operation it sent without reading the answer.
//
// Threading: the constructor starts the thread and returns without waiting for the first
// prune; the destructor wakes it and joins it, waiting at most for the chunk being deleted.
// A prune that fails (the store unavailable) is logged and tried again at the next period.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/clock.hpp"

namespace avsync::store {
class Store;
}

namespace avsync::server {

class LogRetention {
 public:
  // retention == 0 days keeps the log forever: no thread is started and prune_now does
  // nothing. The cutoff is read from `clock`; the period is real (steady) time. `store`,
  // `clock` and `log` must outlive this object. Throws std::invalid_argument for a negative
  // retention or a non-positive interval.
  LogRetention(store::Store& store, const Clock& clock, std::chrono::days retention,
               std::chrono::milliseconds interval = std::chrono::hours(1), std::ostream& log = std::cerr);
  ~LogRetention();
  LogRetention(const LogRetention&) = delete;
  LogRetention& operator=(const LogRetention&) = delete;

  // Deletes the log rows processed before clock.now() - retention, on the calling thread;
  // returns how many. Throws what Store::prune_operations throws.
  std::size_t prune_now();

 private:
  void run();

  store::Store& store_;
  const Clock& clock_;
  const std::chrono::days retention_;
  const std::chrono::milliseconds interval_;
  std::ostream& log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once every member above is ready
};

}  // namespace avsync::server

#pragma once
// The series behind GET /admin/overview (docs/protocol.md §7): every interval (10 s), the
// rates of the interval just ended, computed from the metrics' counters, kept in memory for
// the last hour (360 samples) and lost at restart.
//
// Threading: sample() and to_json() may run on any threads at once (a mutex, taken once per
// interval and once per request of the route). OverviewSampler runs sample() on a thread of
// its own.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "server/metrics.hpp"

namespace avsync::server {

struct OverviewSample {
  UnixMillis at;  // when the interval ended
  double requests_per_second = 0;
  double operations_per_second = 0;
  double error_rate =
      0;  // errors / requests of the interval (MetricTotals::errors); 0 without requests
  std::optional<double> p99_ms;  // of the interval's requests but long-polls; nullopt without any
};

class Overview {
 public:
  static constexpr std::chrono::seconds kInterval{10};
  static constexpr std::size_t kCapacity = 360;

  // Starts from the counters' values now, read at `now`. `metrics` must outlive this.
  Overview(const Metrics& metrics, UnixMillis now, std::chrono::seconds interval = kInterval,
           std::size_t capacity = kCapacity);

  // Appends the sample of the interval since the previous call (or construction), ending at
  // `now`, dropping the oldest past the capacity. Rates are per second of the time that
  // really passed; a call at or before the previous one's time changes nothing.
  void sample(UnixMillis now);

  std::vector<OverviewSample> samples() const;  // oldest first
  std::chrono::seconds interval() const { return interval_; }
  // {"intervalSeconds": n, "samples": [{"at", "requestsPerSecond", "operationsPerSecond",
  // "errorRate", "p99Ms"}, ...]}
  std::string to_json() const;

 private:
  const Metrics& metrics_;
  const std::chrono::seconds interval_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;  // guards the members below
  MetricTotals previous_;
  UnixMillis previous_at_;
  std::deque<OverviewSample> samples_;
};

// Calls overview.sample(clock.now()) every overview.interval() of steady time on a thread
// of its own, from construction until destruction (which wakes and joins it).
class OverviewSampler {
 public:
  OverviewSampler(Overview& overview, const Clock& clock);
  ~OverviewSampler();
  OverviewSampler(const OverviewSampler&) = delete;
  OverviewSampler& operator=(const OverviewSampler&) = delete;

 private:
  Overview& overview_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once every member above is ready
};

}  // namespace avsync::server

#pragma once
// The server's metrics (docs/protocol.md §6.2): counters, gauges and histograms over a
// fixed, bounded set of label values, rendered in the Prometheus text exposition format
// 0.0.4 for GET /metrics. No label carries a tenant, a token or anything a client chose:
// routes are the router's table, entities the registry's, outcomes the protocol's codes.
//
// Threading: every count_* and observe call is lock-free (relaxed atomics) and may run on
// any thread at once; render() and totals() read the counters while they move, so a scrape
// is not a snapshot of one instant, but each histogram's _count is the sum of its buckets
// as rendered, so +Inf always equals _count.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/schema.hpp"
#include "core/validation.hpp"
#include "store/store.hpp"

namespace avsync::server {

// A histogram: one atomic counter per bucket (upper bounds given once, ascending, plus the
// implicit +Inf) and the sum of what was observed.
class Histogram {
 public:
  // `bounds` must be ascending and outlive the histogram (a static array).
  explicit Histogram(std::span<const double> bounds);

  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> buckets;  // per bucket, not cumulative; the last is +Inf
    double sum = 0;
    std::uint64_t count() const;
  };
  Snapshot snapshot() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// The value at quantile `q` (0..1) of the observations counted in `buckets` (per bucket,
// the last one +Inf) over `bounds`, interpolated linearly inside its bucket as Prometheus'
// histogram_quantile does; the highest finite bound when it falls in +Inf. nullopt when
// nothing was counted.
std::optional<double> bucket_quantile(std::span<const double> bounds,
                                      std::span<const std::uint64_t> buckets, double q);

// Why a request's credential was refused (avsync_auth_failures_total{reason}).
enum class AuthFailure { missing, unknown, revoked, expired, invalid_jwt, admin_credential };
// Which limit answered 429 (avsync_rate_limited_total{reason}).
enum class RateLimited { token_requests, token_operations, failed_authentications, tenant_queue };
// What a request's store failure was (avsync_store_errors_total{kind}).
enum class StoreError { unavailable, internal };

// What GET /metrics reports that is read when it is asked for rather than counted.
struct ScrapeGauges {
  std::size_t live_waiters = 0;  // long-polls waiting for a change (ChangeHub::waiters)
};

// The counters the overview series (overview.hpp) is computed from.
struct MetricTotals {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // answers of 4xx but 401, and of 5xx
  std::uint64_t operations = 0;
  std::vector<std::uint64_t> latency_buckets;  // every route but long-polls, per bucket
};

// The route label of a request the router did not route (404, a malformed head, the HTTP
// layer's refusals before routing), and of a long-poll (GET /sync/changes with wait > 0),
// kept apart from GET /sync/changes so its waiting does not count as latency in the
// overview.
inline constexpr std::string_view kUnknownRoute = "unknown";
inline constexpr std::string_view kLongPollRoute = "GET /sync/changes?wait";

class Metrics final : public store::StoreObserver {
 public:
  // The request latency's bucket bounds, in seconds.
  static std::span<const double> latency_bounds();

  // `routes`: every value the route label takes (the router's route_labels()); a request
  // of a route not in it counts under "unknown", which is always added.
  // `start_time_seconds`: the process's start, for process_start_time_seconds.
  Metrics(std::vector<std::string> routes, double start_time_seconds);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The route's position in the route label's values; "unknown"'s when it has none.
  std::size_t route_index(std::string_view route) const;

  // One HTTP answer: its route, status and time from its head's arrival to its answer.
  void count_request(std::size_t route, int status,
                     std::chrono::steady_clock::duration latency) noexcept;
  void count_batch() noexcept;
  // One operation of a batch: its entity and action (nullptr / nullopt when the client sent
  // none the protocol knows) and its error (nullopt: applied).
  void count_operation(const EntitySpec* entity, std::optional<Action> action,
                       std::optional<ErrorCode> error) noexcept;
  void count_pull(std::size_t rows) noexcept;
  void count_rate_limited(RateLimited reason) noexcept;
  void count_auth_failure(AuthFailure reason) noexcept;
  void count_store_error(StoreError kind) noexcept;

  // store::StoreObserver
  void pool_waited(std::chrono::steady_clock::duration wait) noexcept override;
  void group_committed(std::size_t batches) noexcept override;

  // Every metric in the text format 0.0.4, the process's from /proc/self read now.
  // Labelled counters show the label values counted at least once; histograms the routes
  // with at least one request.
  std::string render(const ScrapeGauges& gauges) const;

  MetricTotals totals() const;

 private:
  struct Counter {
    std::atomic<std::uint64_t> value{0};
  };
  std::size_t operation_slot(const EntitySpec* entity, std::optional<Action> action,
                             std::optional<ErrorCode> error) const;

  std::vector<std::string> routes_;
  std::unordered_map<std::string_view, std::size_t> route_index_;
  std::size_t unknown_route_ = 0;
  std::size_t long_poll_route_ = SIZE_MAX;
  double start_time_seconds_;

  std::unique_ptr<Counter[]> requests_;              // route × status slot
  std::vector<std::unique_ptr<Histogram>> latency_;  // per route
  Counter batches_;
  std::unique_ptr<Counter[]> operations_;  // entity × action × outcome
  Counter pull_pages_;
  Counter pulled_rows_;
  Counter rate_limited_[4];
  Counter auth_failures_[6];
  Counter store_errors_[2];
  Counter pool_waits_;
  Histogram pool_wait_seconds_;
  Histogram group_commit_batches_;
};

}  // namespace avsync::server

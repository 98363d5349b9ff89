#include "server/overview.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <exception>

#include "core/json.hpp"
#include "core/timestamp.hpp"

namespace avsync::server {
namespace {

JsonValue number(double value) {
  JsonValue v;
  v.kind = JsonValue::Kind::number;
  if (!std::isfinite(value)) value = 0;
  // Three decimals are finer than any dashboard shows, and keep the body short.
  const double rounded = std::round(value * 1000) / 1000;
  std::array<char, 32> buffer;
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), rounded);
  v.text.assign(buffer.data(), end);
  return v;
}

JsonValue text(std::string s) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = std::move(s);
  return v;
}

}  // namespace

Overview::Overview(const Metrics& metrics, UnixMillis now, std::chrono::seconds interval,
                   std::size_t capacity)
    : metrics_(metrics),
      interval_(interval),
      capacity_(capacity),
      previous_(metrics.totals()),
      previous_at_(now) {}

void Overview::sample(UnixMillis now) {
  MetricTotals current = metrics_.totals();
  std::lock_guard lock(mutex_);
  if (now <= previous_at_) return;
  const double seconds = static_cast<double>(now - previous_at_) / 1000.0;
  const std::uint64_t requests = current.requests - previous_.requests;
  const std::uint64_t errors = current.errors - previous_.errors;
  std::vector<std::uint64_t> latency(current.latency_buckets.size());
  for (std::size_t i = 0; i < latency.size(); ++i)
    latency[i] = current.latency_buckets[i] - previous_.latency_buckets[i];
  OverviewSample s;
  s.at = now;
  s.requests_per_second = static_cast<double>(requests) / seconds;
  s.operations_per_second =
      static_cast<double>(current.operations - previous_.operations) / seconds;
  s.error_rate =
      requests ? std::min(1.0, static_cast<double>(errors) / static_cast<double>(requests)) : 0.0;
  if (auto p99 = bucket_quantile(Metrics::latency_bounds(), latency, 0.99))
    s.p99_ms = *p99 * 1000.0;
  samples_.push_back(s);
  while (samples_.size() > capacity_) samples_.pop_front();
  previous_ = std::move(current);
  previous_at_ = now;
}

std::vector<OverviewSample> Overview::samples() const {
  std::lock_guard lock(mutex_);
  return {samples_.begin(), samples_.end()};
}

std::string Overview::to_json() const {
  JsonValue list;
  list.kind = JsonValue::Kind::array;
  for (const OverviewSample& s : samples()) {
    JsonValue item;
    item.kind = JsonValue::Kind::object;
    item.members.emplace_back("at", text(format_timestamp(s.at)));
    item.members.emplace_back("requestsPerSecond", number(s.requests_per_second));
    item.members.emplace_back("operationsPerSecond", number(s.operations_per_second));
    item.members.emplace_back("errorRate", number(s.error_rate));
    item.members.emplace_back("p99Ms", s.p99_ms ? number(*s.p99_ms) : JsonValue{});
    list.items.push_back(std::move(item));
  }
  JsonValue body;
  body.kind = JsonValue::Kind::object;
  body.members.emplace_back("intervalSeconds", number(static_cast<double>(interval_.count())));
  body.members.emplace_back("samples", std::move(list));
  return avsync::to_json(body);
}

OverviewSampler::OverviewSampler(Overview& overview, const Clock& clock)
    : overview_(overview), clock_(clock), thread_([this] {
        std::unique_lock lock(mutex_);
        for (;;) {
          if (wake_.wait_for(lock, overview_.interval(), [this] { return stopping_; })) return;
          lock.unlock();
          try {
            overview_.sample(clock_.now());
          } catch (const std::exception&) {
            // Out of memory for a sample: the series has a gap; the server goes on.
          }
          lock.lock();
        }
      }) {}

OverviewSampler::~OverviewSampler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

}  // namespace avsync::server

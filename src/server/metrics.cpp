#include "server/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>

namespace avsync::server {
namespace {

constexpr double kLatencyBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
constexpr double kPoolWaitBounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
constexpr double kGroupBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

// The statuses the server answers with; any other counts as "other" (the last slot).
constexpr int kStatuses[] = {200, 201, 204, 304, 308, 400, 401, 403, 404,
                             422, 405, 409, 413, 415, 429, 500, 501, 503};
constexpr std::size_t kStatusSlots = std::size(kStatuses) + 1;

std::size_t status_slot(int status) {
  const auto* it = std::find(std::begin(kStatuses), std::end(kStatuses), status);
  return static_cast<std::size_t>(it - std::begin(kStatuses));
}

bool is_error_status(int status) { return status >= 400 && status != 401; }

constexpr std::string_view kActions[] = {"insert", "update", "delete", "unknown"};
constexpr std::size_t kOutcomes = static_cast<std::size_t>(kLastErrorCode) + 2;  // "applied" first

constexpr std::string_view kAuthFailures[] = {"missing", "unknown",     "revoked",
                                              "expired", "invalid_jwt", "admin_credential"};
constexpr std::string_view kRateLimits[] = {"token_requests", "token_operations",
                                            "failed_authentications", "tenant_queue"};
constexpr std::string_view kStoreErrors[] = {"unavailable", "internal"};

std::size_t entity_slots() { return all_entities().size() + 1; }  // the last: "unknown"

// Text of a number as Prometheus reads it: the shortest that reads back the same.
// Fixed notation (0.0005, not 5e-04) when it fits.
void append_number(std::string& out, double value) {
  std::array<char, 64> buffer;
  auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (result.ec != std::errc())
    result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

void append_number(std::string& out, std::uint64_t value) { out += std::to_string(value); }

// A label value, escaped as the format requires (our values never need it, but a route
// label comes from a table others extend).
void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void append_sample(std::string& out, std::string_view name, Labels labels, auto value) {
  out += name;
  if (labels.size()) {
    out += '{';
    bool first = true;
    for (const auto& [key, text] : labels) {
      if (!first) out += ',';
      first = false;
      out += key;
      out += "=\"";
      append_label_value(out, text);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

// A histogram's samples: cumulative buckets ending at +Inf, then _sum and _count, with
// `label` (key, value) first when it is given.
void append_histogram(std::string& out, std::string_view name, const Histogram::Snapshot& snap,
                      std::span<const double> bounds,
                      std::optional<std::pair<std::string_view, std::string_view>> label) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snap.buckets.size(); ++i) {
    cumulative += snap.buckets[i];
    std::string le;
    if (i < bounds.size())
      append_number(le, bounds[i]);
    else
      le = "+Inf";
    if (label)
      append_sample(out, bucket, {*label, {"le", le}}, cumulative);
    else
      append_sample(out, bucket, {{"le", le}}, cumulative);
  }
  if (label) {
    append_sample(out, std::string(name) + "_sum", {*label}, snap.sum);
    append_sample(out, std::string(name) + "_count", {*label}, cumulative);
  } else {
    append_sample(out, std::string(name) + "_sum", {}, snap.sum);
    append_sample(out, std::string(name) + "_count", {}, cumulative);
  }
}

// Resident memory in bytes and open descriptors, from /proc/self; nullopt where it cannot
// be read (not Linux).
std::optional<std::uint64_t> resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return std::nullopt;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::optional<std::uint64_t> open_descriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  std::uint64_t n = 0;
  while (const dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // the directory's own descriptor, open while it is read
}

}  // namespace

// ---- Histogram ---------------------------------------------------------------------------

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // le: value <= bound
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.buckets.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i < s.buckets.size(); ++i)
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::uint64_t Histogram::Snapshot::count() const {
  std::uint64_t n = 0;
  for (auto b : buckets) n += b;
  return n;
}

std::optional<double> bucket_quantile(std::span<const double> bounds,
                                      std::span<const std::uint64_t> buckets, double q) {
  std::uint64_t total = 0;
  for (auto b : buckets) total += b;
  if (total == 0) return std::nullopt;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0 || static_cast<double>(below + buckets[i]) < rank) {
      below += buckets[i];
      continue;
    }
    if (i >= bounds.size())
      return bounds.empty() ? std::nullopt : std::optional<double>(bounds.back());
    const double lower = i == 0 ? 0.0 : bounds[i - 1];
    const double upper = bounds[i];
    return lower +
           (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
  }
  return bounds.empty() ? std::nullopt : std::optional<double>(bounds.back());
}

// ---- Metrics -----------------------------------------------------------------------------

std::span<const double> Metrics::latency_bounds() { return kLatencyBounds; }

Metrics::Metrics(std::vector<std::string> routes, double start_time_seconds)
    : routes_(std::move(routes)),
      start_time_seconds_(start_time_seconds),
      pool_wait_seconds_(kPoolWaitBounds),
      group_commit_batches_(kGroupBounds) {
  if (std::find(routes_.begin(), routes_.end(), kUnknownRoute) == routes_.end())
    routes_.emplace_back(kUnknownRoute);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    route_index_.emplace(routes_[i], i);
    if (routes_[i] == kUnknownRoute) unknown_route_ = i;
    if (routes_[i] == kLongPollRoute) long_poll_route_ = i;
  }
  requests_ = std::make_unique<Counter[]>(routes_.size() * kStatusSlots);
  latency_.reserve(routes_.size());
  for (std::size_t i = 0; i < routes_.size(); ++i)
    latency_.push_back(std::make_unique<Histogram>(kLatencyBounds));
  operations_ = std::make_unique<Counter[]>(entity_slots() * std::size(kActions) * kOutcomes);
}

std::size_t Metrics::route_index(std::string_view route) const {
  auto it = route_index_.find(route);
  return it == route_index_.end() ? unknown_route_ : it->second;
}

void Metrics::count_request(std::size_t route, int status,
                            std::chrono::steady_clock::duration latency) noexcept {
  if (route >= routes_.size()) route = unknown_route_;
  requests_[route * kStatusSlots + status_slot(status)].value.fetch_add(1,
                                                                        std::memory_order_relaxed);
  latency_[route]->observe(std::chrono::duration<double>(latency).count());
}

void Metrics::count_batch() noexcept { batches_.value.fetch_add(1, std::memory_order_relaxed); }

std::size_t Metrics::operation_slot(const EntitySpec* entity, std::optional<Action> action,
                                    std::optional<ErrorCode> error) const {
  const std::size_t e = entity ? entity_index(*entity) : entity_slots() - 1;
  const std::size_t a = action ? static_cast<std::size_t>(*action) : std::size(kActions) - 1;
  const std::size_t o = error ? static_cast<std::size_t>(*error) + 1 : 0;
  return (e * std::size(kActions) + a) * kOutcomes + std::min(o, kOutcomes - 1);
}

void Metrics::count_operation(const EntitySpec* entity, std::optional<Action> action,
                              std::optional<ErrorCode> error) noexcept {
  operations_[operation_slot(entity, action, error)].value.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_pull(std::size_t rows) noexcept {
  pull_pages_.value.fetch_add(1, std::memory_order_relaxed);
  pulled_rows_.value.fetch_add(rows, std::memory_order_relaxed);
}

void Metrics::count_rate_limited(RateLimited reason) noexcept {
  rate_limited_[static_cast<std::size_t>(reason)].value.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_auth_failure(AuthFailure reason) noexcept {
  auth_failures_[static_cast<std::size_t>(reason)].value.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_store_error(StoreError kind) noexcept {
  store_errors_[static_cast<std::size_t>(kind)].value.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::pool_waited(std::chrono::steady_clock::duration wait) noexcept {
  pool_waits_.value.fetch_add(1, std::memory_order_relaxed);
  pool_wait_seconds_.observe(std::chrono::duration<double>(wait).count());
}

void Metrics::group_committed(std::size_t batches) noexcept {
  group_commit_batches_.observe(static_cast<double>(batches));
}

std::string Metrics::render(const ScrapeGauges& gauges) const {
  std::string out;
  out.reserve(16 << 10);
  auto load = [](const Counter& c) { return c.value.load(std::memory_order_relaxed); };

  append_header(out, "avsync_http_requests_total", "counter",
                "HTTP requests answered, by route and status.");
  for (std::size_t r = 0; r < routes_.size(); ++r)
    for (std::size_t s = 0; s < kStatusSlots; ++s)
      if (auto n = load(requests_[r * kStatusSlots + s])) {
        const std::string status =
            s < std::size(kStatuses) ? std::to_string(kStatuses[s]) : "other";
        append_sample(out, "avsync_http_requests_total",
                      {{"route", routes_[r]}, {"status", status}}, n);
      }

  append_header(
      out, "avsync_http_request_duration_seconds", "histogram",
      "Time from a request's head to its answer, by route (long-polls under their own route).");
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    auto snap = latency_[r]->snapshot();
    if (snap.count() == 0) continue;
    append_histogram(out, "avsync_http_request_duration_seconds", snap, kLatencyBounds,
                     std::pair<std::string_view, std::string_view>{"route", routes_[r]});
  }

  append_header(out, "avsync_batches_total", "counter", "Batches (POST /sync/batch) applied.");
  append_sample(out, "avsync_batches_total", {}, load(batches_));

  append_header(
      out, "avsync_operations_total", "counter",
      "Operations of batches, by entity, action and outcome (applied or the error code).");
  const auto entities = all_entities();
  for (std::size_t e = 0; e < entity_slots(); ++e)
    for (std::size_t a = 0; a < std::size(kActions); ++a)
      for (std::size_t o = 0; o < kOutcomes; ++o)
        if (auto n = load(operations_[(e * std::size(kActions) + a) * kOutcomes + o])) {
          const std::string_view entity =
              e < entities.size() ? entities[e].name : std::string_view("unknown");
          const std::string_view outcome =
              o == 0 ? std::string_view("applied") : to_wire(static_cast<ErrorCode>(o - 1));
          append_sample(out, "avsync_operations_total",
                        {{"entity", entity}, {"action", kActions[a]}, {"outcome", outcome}}, n);
        }

  append_header(out, "avsync_pull_pages_total", "counter",
                "Change feed pages (GET /sync/changes) served.");
  append_sample(out, "avsync_pull_pages_total", {}, load(pull_pages_));
  append_header(out, "avsync_pulled_rows_total", "counter", "Rows served in change feed pages.");
  append_sample(out, "avsync_pulled_rows_total", {}, load(pulled_rows_));

  append_header(out, "avsync_rate_limited_total", "counter",
                "Requests answered 429, by the limit that refused them.");
  for (std::size_t i = 0; i < std::size(kRateLimits); ++i)
    append_sample(out, "avsync_rate_limited_total", {{"reason", kRateLimits[i]}},
                  load(rate_limited_[i]));

  append_header(out, "avsync_auth_failures_total", "counter", "Refused credentials, by reason.");
  for (std::size_t i = 0; i < std::size(kAuthFailures); ++i)
    append_sample(out, "avsync_auth_failures_total", {{"reason", kAuthFailures[i]}},
                  load(auth_failures_[i]));

  append_header(out, "avsync_store_errors_total", "counter",
                "Requests failed by the store: unavailable (503) or internal (500).");
  for (std::size_t i = 0; i < std::size(kStoreErrors); ++i)
    append_sample(out, "avsync_store_errors_total", {{"kind", kStoreErrors[i]}},
                  load(store_errors_[i]));

  append_header(out, "avsync_store_pool_waits_total", "counter",
                "PostgreSQL: requests that waited for a free pooled connection.");
  append_sample(out, "avsync_store_pool_waits_total", {}, load(pool_waits_));
  append_header(out, "avsync_store_pool_wait_seconds", "histogram",
                "PostgreSQL: how long a request waited for a free pooled connection.");
  append_histogram(out, "avsync_store_pool_wait_seconds", pool_wait_seconds_.snapshot(),
                   kPoolWaitBounds, std::nullopt);
  append_header(out, "avsync_store_group_commit_batches", "histogram",
                "SQLite: batches made durable by one group commit.");
  append_histogram(out, "avsync_store_group_commit_batches", group_commit_batches_.snapshot(),
                   kGroupBounds, std::nullopt);

  append_header(out, "avsync_live_waiters", "gauge", "Long-polls waiting for a change.");
  append_sample(out, "avsync_live_waiters", {}, static_cast<std::uint64_t>(gauges.live_waiters));

  if (auto rss = resident_bytes()) {
    append_header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    append_sample(out, "process_resident_memory_bytes", {}, *rss);
  }
  if (auto fds = open_descriptors()) {
    append_header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
    append_sample(out, "process_open_fds", {}, *fds);
  }
  append_header(out, "process_start_time_seconds", "gauge",
                "Start time of the process since the Unix epoch in seconds.");
  append_sample(out, "process_start_time_seconds", {}, start_time_seconds_);
  return out;
}

MetricTotals Metrics::totals() const {
  MetricTotals t;
  t.latency_buckets.assign(std::size(kLatencyBounds) + 1, 0);
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    for (std::size_t s = 0; s < kStatusSlots; ++s) {
      const auto n = requests_[r * kStatusSlots + s].value.load(std::memory_order_relaxed);
      t.requests += n;
      if (s == std::size(kStatuses) || is_error_status(kStatuses[s])) t.errors += n;
    }
    if (r == long_poll_route_) continue;
    auto snap = latency_[r]->snapshot();
    for (std::size_t b = 0; b < snap.buckets.size(); ++b) t.latency_buckets[b] += snap.buckets[b];
  }
  const std::size_t slots = entity_slots() * std::size(kActions) * kOutcomes;
  for (std::size_t i = 0; i < slots; ++i)
    t.operations += operations_[i].value.load(std::memory_order_relaxed);
  return t;
}

}  // namespace avsync::server

#include "client/synchronizer.hpp"

#include <algorithm>
#include <future>

#include "client/response_decoder.hpp"

namespace avsync::client {
namespace {

// Unreserved characters pass; everything else is %XX (RFC 3986).
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

NextStep next_step_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_error:
    case ErrorCode::not_found:
    case ErrorCode::conflict:
      return NextStep::reject_operation;
    case ErrorCode::batch_too_large:
    case ErrorCode::payload_too_large:
      return NextStep::split_batch;
    case ErrorCode::unauthenticated:
    case ErrorCode::not_configured:
      return NextStep::wait_for_token;
    case ErrorCode::bad_request:
    case ErrorCode::unsupported_media_type:
    case ErrorCode::route_not_found:
    case ErrorCode::method_not_allowed:
    case ErrorCode::bad_response:
    case ErrorCode::local_storage:
      return NextStep::stop_and_report;
    case ErrorCode::internal:
    case ErrorCode::rate_limited:
    case ErrorCode::unavailable:
    case ErrorCode::network:
    case ErrorCode::timeout:
    case ErrorCode::server_error:
    case ErrorCode::cancelled:
    // A certificate the device does not trust is often a network that intercepts TLS (a
    // hotel's or a shop's Wi-Fi): retried, but reported as an error, not as offline.
    case ErrorCode::tls_failure:
      return NextStep::back_off;
  }
  return NextStep::stop_and_report;
}

Result<SyncReport> Synchronizer::run_cycle() {
  retry_after_.reset();
  SyncReport report;
  if (Status pushed = push(report); !pushed) return std::move(pushed).error();
  if (Status pulled = pull(report); !pulled) return std::move(pulled).error();
  store_.set_setting("last_sync_at", format_timestamp(clock_.now()));
  report.pending = store_.count_operations(OperationStatus::pending);
  return report;
}

Status Synchronizer::push(SyncReport& report) {
  std::size_t batch_size = std::max<std::size_t>(1, options_.batch_size);
  for (;;) {
    std::vector<OutgoingOperation> due = store_.due_operations(batch_size, clock_.now());
    if (due.empty()) return Ok{};

    std::string body = "{\"operations\":[";
    std::vector<std::string> ids;
    ids.reserve(due.size());
    for (std::size_t i = 0; i < due.size(); ++i) {
      if (i) body += ',';
      body += due[i].body;
      ids.push_back(due[i].operation_id);
    }
    body += "]}";

    auto reply = transport_.post_json("/sync/batch", body);
    if (!reply) return std::move(reply).error();
    if (reply->status != 200) {
      Error error = decode_error_reply(reply->status, reply->body);
      retry_after_ = reply->retry_after;
      if (next_step_for(error.code) != NextStep::split_batch) return error;
      if (due.size() > 1) {
        batch_size = due.size() / 2;  // retried at once with half the operations
        continue;
      }
      // One operation alone is too large: it can never be sent.
      store_.record_outcomes({{due[0].sequence, OperationOutcome::Kind::rejected, error}});
      ++report.rejected;
      continue;
    }

    auto decoded = decode_batch_results(reply->body, ids);
    if (!decoded) return std::move(decoded).error();
    if (decoded->cursor) batch_cursor_ = decoded->cursor;
    const std::vector<BatchResult>& results = decoded->results;
    std::vector<OperationOutcome> outcomes;
    outcomes.reserve(due.size());
    // After an operation failed transiently, the failures that follow it in the batch may
    // be its consequences (an update of the row whose insert failed answers NOT_FOUND), so
    // they are retried too rather than rejected.
    bool transient_seen = false;
    const UnixMillis now = clock_.now();
    for (std::size_t i = 0; i < due.size(); ++i) {
      const BatchResult& r = results[i];
      if (!r.error) {
        outcomes.push_back({due[i].sequence, OperationOutcome::Kind::acknowledged, std::nullopt});
        ++report.pushed;
        continue;
      }
      bool retry = transient_seen || next_step_for(r.error->code) == NextStep::back_off;
      if (retry && due[i].attempts + 1 <= options_.retry.max_retries) {
        transient_seen = true;
        UnixMillis at = now + backoff_.next_delay(due[i].attempts + 1).count();
        outcomes.push_back({due[i].sequence, OperationOutcome::Kind::retry_later, r.error, at});
      } else {
        outcomes.push_back({due[i].sequence, OperationOutcome::Kind::rejected, r.error});
        ++report.rejected;
      }
    }
    store_.record_outcomes(outcomes);
    if (on_progress_) on_progress_(report);
    // The first operation waiting for a retry now heads the queue; the rest wait behind it.
    if (transient_seen) return Ok{};
  }
}

std::string Synchronizer::changes_path(const std::optional<std::string>& since) const {
  const std::size_t limit = std::clamp<std::size_t>(options_.pull_page_size, 1, 10000);
  std::string path = "/sync/changes?limit=" + std::to_string(limit);
  if (since) path += "&since=" + percent_encode(*since);
  return path;
}

std::size_t Synchronizer::apply_page(const ChangesPage& page) {
  std::vector<ChangedRow> changed =
      store_.apply_pulled_page(page.changes, page.cursor, !page.has_more);
  if (on_changes_ && !changed.empty()) on_changes_(changed);
  return page.changes.size();
}

Status Synchronizer::pull(SyncReport& report) {
  // A page fetched and decoded, or why not.
  struct Fetched {
    Result<ChangesPage> page;
    std::optional<std::chrono::seconds> retry_after;
  };
  // Decoding runs on the fetching thread too, overlapping the writes of the page before
  // (in an initial sync it is about a fifth of the client's CPU time).
  auto fetch = [this](std::optional<std::string> cursor) -> Fetched {
    Result<HttpReply> reply = transport_.get(changes_path(cursor));
    if (!reply) return {std::move(reply).error(), std::nullopt};
    if (reply->status != 200)
      return {decode_error_reply(reply->status, reply->body), reply->retry_after};
    return {decode_changes_page(reply->body), std::nullopt};
  };
  // The next page is requested as soon as this one's cursor is known, so the server
  // builds it while this page is written locally. Only the cursor of a page that was
  // applied is ever stored, so a failure anywhere leaves the file consistent.
  std::future<Fetched> next = std::async(std::launch::async, fetch, store_.setting("cursor"));
  for (;;) {
    Fetched fetched = next.get();
    if (!fetched.page) {
      retry_after_ = fetched.retry_after;
      return std::move(fetched.page).error();
    }
    const ChangesPage& page = *fetched.page;
    if (page.has_more) next = std::async(std::launch::async, fetch, page.cursor);
    // Waits for the request in flight before leaving on an exception (the future's
    // destructor joins), so the transport is never used by two threads at once.
    report.pulled += apply_page(page);
    if (on_progress_) on_progress_(report);
    if (!page.has_more) return Ok{};
  }
}

Result<ChangesPage> Synchronizer::poll_changes(const std::optional<std::string>& since,
                                               std::chrono::seconds wait) {
  retry_after_.reset();
  auto reply = transport_.get(changes_path(since) + "&wait=" + std::to_string(wait.count()));
  if (!reply) return std::move(reply).error();
  if (reply->status != 200) {
    retry_after_ = reply->retry_after;
    return decode_error_reply(reply->status, reply->body);
  }
  return decode_changes_page(reply->body);
}

}  // namespace avsync::client

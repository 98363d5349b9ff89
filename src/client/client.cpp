// Client: the public C++ API over the local store, the synchronizer and the engine.
// Exceptions from the layers below (a failing disk, a corrupt file) stop here and become
// local_storage errors.
#include "avsync/client.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "client/local_store.hpp"
#include "client/response_decoder.hpp"
#include "client/sync_engine.hpp"
#include "client/synchronizer.hpp"
#include "client/transport.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/validation.hpp"

namespace avsync {
namespace {

std::array<std::uint8_t, 16> random_bytes() {
  std::array<std::uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return bytes;
}

std::string new_uuid() { return format_uuid_v4(random_bytes()); }

std::uint64_t random_seed() {
  auto bytes = random_bytes();
  std::uint64_t seed = 0;
  std::memcpy(&seed, bytes.data(), sizeof seed);
  return seed;
}

// Runs `fn`, turning what the layers below throw into a local_storage error.
template <typename Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Error{ErrorCode::local_storage, e.what()};
  }
}

JsonValue json_text(std::string_view text) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = text;
  return v;
}

Result<const EntitySpec*> entity_named(std::string_view name) {
  if (const EntitySpec* entity = find_entity(name)) return entity;
  std::string known;
  for (const EntitySpec& entity : all_entities()) {
    known += (known.empty() ? "" : ", ") + std::string(entity.name);
    for (std::string_view alias : entity.aliases) known += " or " + std::string(alias);
  }
  return validation_error("unknown entity '" + std::string(name) + "' (" + known + ")");
}

// The checks configure() and check_server() make before anything is stored or sent.
Status validate_server_settings(std::string_view server_url, std::string_view token) {
  if (!server_url.starts_with("http://") && !server_url.starts_with("https://")) {
    return validation_error("server: must be an http:// or https:// URL");
  }
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string_view::npos) {
    return validation_error("token: must be one bearer token without spaces");
  }
  return Ok{};
}

// An exclusive flock on a file beside the data file: one sync at a time per data file,
// across processes and across Clients in one process (flock locks belong to the open file).
class SyncFileLock {
 public:
  explicit SyncFileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  ~SyncFileLock() { ::close(fd_); }
  SyncFileLock(const SyncFileLock&) = delete;
  SyncFileLock& operator=(const SyncFileLock&) = delete;

  class Held {
   public:
    explicit Held(int fd) : fd_(fd) {
      while (::flock(fd_, LOCK_EX) != 0) {
        if (errno != EINTR) throw std::runtime_error(std::string("flock: ") + std::strerror(errno));
      }
    }
    ~Held() { ::flock(fd_, LOCK_UN); }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

   private:
    int fd_;
  };
  Held hold() { return Held(fd_); }

 private:
  int fd_;
};

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)),
        app_store_(options_.data_path),
        sync_store_(options_.data_path, client::LocalStore::Connection::sync),
        sync_file_lock_(options_.data_path + ".sync-lock"),
        operation_backoff_(options_.retry, random_seed()),
        engine_(
            options_, [this] { return run_cycle(); },
            [this](SyncStatus& status) { fill_counts(status); }, random_seed(),
            [this](std::chrono::seconds wait) { return live_pull(wait); }) {}

  Status configure(std::string_view server_url, std::string_view token) {
    if (Status valid = validate_server_settings(server_url, token); !valid) return valid;
    {
      std::lock_guard lock(app_mutex_);
      auto current = app_store_.setting("server_url");
      if (current && *current != server_url && app_store_.setting("cursor")) {
        return validation_error("server: this data file already syncs with " + *current +
                                "; use a new data file for another server");
      }
      app_store_.set_setting("server_url", server_url);
      app_store_.set_setting("token", token);
    }
    engine_.notify_token_changed();
    return Ok{};
  }

  Result<Row> write(std::string_view entity_name, Action action, std::string entity_id,
                    const FieldValues& fields) {
    auto entity = entity_named(entity_name);
    if (!entity) return std::move(entity).error();
    const std::string operation_id = new_uuid();
    const std::string client_timestamp = format_timestamp(clock_.now());

    JsonValue payload;
    payload.kind = JsonValue::Kind::object;
    for (const auto& [name, value] : fields) {
      payload.members.emplace_back(name, value ? json_text(*value) : JsonValue{});
    }
    static constexpr std::string_view kActions[] = {"insert", "update", "delete"};
    JsonValue op;
    op.kind = JsonValue::Kind::object;
    op.members.emplace_back("operationId", json_text(operation_id));
    op.members.emplace_back("entity", json_text((*entity)->name));
    op.members.emplace_back("action", json_text(kActions[static_cast<int>(action)]));
    op.members.emplace_back("entityId", json_text(entity_id));
    op.members.emplace_back("payload", payload);
    op.members.emplace_back("clientTimestamp", json_text(client_timestamp));

    auto valid = validate_operation(op);
    if (!valid) return std::move(valid).error();
    const std::string body = to_json(op);

    Result<std::optional<Row>> written = [&] {
      std::lock_guard lock(app_mutex_);
      return app_store_.apply_local_write(*valid, operation_id, body, client_timestamp);
    }();
    if (!written) return std::move(written).error();
    engine_.notify_local_write();
    if (!*written) return Row{std::string((*entity)->name), valid->entity_id, {}, {}, {}, RowSyncState::pending};
    return std::move(**written);
  }

  Result<Row> get(std::string_view entity_name, std::string_view id) {
    auto entity = entity_named(entity_name);
    if (!entity) return std::move(entity).error();
    auto canonical = normalize_uuid(id);
    if (!canonical) return validation_error("id: must be a UUID");
    std::lock_guard lock(app_mutex_);
    auto row = app_store_.read_row(**entity, *canonical);
    if (!row) return Error{ErrorCode::not_found, std::string((*entity)->name) + " " + *canonical +
                                                     " does not exist on this device"};
    return *row;
  }

  Result<std::vector<Row>> list(std::string_view entity_name, const ListQuery& query) {
    auto entity = entity_named(entity_name);
    if (!entity) return std::move(entity).error();
    std::lock_guard lock(app_mutex_);
    return app_store_.list_rows(**entity, query);
  }

  Result<std::vector<QueuedOperation>> queue(std::size_t limit) {
    std::lock_guard lock(app_mutex_);
    return app_store_.queued_operations(limit);
  }

  Status retry(std::string_view operation_id) {
    Status status = [&] {
      std::lock_guard lock(app_mutex_);
      return app_store_.retry_failed(operation_id);
    }();
    if (status) engine_.notify_local_write();
    return status;
  }

  Status discard(std::string_view operation_id) {
    std::lock_guard lock(app_mutex_);
    return app_store_.discard_failed(operation_id);
  }

  Result<SyncReport> sync_once(const client::ProgressSink& on_progress) {
    client::CycleOutcome outcome = run_cycle(on_progress);
    engine_.record(outcome);
    return std::move(outcome.result);
  }

  client::SyncEngine& engine() { return engine_; }

  void set_change_observer(std::function<void(const std::vector<ChangedRow>&)> observer) {
    std::lock_guard lock(change_observer_mutex_);
    change_observer_ = std::move(observer);
  }

 private:
  // One push + pull on the sync connection. Callable from the engine thread and from the
  // app's thread; the mutex and the file lock serialise them.
  client::CycleOutcome run_cycle(const client::ProgressSink& on_progress = nullptr) {
    std::lock_guard lock(sync_mutex_);
    try {
      auto held = sync_file_lock_.hold();
      auto url = sync_store_.setting("server_url");
      auto token = sync_store_.setting("token");
      if (!url || !token) {
        return {Error{ErrorCode::not_configured,
                      "no server configured: run `avsync init --server URL --token TOKEN`"}};
      }
      auto transport = client::make_curl_transport(
          {*url, *token, options_.connect_timeout, options_.request_timeout, options_.ca_file,
           &engine_.cancelled()});
      client::Synchronizer synchronizer(sync_store_, *transport, options_, clock_,
                                        operation_backoff_,
                                        [this](const auto& changes) { report_changes(changes); });
      synchronizer.set_progress_sink(on_progress);
      Result<SyncReport> result = synchronizer.run_cycle();
      if (result) {
        sync_store_.clear_setting("last_error_code");
        sync_store_.clear_setting("last_error_message");
      } else if (result.error().code != ErrorCode::cancelled) {
        // A cycle cut short by stop() says nothing of how syncing last ended: the file
        // keeps what the last finished cycle recorded.
        sync_store_.set_setting("last_error_code", to_wire(result.error().code));
        sync_store_.set_setting("last_error_message", result.error().message);
        if (is_retried(result.error())) sync_store_.add_to_counter(client::LocalStore::kRetries, 1);
      }
      client::CycleOutcome outcome{std::move(result), synchronizer.retry_after(), std::nullopt};
      if (auto retry_at = sync_store_.earliest_retry()) {
        outcome.next_due = std::chrono::milliseconds(std::max<UnixMillis>(0, *retry_at - clock_.now()));
      }
      return outcome;
    } catch (const std::exception& e) {
      return {Error{ErrorCode::local_storage, e.what()}};
    }
  }

  // One long-poll of live mode, on the engine's thread (the only user of live_transport_).
  // The request runs without the sync locks, so sync_once and other processes' syncs are
  // never held up by it; the page is applied under them, and only if no other sync moved
  // the replica on meanwhile (LocalStore::PullMark).
  client::LiveOutcome live_pull(std::chrono::seconds wait) {
    try {
      std::optional<std::string> url;
      std::optional<std::string> token;
      client::LocalStore::PullMark mark;
      {
        std::lock_guard lock(sync_mutex_);
        url = sync_store_.setting("server_url");
        token = sync_store_.setting("token");
        mark = sync_store_.pull_mark();
      }
      if (!url || !token) return {Error{ErrorCode::not_configured, "no server configured"}};
      if (!live_transport_ || live_server_ != std::pair{*url, *token}) {
        // The server may hold the request for `wait`; the answer then gets the usual time.
        live_transport_ =
            client::make_curl_transport({*url, *token, options_.connect_timeout,
                                         options_.request_timeout + std::chrono::seconds(60),
                                         options_.ca_file, &engine_.live_cancelled()});
        live_server_ = {*url, *token};
      }
      client::Synchronizer synchronizer(sync_store_, *live_transport_, options_, clock_,
                                        operation_backoff_,
                                        [this](const auto& changes) { report_changes(changes); });
      auto page = synchronizer.poll_changes(mark.cursor, wait);
      if (!page) {
        if (is_retried(page.error())) {
          std::lock_guard lock(sync_mutex_);
          sync_store_.add_to_counter(client::LocalStore::kRetries, 1);
        }
        return {std::move(page).error(), false, synchronizer.retry_after()};
      }
      std::lock_guard lock(sync_mutex_);
      auto held = sync_file_lock_.hold();
      if (sync_store_.pull_mark() != mark) return {std::size_t{0}, true};
      return {synchronizer.apply_page(*page)};
    } catch (const std::exception& e) {
      return {Error{ErrorCode::local_storage, e.what()}};
    }
  }

  // Requires: sync_mutex_ held (a page was just applied).
  void report_changes(const std::vector<ChangedRow>& changes) {
    std::function<void(const std::vector<ChangedRow>&)> observer;
    {
      std::lock_guard lock(change_observer_mutex_);
      observer = change_observer_;
    }
    if (observer) observer(changes);
  }

  // A failed attempt the engine schedules again (SyncStatus::retries): not one cut short by
  // stop() or a local write, nor one that waits for a new token.
  static bool is_retried(const Error& error) {
    return error.code != ErrorCode::cancelled &&
           client::next_step_for(error.code) != client::NextStep::wait_for_token;
  }

  void fill_counts(SyncStatus& status) {
    try {
      std::lock_guard lock(app_mutex_);
      status.pending = app_store_.count_operations(OperationStatus::pending);
      status.failed = app_store_.count_operations(OperationStatus::failed);
      // The file's counters, so a new process (`avsync status`) reports the device's syncs.
      status.operations_pushed = app_store_.counter(client::LocalStore::kOperationsPushed);
      status.rows_pulled = app_store_.counter(client::LocalStore::kRowsPulled);
      status.retries = app_store_.counter(client::LocalStore::kRetries);
      status.configured = app_store_.setting("server_url") && app_store_.setting("token");
      status.last_sync_at = app_store_.setting("last_sync_at");
      // A fresh process reports how the last sync of this file ended.
      if (status.state == SyncState::idle && !status.last_error) {
        if (auto code = app_store_.setting("last_error_code")) {
          ErrorCode parsed = error_code_from_name(*code).value_or(ErrorCode::internal);
          status.last_error = Error{parsed, app_store_.setting("last_error_message").value_or("")};
          status.state = parsed == ErrorCode::network || parsed == ErrorCode::timeout
                             ? SyncState::offline
                             : SyncState::error;
        }
      }
    } catch (const std::exception& e) {
      status.state = SyncState::error;
      status.last_error = Error{ErrorCode::local_storage, e.what()};
    }
  }

  ClientOptions options_;
  SystemClock clock_;
  std::mutex app_mutex_;
  client::LocalStore app_store_;  // the app's reads and writes
  std::mutex sync_mutex_;
  client::LocalStore sync_store_;  // sync cycles: a connection of their own
  SyncFileLock sync_file_lock_;
  client::Backoff operation_backoff_;  // guarded by sync_mutex_
  std::unique_ptr<client::Transport> live_transport_;  // the engine thread's long-poll
  std::pair<std::string, std::string> live_server_;    // live_transport_'s URL and token
  std::mutex change_observer_mutex_;
  std::function<void(const std::vector<ChangedRow>&)> change_observer_;
  client::SyncEngine engine_;  // last: stopped and destroyed before the stores
};

Result<std::unique_ptr<Client>> Client::open(ClientOptions options) {
  return guarded([&]() -> Result<std::unique_ptr<Client>> {
    if (!options.create_if_missing && ::access(options.data_path.c_str(), F_OK) != 0) {
      return Error{
          ErrorCode::not_configured,
          "no data file " + options.data_path +
              ": nothing is configured yet (`avsync init --server URL --token TOKEN` creates it)"};
    }
    return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(options))));
  });
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Status Client::configure(std::string_view server_url, std::string_view token) {
  return guarded([&] { return impl_->configure(server_url, token); });
}

Result<Row> Client::insert(std::string_view entity, const FieldValues& fields,
                           std::optional<std::string> id) {
  return guarded([&] { return impl_->write(entity, Action::insert, id ? *id : new_uuid(), fields); });
}

Result<Row> Client::update(std::string_view entity, std::string_view id, const FieldValues& fields) {
  return guarded([&] { return impl_->write(entity, Action::update, std::string(id), fields); });
}

Status Client::remove(std::string_view entity, std::string_view id) {
  return guarded([&]() -> Status {
    auto removed = impl_->write(entity, Action::remove, std::string(id), {});
    if (!removed) return std::move(removed).error();
    return Ok{};
  });
}

Result<Row> Client::get(std::string_view entity, std::string_view id) const {
  return guarded([&] { return impl_->get(entity, id); });
}

Result<std::vector<Row>> Client::list(std::string_view entity, const ListQuery& query) const {
  return guarded([&] { return impl_->list(entity, query); });
}

Result<std::vector<QueuedOperation>> Client::queue(std::size_t limit) const {
  return guarded([&] { return impl_->queue(limit); });
}

Status Client::retry(std::string_view operation_id) {
  return guarded([&] { return impl_->retry(operation_id); });
}

Status Client::discard(std::string_view operation_id) {
  return guarded([&] { return impl_->discard(operation_id); });
}

Result<SyncReport> Client::sync_once() { return impl_->sync_once(nullptr); }
Result<SyncReport> Client::sync_once(const std::function<void(const SyncReport&)>& on_progress) {
  return impl_->sync_once(on_progress);
}

void Client::start() { impl_->engine().start(); }
void Client::stop() { impl_->engine().stop(); }
void Client::notify_online() { impl_->engine().notify_online(); }
SyncStatus Client::status() const { return impl_->engine().status(); }
void Client::set_observer(std::function<void(const SyncStatus&)> observer) {
  impl_->engine().set_observer(std::move(observer));
}
void Client::set_change_observer(std::function<void(const std::vector<ChangedRow>&)> observer) {
  impl_->set_change_observer(std::move(observer));
}

Status check_server(std::string_view server_url, std::string_view token,
                    const ClientOptions& options) {
  if (Status valid = validate_server_settings(server_url, token); !valid) return valid;
  try {
    auto transport = client::make_curl_transport({std::string(server_url), std::string(token),
                                                  options.connect_timeout, options.request_timeout,
                                                  options.ca_file, nullptr});
    auto reply = transport->get("/sync/changes?limit=1");
    if (!reply) return std::move(reply).error();
    const auto not_avsync = [&](std::string_view why) {
      return Error{ErrorCode::bad_response, std::string(server_url) +
                                                " does not answer as an avsync server (" +
                                                std::string(why) + ")"};
    };
    if (reply->status != 200) {
      Error error = client::decode_error_reply(reply->status, reply->body);
      switch (error.code) {
        case ErrorCode::unauthenticated:
        case ErrorCode::rate_limited:
        case ErrorCode::unavailable:
        case ErrorCode::server_error:
          return error;
        default: {
          // decode_error_reply says "HTTP <status>" itself when the body has no message.
          const std::string status = "HTTP " + std::to_string(reply->status);
          return not_avsync("GET /sync/changes: " +
                            (error.message == status ? status : status + ", " + error.message));
        }
      }
    }
    if (auto page = client::decode_changes_page(reply->body); !page)
      return not_avsync(page.error().message);
    return Ok{};
  } catch (const std::exception& e) {
    // Not the network's fault (libcurl could not start, memory ran out): nothing was asked.
    return Error{ErrorCode::internal, e.what()};
  }
}

const std::optional<std::string>* Row::field(std::string_view name) const {
  for (const auto& [field_name, value] : fields) {
    if (field_name == name) return &value;
  }
  return nullptr;
}

std::string_view to_string(SyncState state) {
  switch (state) {
    case SyncState::idle: return "idle";
    case SyncState::syncing: return "syncing";
    case SyncState::error: return "error";
    case SyncState::offline: return "offline";
  }
  return "error";
}

std::string_view to_string(RowSyncState state) {
  switch (state) {
    case RowSyncState::synced: return "synced";
    case RowSyncState::pending: return "pending";
    case RowSyncState::failed: return "failed";
  }
  return "failed";
}

std::string_view to_string(ErrorCode code) { return to_wire(code); }

}  // namespace avsync

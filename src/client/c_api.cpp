// The C API: every function converts its arguments, calls one C++ method through
// `call`, and converts the result. No logic lives here.
#include "avsync/avsync.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include "avsync/client.hpp"
#include "client/json_format.hpp"
#include "core/json.hpp"

struct avsync_client {
  std::unique_ptr<avsync::Client> client;
};

namespace {

using avsync::Error;
using avsync::ErrorCode;

// avsync_code numbers are ErrorCode's order, plus one.
static_assert(AVSYNC_VALIDATION_ERROR == static_cast<int>(ErrorCode::validation_error) + 1);
static_assert(AVSYNC_UNAVAILABLE == static_cast<int>(ErrorCode::unavailable) + 1);
static_assert(AVSYNC_CANCELLED == static_cast<int>(ErrorCode::cancelled) + 1);
static_assert(AVSYNC_TLS_FAILURE == static_cast<int>(ErrorCode::tls_failure) + 1);

avsync_code to_c(ErrorCode code) { return static_cast<avsync_code>(static_cast<int>(code) + 1); }

avsync_code fail(avsync_error* out, avsync_code code, std::string_view message) {
  if (out) {
    out->code = code;
    std::size_t n = std::min(message.size(), sizeof out->message - 1);
    std::memcpy(out->message, message.data(), n);
    out->message[n] = '\0';
  }
  return code;
}

avsync_code fail(avsync_error* out, const Error& error) { return fail(out, to_c(error.code), error.message); }

// Copies text into a malloc'd C string for the caller (released by avsync_string_free).
char* give(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

// The one try/catch every function goes through.
template <typename Fn>
avsync_code call(avsync_error* error, Fn&& fn) noexcept {
  if (error) {
    error->code = AVSYNC_OK;
    error->message[0] = '\0';
  }
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return fail(error, AVSYNC_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(error, AVSYNC_INTERNAL, e.what());
  } catch (...) {
    return fail(error, AVSYNC_INTERNAL, "unknown exception");
  }
}

bool missing(const void* p) { return p == nullptr; }

avsync_code invalid(avsync_error* error, std::string_view what) {
  return fail(error, AVSYNC_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
}

// Reads the optional tuning members of avsync_client_open's options_json.
avsync::Result<avsync::ClientOptions> options_from_json(const char* data_path, const char* json) {
  avsync::ClientOptions options;
  options.data_path = data_path;
  if (!json) return options;
  auto parsed = avsync::parse_json(json);
  if (!parsed || !parsed->is_object()) return avsync::validation_error("options: must be a JSON object");
  for (const auto& [key, value] : parsed->members) {
    if (key == "caFile") {
      if (!value.is_string()) return avsync::validation_error("options.caFile: must be a string");
      options.ca_file = value.text;
      continue;
    }
    if (key == "createIfMissing") {
      if (value.kind != avsync::JsonValue::Kind::boolean) {
        return avsync::validation_error("options.createIfMissing: must be true or false");
      }
      options.create_if_missing = value.boolean;
      continue;
    }
    char* end = nullptr;
    long long n = value.kind == avsync::JsonValue::Kind::number ? std::strtoll(value.text.c_str(), &end, 10) : -1;
    if (n < 0 || !end || *end != '\0') return avsync::validation_error("options." + key + ": must be a non-negative integer");
    std::chrono::milliseconds ms(n);
    if (key == "batchSize") options.batch_size = static_cast<std::size_t>(n);
    else if (key == "pullPageSize") options.pull_page_size = static_cast<std::size_t>(n);
    else if (key == "connectTimeoutMs") options.connect_timeout = ms;
    else if (key == "requestTimeoutMs") options.request_timeout = ms;
    else if (key == "syncIntervalMs") options.sync_interval = ms;
    else if (key == "debounceMs") options.debounce = ms;
    else if (key == "retryBaseMs") options.retry.base = ms;
    else if (key == "retryCapMs") options.retry.cap = ms;
    else if (key == "maxRetries") options.retry.max_retries = static_cast<int>(n);
    else if (key == "liveWaitSeconds" && n <= 60)
      options.live_wait = std::chrono::seconds(n);
    else if (key == "liveWaitSeconds")
      return avsync::validation_error("options.liveWaitSeconds: at most 60");
    else return avsync::validation_error("options." + key + ": unknown option");
  }
  return options;
}

template <typename T>
avsync_code give_result(avsync::Result<T> result, char** out, avsync_error* error,
                        std::string (*format)(const T&)) {
  if (!result) return fail(error, result.error());
  if (out) *out = give(format(*result));
  return AVSYNC_OK;
}

avsync_code give_status(const avsync::Status& status, avsync_error* error) {
  return status ? AVSYNC_OK : fail(error, status.error());
}

}  // namespace

extern "C" {

avsync_code avsync_client_open(const char* data_path, const char* options_json, avsync_client** out,
                               avsync_error* error) {
  return call(error, [&] {
    if (missing(data_path) || missing(out)) return invalid(error, "data_path and out");
    auto options = options_from_json(data_path, options_json);
    if (!options) return fail(error, options.error());
    auto client = avsync::Client::open(std::move(*options));
    if (!client) return fail(error, client.error());
    *out = new avsync_client{std::move(*client)};
    return AVSYNC_OK;
  });
}

void avsync_client_close(avsync_client* client) { delete client; }

avsync_code avsync_server_check(const char* server_url, const char* token, const char* options_json,
                                avsync_error* error) {
  return call(error, [&] {
    if (missing(server_url) || missing(token)) return invalid(error, "server_url and token");
    auto options = options_from_json("", options_json);
    if (!options) return fail(error, options.error());
    return give_status(avsync::check_server(server_url, token, *options), error);
  });
}

avsync_code avsync_client_configure(avsync_client* c, const char* server_url, const char* token,
                                    avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(server_url) || missing(token)) return invalid(error, "client, server_url and token");
    return give_status(c->client->configure(server_url, token), error);
  });
}

avsync_code avsync_client_insert(avsync_client* c, const char* entity, const char* id,
                                 const char* fields_json, char** row_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(entity) || missing(fields_json)) return invalid(error, "client, entity and fields_json");
    auto fields = avsync::client::fields_from_json(fields_json);
    if (!fields) return fail(error, fields.error());
    auto row = c->client->insert(entity, *fields, id ? std::optional<std::string>(id) : std::nullopt);
    return give_result(std::move(row), row_json, error, &avsync::client::row_json);
  });
}

avsync_code avsync_client_update(avsync_client* c, const char* entity, const char* id,
                                 const char* fields_json, char** row_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(entity) || missing(id) || missing(fields_json)) return invalid(error, "client, entity, id and fields_json");
    auto fields = avsync::client::fields_from_json(fields_json);
    if (!fields) return fail(error, fields.error());
    return give_result(c->client->update(entity, id, *fields), row_json, error, &avsync::client::row_json);
  });
}

avsync_code avsync_client_delete(avsync_client* c, const char* entity, const char* id, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(entity) || missing(id)) return invalid(error, "client, entity and id");
    return give_status(c->client->remove(entity, id), error);
  });
}

avsync_code avsync_client_get(avsync_client* c, const char* entity, const char* id, char** row_json,
                              avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(entity) || missing(id)) return invalid(error, "client, entity and id");
    return give_result(c->client->get(entity, id), row_json, error, &avsync::client::row_json);
  });
}

avsync_code avsync_client_list(avsync_client* c, const char* entity, const char* query_json,
                               char** rows_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(entity)) return invalid(error, "client and entity");
    auto query = avsync::client::list_query_from_json(query_json ? query_json : "");
    if (!query) return fail(error, query.error());
    return give_result(c->client->list(entity, *query), rows_json, error, &avsync::client::rows_json);
  });
}

avsync_code avsync_client_queue(avsync_client* c, char** operations_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    return give_result(c->client->queue(), operations_json, error, &avsync::client::queue_json);
  });
}

avsync_code avsync_client_retry(avsync_client* c, const char* operation_id, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(operation_id)) return invalid(error, "client and operation_id");
    return give_status(c->client->retry(operation_id), error);
  });
}

avsync_code avsync_client_discard(avsync_client* c, const char* operation_id, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(operation_id)) return invalid(error, "client and operation_id");
    return give_status(c->client->discard(operation_id), error);
  });
}

avsync_code avsync_client_sync(avsync_client* c, char** report_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    return give_result(c->client->sync_once(), report_json, error, &avsync::client::report_json);
  });
}

avsync_code avsync_client_start(avsync_client* c, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    c->client->start();
    return AVSYNC_OK;
  });
}

avsync_code avsync_client_stop(avsync_client* c, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    c->client->stop();
    return AVSYNC_OK;
  });
}

avsync_code avsync_client_notify_online(avsync_client* c, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    c->client->notify_online();
    return AVSYNC_OK;
  });
}

avsync_code avsync_client_status(avsync_client* c, char** status_json, avsync_error* error) {
  return call(error, [&] {
    if (missing(c) || missing(status_json)) return invalid(error, "client and status_json");
    *status_json = give(avsync::client::status_json(c->client->status()));
    return AVSYNC_OK;
  });
}

avsync_code avsync_client_set_observer(avsync_client* c, avsync_observer observer, void* context,
                                       avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    if (!observer) {
      c->client->set_observer(nullptr);
    } else {
      c->client->set_observer([observer, context](const avsync::SyncStatus& status) {
        observer(avsync::client::status_json(status).c_str(), context);
      });
    }
    return AVSYNC_OK;
  });
}

avsync_code avsync_client_set_change_observer(avsync_client* c, avsync_change_observer observer,
                                              void* context, avsync_error* error) {
  return call(error, [&] {
    if (missing(c)) return invalid(error, "client");
    if (!observer) {
      c->client->set_change_observer(nullptr);
    } else {
      c->client->set_change_observer(
          [observer, context](const std::vector<avsync::ChangedRow>& changes) {
            observer(avsync::client::changes_json(changes).c_str(), context);
          });
    }
    return AVSYNC_OK;
  });
}

void avsync_string_free(char* text) { std::free(text); }

}  // extern "C"

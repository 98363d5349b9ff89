/* avsync C API: the client SDK for FFI (Swift, Kotlin, Dart, JS runtimes).
 *
 * A thin shell over avsync/client.hpp. Handles are opaque. Every fallible call returns an
 * avsync_code (AVSYNC_OK on success) and, when `error` is not NULL, fills it with the code
 * and a message; the caller owns `error` (no allocation, nothing to free). Strings
 * returned through `char** out` are JSON, allocated by the library, and must be released
 * with avsync_string_free. Rows, statuses and queues have the shapes in docs/client.md.
 *
 * Thread safety: a client handle may be used from several threads at once. The status
 * observer is called on the engine's thread; the change observer on the thread that
 * applied the pulled rows (the engine's, or the one calling avsync_client_sync). */
#ifndef AVSYNC_AVSYNC_H
#define AVSYNC_AVSYNC_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum avsync_code {
  AVSYNC_OK = 0,
  AVSYNC_VALIDATION_ERROR = 1,
  AVSYNC_NOT_FOUND = 2,
  AVSYNC_CONFLICT = 3,
  AVSYNC_INTERNAL = 4,
  AVSYNC_UNAUTHENTICATED = 5,
  AVSYNC_BAD_REQUEST = 6,
  AVSYNC_BATCH_TOO_LARGE = 7,
  AVSYNC_PAYLOAD_TOO_LARGE = 8,
  AVSYNC_UNSUPPORTED_MEDIA_TYPE = 9,
  AVSYNC_ROUTE_NOT_FOUND = 10,
  AVSYNC_METHOD_NOT_ALLOWED = 11,
  AVSYNC_RATE_LIMITED = 12,
  AVSYNC_UNAVAILABLE = 13,
  AVSYNC_NETWORK = 14,
  AVSYNC_TIMEOUT = 15,
  AVSYNC_SERVER_ERROR = 16,
  AVSYNC_BAD_RESPONSE = 17,
  AVSYNC_LOCAL_STORAGE = 18,
  AVSYNC_NOT_CONFIGURED = 19,
  AVSYNC_CANCELLED = 20,
  AVSYNC_TLS_FAILURE = 21,
  AVSYNC_INVALID_ARGUMENT = 100 /* a NULL handle or string where one is required */
} avsync_code;

typedef struct avsync_error {
  avsync_code code;
  char message[512]; /* NUL-terminated, truncated if longer */
} avsync_error;

typedef struct avsync_client avsync_client;

/* Opens (creating) the data file. `options_json` may be NULL or an object with any of:
 * batchSize, pullPageSize, connectTimeoutMs, requestTimeoutMs, syncIntervalMs, debounceMs,
 * retryBaseMs, retryCapMs, maxRetries, caFile, createIfMissing (false: a missing file is
 * AVSYNC_NOT_CONFIGURED and nothing is created), liveWaitSeconds (0 to 60, default 25: how
 * long the engine's live-mode long-poll waits for another device's change; 0 turns live
 * mode off). On success *out is a handle to close with avsync_client_close. */
avsync_code avsync_client_open(const char* data_path, const char* options_json,
                               avsync_client** out, avsync_error* error);
/* Stops the engine and frees the handle. NULL is ignored. */
void avsync_client_close(avsync_client* client);

/* Asks the server whether it accepts `token` (one request; no data file is touched).
 * AVSYNC_OK: it answered as an avsync server and took the token. AVSYNC_UNAUTHENTICATED:
 * it refused the token. AVSYNC_TLS_FAILURE, AVSYNC_BAD_RESPONSE (not an avsync server),
 * AVSYNC_VALIDATION_ERROR (not an http(s) URL, or not one token), or an offline code
 * (AVSYNC_NETWORK, AVSYNC_TIMEOUT, AVSYNC_UNAVAILABLE, ...): nothing could be checked.
 * `options_json` as for avsync_client_open (its timeouts and caFile are used) or NULL. Blocks on
 * the network. */
avsync_code avsync_server_check(const char* server_url, const char* token, const char* options_json,
                                avsync_error* error);

avsync_code avsync_client_configure(avsync_client* client, const char* server_url,
                                    const char* token, avsync_error* error);

/* Local writes. `fields_json` is an object of field -> string, number or null.
 * insert: `id` may be NULL (a new UUID). *row_json receives the stored row. */
avsync_code avsync_client_insert(avsync_client* client, const char* entity, const char* id,
                                 const char* fields_json, char** row_json, avsync_error* error);
avsync_code avsync_client_update(avsync_client* client, const char* entity, const char* id,
                                 const char* fields_json, char** row_json, avsync_error* error);
avsync_code avsync_client_delete(avsync_client* client, const char* entity, const char* id,
                                 avsync_error* error);

/* Reads from the replica. `query_json` may be NULL or
 * {"equals": {"field": "value"}, "limit": n, "offset": n}. */
avsync_code avsync_client_get(avsync_client* client, const char* entity, const char* id,
                              char** row_json, avsync_error* error);
avsync_code avsync_client_list(avsync_client* client, const char* entity, const char* query_json,
                               char** rows_json, avsync_error* error);

/* The queue: pending then failed operations. retry/discard act on a failed operation. */
avsync_code avsync_client_queue(avsync_client* client, char** operations_json, avsync_error* error);
avsync_code avsync_client_retry(avsync_client* client, const char* operation_id, avsync_error* error);
avsync_code avsync_client_discard(avsync_client* client, const char* operation_id, avsync_error* error);

/* One sync cycle on the calling thread (blocks on the network). *report_json may be NULL. */
avsync_code avsync_client_sync(avsync_client* client, char** report_json, avsync_error* error);

/* The background engine. */
avsync_code avsync_client_start(avsync_client* client, avsync_error* error);
avsync_code avsync_client_stop(avsync_client* client, avsync_error* error);
avsync_code avsync_client_notify_online(avsync_client* client, avsync_error* error);
avsync_code avsync_client_status(avsync_client* client, char** status_json, avsync_error* error);

/* Called with the status as JSON (valid only during the call) on every change, on the
 * engine thread. NULL removes the observer. `context` is passed back untouched. */
typedef void (*avsync_observer)(const char* status_json, void* context);
avsync_code avsync_client_set_observer(avsync_client* client, avsync_observer observer,
                                       void* context, avsync_error* error);

/* Called after each page pulled from the server is applied to the replica, with the rows
 * it changed as a JSON array: [{"entity": "customers", "id": "...", "action": "upsert" or
 * "delete"}, ...], never empty. The app's own writes are not reported, only pulled
 * changes. `changes_json` is owned by the library and valid only during the call. It runs
 * on the thread that applied the page (the engine's, or the one calling
 * avsync_client_sync), one call at a time, while that sync holds the data file: it may
 * read through the handle (get, list, status) but must not call avsync_client_sync,
 * avsync_client_stop or avsync_client_close, and should return quickly. NULL removes the
 * observer. `context` is passed back untouched; it must stay valid until the observer is
 * replaced or removed, or the handle is closed. */
typedef void (*avsync_change_observer)(const char* changes_json, void* context);
avsync_code avsync_client_set_change_observer(avsync_client* client,
                                              avsync_change_observer observer, void* context,
                                              avsync_error* error);

/* Frees a string the library returned. NULL is ignored. */
void avsync_string_free(char* text);

#ifdef __cplusplus
}
#endif

#endif /* AVSYNC_AVSYNC_H */

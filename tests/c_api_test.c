/* The C API from C: a full offline -> online cycle.
 * usage: c_api_test SERVER_URL TOKEN DATA_FILE UNREACHABLE_URL
 * Exits 0 when every check passes; prints the first failure otherwise. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avsync/avsync.h"

static int failures = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "c_api_test:%d: check failed: %s: ", __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
      failures++;                                                     \
    }                                                                 \
  } while (0)

static atomic_int observed = 0;

static void on_status(const char* status_json, void* context) {
  atomic_int* counter = (atomic_int*)context;
  if (status_json && strstr(status_json, "\"state\"")) atomic_fetch_add(counter, 1);
}

/* What the change observer waits for: a pulled upsert of the row `id`. */
struct awaited_change {
  char id[37];
  atomic_int seen;
};

static void on_changes(const char* changes_json, void* context) {
  struct awaited_change* awaited = (struct awaited_change*)context;
  const char* at = changes_json ? strstr(changes_json, awaited->id) : NULL;
  if (at && strstr(at, "\"action\":\"upsert\"")) atomic_store(&awaited->seen, 1);
}

/* Copies the 36-character "id" of a row into out. */
static void row_id(const char* row_json, char out[37]) {
  const char* at = row_json ? strstr(row_json, "\"id\":\"") : NULL;
  out[0] = '\0';
  if (!at) return;
  memcpy(out, at + 6, 36);
  out[36] = '\0';
}

static int file_exists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

static void pause_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: c_api_test SERVER_URL TOKEN DATA_FILE UNREACHABLE_URL\n");
    return 2;
  }
  const char* url = argv[1];
  const char* token = argv[2];
  const char* data = argv[3];
  const char* unreachable = argv[4];
  avsync_error error;
  avsync_client* client = NULL;
  char* text = NULL;
  char id[37];
  avsync_code rc;

  rc = avsync_client_open(data, "{\"retryBaseMs\": 10, \"retryCapMs\": 100, \"debounceMs\": 5}", &client, &error);
  if (rc != AVSYNC_OK) {
    fprintf(stderr, "open failed: %s\n", error.message);
    return 1;
  }
  CHECK(avsync_client_open(data, "{\"nope\": 1}", &(avsync_client*){NULL}, &error) == AVSYNC_VALIDATION_ERROR,
        "unknown option: %s", error.message);
  CHECK(avsync_client_open(data, "{\"liveWaitSeconds\": 61}", &(avsync_client*){NULL}, &error) ==
            AVSYNC_VALIDATION_ERROR,
        "a wait over 60 s: %s", error.message);

  /* Offline: the server is unreachable. */
  CHECK(avsync_client_configure(client, unreachable, token, &error) == AVSYNC_OK, "%s", error.message);
  rc = avsync_client_insert(client, "customers", NULL, "{\"name\": \"Ana\", \"credit_limit\": 12.5}", &text, &error);
  CHECK(rc == AVSYNC_OK, "insert: %s", error.message);
  CHECK(text && strstr(text, "\"syncState\":\"pending\""), "row: %s", text ? text : "(null)");
  CHECK(text && strstr(text, "\"credit_limit\":\"12.50\""), "row: %s", text ? text : "(null)");
  row_id(text, id);
  avsync_string_free(text);
  text = NULL;

  rc = avsync_client_sync(client, NULL, &error);
  CHECK(rc == AVSYNC_NETWORK, "offline sync returned %d: %s", rc, error.message);
  CHECK(error.code == AVSYNC_NETWORK && error.message[0] != '\0', "error filled: %d", error.code);
  CHECK(avsync_client_status(client, &text, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(strstr(text, "\"state\":\"offline\"") && strstr(text, "\"pending\":1"), "status: %s", text);
  avsync_string_free(text);

  /* Checking a server touches no data file. */
  CHECK(avsync_server_check(url, token, NULL, &error) == AVSYNC_OK, "check: %s", error.message);
  CHECK(avsync_server_check(url, "avs_not-a-token", NULL, &error) == AVSYNC_UNAUTHENTICATED,
        "check: %d %s", error.code, error.message);
  CHECK(avsync_server_check(unreachable, token, "{\"connectTimeoutMs\": 2000}", &error) ==
            AVSYNC_NETWORK,
        "check unreachable: %d %s", error.code, error.message);
  CHECK(avsync_server_check("ftp://example.com", token, NULL, &error) == AVSYNC_VALIDATION_ERROR,
        "check: %d", error.code);
  CHECK(avsync_client_open("never-created.db", "{\"createIfMissing\": false}",
                           &(avsync_client*){NULL}, &error) == AVSYNC_NOT_CONFIGURED,
        "open without creating: %d %s", error.code, error.message);
  CHECK(!file_exists("never-created.db") && !file_exists("never-created.db.sync-lock"),
        "opening without creating created a file");

  /* Online. */
  CHECK(avsync_client_configure(client, url, token, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_set_observer(client, on_status, &observed, &error) == AVSYNC_OK, "%s", error.message);
  rc = avsync_client_sync(client, &text, &error);
  CHECK(rc == AVSYNC_OK, "sync: %d %s", rc, error.message);
  CHECK(text && strstr(text, "\"pushed\":1"), "report: %s", text ? text : "(null)");
  avsync_string_free(text);
  CHECK(atomic_load(&observed) >= 1, "observer called %d times", atomic_load(&observed));

  CHECK(avsync_client_get(client, "customers", id, &text, &error) == AVSYNC_OK, "get %s: %s", id, error.message);
  CHECK(text && strstr(text, "\"syncState\":\"synced\""), "row: %s", text ? text : "(null)");
  avsync_string_free(text);
  CHECK(avsync_client_list(client, "customers", "{\"equals\": {\"name\": \"Ana\"}, \"limit\": 5}", &text, &error) == AVSYNC_OK,
        "%s", error.message);
  CHECK(text && strstr(text, id), "list: %s", text ? text : "(null)");
  avsync_string_free(text);

  /* Errors come back as codes with a message, and change nothing. */
  rc = avsync_client_update(client, "customers", id, "{\"credit_limit\": -1}", NULL, &error);
  CHECK(rc == AVSYNC_VALIDATION_ERROR && strstr(error.message, "credit_limit"), "%d %s", rc, error.message);
  rc = avsync_client_insert(client, "planets", NULL, "{}", NULL, &error);
  CHECK(rc == AVSYNC_VALIDATION_ERROR, "unknown entity: %d", rc);
  rc = avsync_client_insert(client, "customers", NULL, "[1]", NULL, &error);
  CHECK(rc == AVSYNC_VALIDATION_ERROR, "fields not an object: %d", rc);
  CHECK(avsync_client_get(NULL, "customers", id, &text, &error) == AVSYNC_INVALID_ARGUMENT, "NULL handle");
  CHECK(avsync_client_retry(client, "no-such-op", &error) == AVSYNC_NOT_FOUND, "retry unknown: %s", error.message);

  /* The engine pushes a delete by itself. */
  CHECK(avsync_client_delete(client, "payments", id, &error) == AVSYNC_NOT_FOUND, "no such abono");
  CHECK(avsync_client_delete(client, "customers", id, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_get(client, "customers", id, &text, &error) == AVSYNC_NOT_FOUND, "deleted row is gone");
  CHECK(avsync_client_start(client, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_notify_online(client, &error) == AVSYNC_OK, "%s", error.message);
  int drained = 0;
  for (int i = 0; i < 1000 && !drained; ++i) {
    avsync_client_status(client, &text, &error);
    drained = strstr(text, "\"pending\":0") && strstr(text, "\"state\":\"idle\"") && strstr(text, "\"lastSyncAt\":\"");
    avsync_string_free(text);
    if (!drained) pause_ms(10);
  }
  CHECK(drained, "the engine did not drain the queue");

  /* Live mode: another device's write reaches the change observer with no sync called here. */
  char other_data[4096];
  snprintf(other_data, sizeof other_data, "%s.other", data);
  avsync_client* other = NULL;
  CHECK(avsync_client_open(other_data, NULL, &other, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_configure(other, url, token, &error) == AVSYNC_OK, "%s", error.message);
  rc = avsync_client_insert(other, "customers", NULL, "{\"name\": \"Bea\"}", &text, &error);
  CHECK(rc == AVSYNC_OK, "insert: %s", error.message);
  static struct awaited_change awaited;
  row_id(text, awaited.id);
  avsync_string_free(text);
  atomic_store(&awaited.seen, 0);
  CHECK(avsync_client_set_change_observer(client, on_changes, &awaited, &error) == AVSYNC_OK, "%s",
        error.message);
  CHECK(avsync_client_sync(other, NULL, &error) == AVSYNC_OK, "other device's sync: %s",
        error.message);
  for (int i = 0; i < 2000 && !atomic_load(&awaited.seen); ++i) pause_ms(10);
  CHECK(atomic_load(&awaited.seen), "the change observer never heard of %s", awaited.id);
  avsync_client_close(other);

  CHECK(avsync_client_stop(client, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_set_observer(client, NULL, NULL, &error) == AVSYNC_OK, "%s", error.message);
  CHECK(avsync_client_set_change_observer(client, NULL, NULL, &error) == AVSYNC_OK, "%s",
        error.message);
  CHECK(avsync_client_queue(client, &text, &error) == AVSYNC_OK && strcmp(text, "[]") == 0, "queue: %s", text);
  avsync_string_free(text);

  avsync_client_close(client);
  avsync_client_close(NULL);
  avsync_string_free(NULL);
  if (failures) fprintf(stderr, "c_api_test: %d checks failed\n", failures);
  return failures ? 1 : 0;
}

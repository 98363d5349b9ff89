/* An app written in C against the installed SDK: opens a data file, configures a server,
 * writes a customer offline and finds its operation queued.
 * usage: c_app DATA_FILE. Exits 0 when every step works. */
#include <stdio.h>
#include <string.h>

#include <avsync/avsync.h>

static int fail(const char* step, const avsync_error* error) {
  fprintf(stderr, "c_app: %s failed: %s\n", step, error->message);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: c_app DATA_FILE\n");
    return 2;
  }
  avsync_error error;
  avsync_client* client = NULL;
  char* text = NULL;
  if (avsync_client_open(argv[1], NULL, &client, &error) != AVSYNC_OK) return fail("open", &error);
  if (avsync_client_configure(client, "http://127.0.0.1:9", "avs_install_test", &error) != AVSYNC_OK)
    return fail("configure", &error);
  if (avsync_client_insert(client, "customers", NULL, "{\"name\": \"Ana\"}", &text, &error) != AVSYNC_OK)
    return fail("insert", &error);
  avsync_string_free(text);
  if (avsync_client_queue(client, &text, &error) != AVSYNC_OK) return fail("queue", &error);
  int queued = strstr(text, "\"customers\"") != NULL && strstr(text, "\"insert\"") != NULL;
  if (!queued) fprintf(stderr, "c_app: the insert is not queued: %s\n", text);
  avsync_string_free(text);
  avsync_client_close(client);
  return queued ? 0 : 1;
}

// An app written in C++ against the installed SDK: writes a customer offline, reads it
// back from the replica as pending, and finds its operation queued.
// usage: cpp_app DATA_FILE. Exits 0 when every step works.
#include <iostream>

#include <avsync/client.hpp>

namespace {

int fail(std::string_view step, const avsync::Error& error) {
  std::cerr << "cpp_app: " << step << " failed: " << avsync::to_string(error.code) << ": "
            << error.message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cpp_app DATA_FILE\n";
    return 2;
  }
  avsync::ClientOptions options;
  options.data_path = argv[1];
  auto client = avsync::Client::open(options);
  if (!client) return fail("open", client.error());
  if (auto configured = (*client)->configure("http://127.0.0.1:9", "avs_install_test"); !configured)
    return fail("configure", configured.error());

  auto row = (*client)->insert("customers", {{"name", "Ana"}, {"phone", std::nullopt}});
  if (!row) return fail("insert", row.error());
  auto read = (*client)->get("customers", row->id);
  if (!read) return fail("get", read.error());
  const auto* name = read->field("name");
  if (!name || *name != "Ana" || read->sync_state != avsync::RowSyncState::pending) {
    std::cerr << "cpp_app: read back " << (name && *name ? **name : "(none)") << ", "
              << avsync::to_string(read->sync_state) << "\n";
    return 1;
  }
  auto queue = (*client)->queue();
  if (!queue) return fail("queue", queue.error());
  if (queue->size() != 1 || queue->front().entity_id != row->id) {
    std::cerr << "cpp_app: " << queue->size() << " operations queued, expected the insert\n";
    return 1;
  }
  std::cout << "cpp_app: " << avsync::to_string((*client)->status().state) << ", "
            << (*client)->status().pending << " pending\n";
  return 0;
}

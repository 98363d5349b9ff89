#pragma once
// `avsync-server serve`: builds the server from resolved settings and runs it.

namespace avsync::server {

struct ServeSettings;

// Opens the store at settings.db and migrates it, then serves HTTP on settings.listen
// until SIGINT or SIGTERM (http/http_server.hpp), pruning the operation log meanwhile.
// Prints "avsync-server listening on http://HOST:PORT" on stdout once listening, with the
// bound port, followed by "; demo at http://HOST:PORT/demo/" with --demo. Returns 0 after a
// clean stop. Throws when the store cannot be opened or the address cannot be bound (main
// reports it and exits 1); returns 2 after saying why when a key file, the HS256 secret,
// the admin credential or the demo's directory cannot be used. Blocks.
int serve(const ServeSettings& settings);

}  // namespace avsync::server

#pragma once
// The operations console: the dashboard's HTML, CSS and JavaScript (src/server/admin_ui/),
// compiled into the binary at build time by cmake/embed_files.cmake, so a server serves it
// at /admin/ without Node.js, npm or any file beside it (docs/protocol.md §7). The files are
// served without a credential; the page asks for the admin credential and sends it to the
// admin API (docs/security.md).

#include <span>

#include "server/static_files.hpp"

namespace avsync::server {

// Every file of src/server/admin_ui/, named by its path there ("index.html", "app.js").
// The table is constant and lives as long as the program.
std::span<const EmbeddedFile> admin_ui_files();

}  // namespace avsync::server

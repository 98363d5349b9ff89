#pragma once
// Live sync on SQLite (Store::watch_changes). SQLite tells a connection that another one
// committed (PRAGMA data_version), whether in this process or another, but not what: so
// the watch polls that number, and when it moved reads the versions of the tenants someone
// waits for (ChangeSink::watched_tenants).

#include <chrono>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace avsync::store {

// How often a SQLite watch asks whether the file changed: the most a commit waits to be
// noticed, beside the reads that follow.
inline constexpr std::chrono::milliseconds kSqliteWatchInterval{5};

// Starts a watch on the database file at `path`: a thread of its own with a read-only
// connection of its own. Every kSqliteWatchInterval it reads PRAGMA data_version; at the
// first check and whenever it changed, it reads the version of each watched tenant and
// reports it to sink.changed() (nothing when nobody waits). No read transaction stays open
// between checks, so checkpoints are never held back. A check that fails (a busy or
// missing file) is tried again at the next tick, on a new connection unless it was busy;
// the first failure of a run is written to stderr. The thread never throws. Destroying
// the handle stops and joins the thread within one check. Throws std::system_error when the
// thread cannot start. `sink` must outlive the handle.
std::unique_ptr<ChangeWatch> watch_sqlite_changes(std::string path, ChangeSink& sink);

}  // namespace avsync::store

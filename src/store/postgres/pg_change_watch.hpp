#pragma once
// Live sync on PostgreSQL (Store::watch_changes). A batch that raises its tenant's version
// announces the new version with NOTIFY inside its own transaction, so the announcement
// reaches listeners only once the commit is durable, on every server of the database. A
// watch LISTENs for these on one connection of its own.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace avsync::store::pg {

// The channel every batch notifies and every watch listens on. Each notification's payload
// is "<version> <business_id>": the tenant's new version in decimal, one space, the id
// (1 to 128 printable ASCII characters, spaces included, so it comes last).
inline constexpr std::string_view kChangesChannel = "avsync_changes";

struct ChangeNotice {
  std::string_view business_id;  // points into the payload parsed
  std::uint64_t version;
};

// Reads one payload; nullopt when it is not of the form above.
std::optional<ChangeNotice> parse_change_notice(std::string_view payload);

// Starts a watch on the database at `url`: a thread of its own with one connection of its
// own (not the pool's), which LISTENs on kChangesChannel and reports each notification to
// sink.changed(). When the connection cannot be made or breaks (the database restarts), it
// tries again after 50 ms, doubling up to 1 s, and calls sink.maybe_missed() after each
// connection that listens, the first included; it writes one line to stderr when it loses
// the database and one when it has it back. The thread never throws. Destroying the handle
// stops the thread at once, even in the middle of connecting, and joins it. Throws
// std::system_error when the thread cannot start. `sink` must outlive the handle.
std::unique_ptr<ChangeWatch> watch_postgres_changes(std::string url, ChangeSink& sink);

}  // namespace avsync::store::pg

#pragma once
// Group commit for the SQLite writer connection, fair between tenants.
//
// A durable commit costs a WAL sync and rewrites every page the transaction touched. When
// batches queue behind the one holding the writer, they join its open transaction instead
// of waiting for it to commit: each runs inside its own savepoint (a failed batch rolls back
// only itself), and one member commits for all. Every member returns from commit() only
// once that COMMIT is durable, so no batch is answered before its data is on disk.
//
// Fairness (issue 9): a tenant sending large batches must not hold another tenant's small
// one. Two rules make sure of it.
//  - The writer goes to waiting batches tenant by tenant: next is the oldest waiting batch
//    of the tenant served least recently (a tenant never served, or forgotten, comes first).
//    So a batch waits for the writer at most for the turn in progress plus one turn of each
//    other tenant waiting ahead of it: with tenants A and B, B waits for at most one batch
//    of A however many A has queued.
//  - A group is bounded by rows and time. At the end of each turn it commits when nobody
//    waits, when it has written max_rows rows or been open max_open, or when the next batch
//    is expected to take it past either (expected: what that tenant's previous turn wrote
//    and took; nothing, for a tenant not seen yet). An operation writes about two rows
//    (its log row and its entity row), so the default 2,000 rows is about 1,000 operations.
//  Bound: once a batch's own turn ends, it waits for its group's COMMIT for at most
//  max_open (10 ms by default) beyond its own work plus the COMMIT itself, unless a tenant's
//  batch is far larger or slower than its previous one (then by at most that one batch).
//  A batch is never split: one larger than max_rows forms a group of its own.
//
// Thread-safe. Requires: every write on the connection goes through join().

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sqlite/database.hpp"

namespace avsync::store {

struct GroupCommitOptions {
  std::int64_t max_rows = 2000;  // rows written (inserted, updated, deleted) by a group
  std::chrono::steady_clock::duration max_open = std::chrono::milliseconds(10);
  // The monotonic time source; tests pass a fake one. Called with no lock held.
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
  // Called once a group's COMMIT is durable, with how many batches it held (for the
  // server's metrics). Called with no lock held, by the batch that committed; must not throw.
  std::function<void(std::size_t batches)> committed;
};

class GroupCommit {
 public:
  explicit GroupCommit(sqlite::Database& writer, GroupCommitOptions options = {})
      : db_(writer), options_(std::move(options)) {}

  // Exclusive use of the writer connection for one batch.
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), tenant_(std::move(other.tenant_)),
          group_(other.group_), savepoint_open_(other.savepoint_open_), done_(other.done_),
          changes_at_start_(other.changes_at_start_), turn_started_(other.turn_started_) {}
    Slot& operator=(Slot&&) = delete;
    // Without commit(): the batch's writes are rolled back; the group goes on.
    ~Slot();
    // Keeps the batch's writes and returns once the group holding them is durable.
    // Throws store::Unavailable when the group's commit failed (nothing of it applied).
    void commit();
    // The group this batch belongs to (groups are numbered from 1 in the order they open).
    std::uint64_t group() const { return group_; }

   private:
    friend class GroupCommit;
    Slot(GroupCommit& owner, std::string tenant, std::uint64_t group,
         std::chrono::steady_clock::time_point turn_started)
        : owner_(&owner), tenant_(std::move(tenant)), group_(group), turn_started_(turn_started) {}
    GroupCommit* owner_;
    std::string tenant_;
    std::uint64_t group_;
    bool savepoint_open_ = false;
    bool done_ = false;
    std::int64_t changes_at_start_ = 0;
    std::chrono::steady_clock::time_point turn_started_;
  };

  // Blocks until the fair order gives this batch the writer, joins the open group
  // transaction (beginning one with BEGIN IMMEDIATE when none is open) and opens the
  // batch's savepoint. `tenant` names whose batch it is ("" for administrative writes).
  // Throws sqlite::Failure when the database cannot be written.
  Slot join(std::string_view tenant = {});

  // For tests and diagnostics: batches waiting for the writer, and groups ended
  // (committed or rolled back) so far.
  std::size_t waiting() const;
  std::uint64_t groups_ended() const;

 private:
  struct Waiter {
    std::uint64_t arrival;
    std::string tenant;
    bool granted = false;
  };
  struct TenantHistory {
    std::uint64_t last_turn = 0;  // 0: not served (or forgotten)
    std::int64_t last_rows = 0;   // what its previous turn wrote...
    std::chrono::steady_clock::duration last_took{};  // ...and how long it held the writer
  };

  // Ends the slot's turn: commits the group when the bounds above say so (or `broken` says
  // the transaction cannot continue); otherwise hands the writer on and waits for whoever
  // commits the group.
  void finish(Slot& slot, bool broken);
  // Requires: state_mutex_ held. The waiter the fair order serves next, or nullptr.
  Waiter* next_waiter();
  // Requires: state_mutex_ held, the caller holds the writer. Gives it to the next waiter
  // or marks it free.
  void hand_writer_on();
  std::int64_t total_changes();

  sqlite::Database& db_;
  const GroupCommitOptions options_;

  mutable std::mutex state_mutex_;  // guards everything below
  std::condition_variable turn_cv_;      // a waiter was granted the writer
  std::condition_variable finished_cv_;  // a group ended
  bool writer_busy_ = false;             // a batch holds the writer connection
  std::vector<Waiter*> queue_;           // batches blocked in join(), in arrival order
  std::uint64_t arrivals_ = 0;
  std::uint64_t turns_ = 0;
  // Tenants with history; forgotten when it grows past a bound (forgetting a tenant only
  // makes its next batch first in line and expected small).
  std::map<std::string, TenantHistory, std::less<>> tenants_;
  bool open_ = false;            // a group transaction is open on the connection
  std::uint64_t group_ = 0;      // the open (or last opened) group
  std::int64_t group_rows_ = 0;
  std::size_t group_batches_ = 0;  // batches that joined the open group
  std::chrono::steady_clock::time_point group_opened_;
  std::uint64_t finished_ = 0;   // groups up to this one are committed or failed
  std::uint64_t ended_ = 0;
  std::set<std::uint64_t> failed_;
};

}  // namespace avsync::store

#pragma once
// Group commit for the SQLite writer connection.
//
// A durable commit costs a WAL sync and rewrites every page the transaction touched. When
// batches queue behind the one holding the writer, they join its open transaction instead
// of waiting for it to commit: each runs inside its own savepoint (a failed batch rolls back
// only itself), and the last batch of the group, the one that finds nobody waiting, commits
// for all. Every member returns from commit() only once that COMMIT is durable, so no
// batch is answered before its data is on disk.
//
// Thread-safe. Requires: every write on the connection goes through join().

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

#include "sqlite/database.hpp"

namespace avsync::store {

class GroupCommit {
 public:
  explicit GroupCommit(sqlite::Database& writer, std::size_t max_batches_per_group = 16)
      : db_(writer), max_batches_(max_batches_per_group) {}

  // Exclusive use of the writer connection for one batch.
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), writer_(std::move(other.writer_)),
          group_(other.group_), savepoint_open_(other.savepoint_open_), done_(other.done_) {}
    Slot& operator=(Slot&&) = delete;
    // Without commit(): the batch's writes are rolled back; the group goes on.
    ~Slot();
    // Keeps the batch's writes and returns once the group holding them is durable.
    // Throws store::Unavailable when the group's commit failed (nothing of it applied).
    void commit();

   private:
    friend class GroupCommit;
    Slot(GroupCommit& owner, std::unique_lock<std::mutex> writer, std::uint64_t group)
        : owner_(&owner), writer_(std::move(writer)), group_(group) {}
    GroupCommit* owner_;
    std::unique_lock<std::mutex> writer_;
    std::uint64_t group_;
    bool savepoint_open_ = false;
    bool done_ = false;
  };

  // Blocks until the writer is free, joins the open group transaction (beginning one with
  // BEGIN IMMEDIATE when none is open) and opens the batch's savepoint.
  // Throws sqlite::Failure when the database cannot be written.
  Slot join();

 private:
  // Ends the slot's turn: commits the group when nobody else is waiting (or it is full, or
  // `broken` says the transaction cannot continue); otherwise hands the writer on and waits
  // for whoever commits the group.
  void finish(Slot& slot, bool broken);

  sqlite::Database& db_;
  const std::size_t max_batches_;
  std::mutex writer_;  // held by the batch running statements

  std::mutex state_mutex_;  // guards everything below
  std::condition_variable finished_cv_;
  std::size_t waiting_ = 0;      // batches blocked in join()
  bool open_ = false;            // a group transaction is open on the connection
  std::uint64_t group_ = 0;      // the open (or last opened) group
  std::size_t group_batches_ = 0;
  std::uint64_t finished_ = 0;   // groups up to this one are committed or failed
  std::set<std::uint64_t> failed_;
};

}  // namespace avsync::store

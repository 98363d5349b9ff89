#include "store/sqlite/group_commit.hpp"

#include "store/store.hpp"

namespace avsync::store {

GroupCommit::Slot GroupCommit::join() {
  std::unique_lock state(state_mutex_);
  ++waiting_;
  state.unlock();
  std::unique_lock writer(writer_);
  state.lock();
  --waiting_;
  if (!open_) {
    state.unlock();
    db_.exec("BEGIN IMMEDIATE");  // throws: nothing is open, the writer lock unwinds
    state.lock();
    open_ = true;
    ++group_;
    group_batches_ = 0;
  }
  ++group_batches_;
  Slot slot(*this, std::move(writer), group_);
  state.unlock();
  db_.query("SAVEPOINT batch").run();  // throws: ~Slot ends the turn
  slot.savepoint_open_ = true;
  return slot;
}

GroupCommit::Slot::~Slot() {
  if (done_ || !owner_) return;
  bool broken = false;
  if (savepoint_open_) {
    try {
      owner_->db_.query("ROLLBACK TO batch").run();
      owner_->db_.query("RELEASE batch").run();
    } catch (...) {
      broken = true;  // the transaction itself is gone: the whole group must roll back
    }
  }
  try {
    owner_->finish(*this, broken);
  } catch (...) {
    // This batch failed already; the group's fate is reported to its other members.
  }
}

void GroupCommit::Slot::commit() {
  owner_->db_.query("RELEASE batch").run();  // throws: ~Slot rolls the batch back
  savepoint_open_ = false;
  done_ = true;
  owner_->finish(*this, false);
}

void GroupCommit::finish(Slot& slot, bool broken) {
  std::unique_lock state(state_mutex_);
  if (broken || waiting_ == 0 || group_batches_ >= max_batches_) {
    open_ = false;
    state.unlock();
    std::string failure;
    try {
      if (broken) {
        failure = "a batch broke the transaction";
        db_.exec("ROLLBACK");
      } else {
        db_.exec("COMMIT");
      }
    } catch (const std::exception& e) {
      if (failure.empty()) failure = e.what();
      try {
        db_.exec("ROLLBACK");
      } catch (...) {
        // Already rolled back by SQLite.
      }
    }
    state.lock();
    finished_ = slot.group_;
    if (!failure.empty()) failed_.insert(slot.group_);
    state.unlock();
    finished_cv_.notify_all();
    slot.writer_.unlock();
    if (!failure.empty()) throw Unavailable("group commit failed: " + failure);
    return;
  }
  // Someone is waiting for the writer: they continue this group and one of them commits it.
  state.unlock();
  slot.writer_.unlock();
  state.lock();
  finished_cv_.wait(state, [&] { return finished_ >= slot.group_; });
  if (failed_.count(slot.group_)) throw Unavailable("group commit failed");
}

}  // namespace avsync::store

#include "store/sqlite/group_commit.hpp"

#include <algorithm>

#include "store/store.hpp"

namespace avsync::store {
namespace {

// Beyond this many remembered tenants, those with no batch waiting are forgotten.
constexpr std::size_t kRememberedTenants = 10000;

}  // namespace

GroupCommit::Slot GroupCommit::join(std::string_view tenant) {
  std::unique_lock state(state_mutex_);
  Waiter me{++arrivals_, std::string(tenant)};
  if (writer_busy_ || !queue_.empty()) {
    queue_.push_back(&me);
    turn_cv_.wait(state, [&] { return me.granted; });
  } else {
    writer_busy_ = true;
    tenants_[me.tenant].last_turn = ++turns_;
  }
  // This thread holds the writer from here on: only the holder touches the connection and
  // the open group's fields (state_mutex_ orders one holder's writes before the next's).
  const bool begin = !open_;
  state.unlock();
  const auto started = options_.now();
  if (begin) {
    try {
      db_.exec("BEGIN IMMEDIATE");
    } catch (...) {
      state.lock();
      hand_writer_on();  // nothing is open: the next batch tries for itself
      throw;
    }
    state.lock();
    open_ = true;
    ++group_;
    group_rows_ = 0;
    group_batches_ = 0;
    group_opened_ = started;
    state.unlock();
  }
  ++group_batches_;
  Slot slot(*this, std::move(me.tenant), group_, started);
  slot.changes_at_start_ = total_changes();
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

std::size_t GroupCommit::waiting() const {
  std::lock_guard state(state_mutex_);
  return queue_.size();
}

std::uint64_t GroupCommit::groups_ended() const {
  std::lock_guard state(state_mutex_);
  return ended_;
}

std::int64_t GroupCommit::total_changes() {
  // Counts rows written on the connection, rolled back or not; only the bound uses it, so
  // a connection that cannot answer counts as having written nothing.
  try {
    auto q = db_.query("SELECT total_changes()");
    return q.step() ? q.int64(0) : 0;
  } catch (...) {
    return 0;
  }
}

GroupCommit::Waiter* GroupCommit::next_waiter() {
  Waiter* next = nullptr;
  std::uint64_t next_turn = 0;
  for (Waiter* w : queue_) {  // arrival order: the first of equals wins
    auto it = tenants_.find(w->tenant);
    const std::uint64_t turn = it == tenants_.end() ? 0 : it->second.last_turn;
    if (!next || turn < next_turn) {
      next = w;
      next_turn = turn;
    }
  }
  return next;
}

void GroupCommit::hand_writer_on() {
  Waiter* next = next_waiter();
  if (!next) {
    writer_busy_ = false;
    return;
  }
  queue_.erase(std::find(queue_.begin(), queue_.end(), next));
  next->granted = true;
  if (tenants_.size() > kRememberedTenants)
    std::erase_if(tenants_, [&](const auto& entry) {
      return entry.first != next->tenant &&
             std::none_of(queue_.begin(), queue_.end(), [&](const Waiter* w) { return w->tenant == entry.first; });
    });
  tenants_[next->tenant].last_turn = ++turns_;
  turn_cv_.notify_all();
}

void GroupCommit::finish(Slot& slot, bool broken) {
  const std::int64_t changes = total_changes();
  const std::int64_t rows = std::max<std::int64_t>(0, changes - slot.changes_at_start_);
  const auto now = options_.now();
  std::unique_lock state(state_mutex_);
  group_rows_ += rows;
  TenantHistory& mine = tenants_[slot.tenant_];
  mine.last_rows = rows;
  mine.last_took = now - slot.turn_started_;
  const auto open_for = now - group_opened_;
  bool close = broken || group_rows_ >= options_.max_rows || open_for >= options_.max_open;
  if (!close) {
    const Waiter* next = next_waiter();
    if (!next) {
      close = true;  // nobody to wait for
    } else if (auto it = tenants_.find(next->tenant); it != tenants_.end()) {
      // Its previous turn is the best guess at this one: do not make this group's members
      // wait for a batch expected to take the group past a bound.
      close = group_rows_ + it->second.last_rows > options_.max_rows ||
              open_for + it->second.last_took > options_.max_open;
    }
  }
  if (close) {
    open_ = false;
    const std::size_t batches = group_batches_;
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
    ++ended_;
    if (!failure.empty()) failed_.insert(slot.group_);
    hand_writer_on();
    state.unlock();
    finished_cv_.notify_all();
    if (!failure.empty()) throw Unavailable("group commit failed: " + failure);
    if (options_.committed) options_.committed(batches);
    return;
  }
  // The next batch continues this group; it or a later member commits it.
  hand_writer_on();
  finished_cv_.wait(state, [&] { return finished_ >= slot.group_; });
  if (failed_.count(slot.group_)) throw Unavailable("group commit failed");
}

}  // namespace avsync::store

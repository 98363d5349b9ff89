#include "server/change_hub.hpp"

#include <algorithm>
#include <optional>

namespace avsync::server {

struct ChangeHub::Subscription::State {
  std::string business_id;
  Wake wake;
  std::optional<std::uint64_t> seen;  // nullopt until armed: any commit fires it
  bool fired = false;
};

ChangeHub::Subscription::Subscription(Subscription&& other) noexcept
    : hub_(other.hub_), state_(std::move(other.state_)) {}

ChangeHub::Subscription::~Subscription() {
  if (state_) hub_->unsubscribe(state_);
}

bool ChangeHub::Subscription::arm(std::uint64_t seen) {
  std::lock_guard lock(hub_->mutex_);
  if (state_->fired) return false;
  state_->seen = seen;
  return true;
}

ChangeHub::Subscription ChangeHub::subscribe(std::string business_id, Wake wake) {
  auto state = std::make_shared<Subscription::State>();
  state->business_id = std::move(business_id);
  state->wake = std::move(wake);
  std::lock_guard lock(mutex_);
  if (closed_) {
    state->fired = true;  // never woken: the caller sees the hub closed
  } else {
    tenants_[state->business_id].push_back(state);
    ++count_;
  }
  return Subscription(*this, std::move(state));
}

void ChangeHub::unsubscribe(const std::shared_ptr<Subscription::State>& state) {
  std::lock_guard lock(mutex_);
  auto it = tenants_.find(state->business_id);
  if (it == tenants_.end()) return;
  auto& list = it->second;
  auto found = std::find(list.begin(), list.end(), state);
  if (found == list.end()) return;
  *found = std::move(list.back());
  list.pop_back();
  --count_;
  if (list.empty()) tenants_.erase(it);
}

template <typename Pick>
void ChangeHub::fire(std::vector<std::shared_ptr<Subscription::State>>& list, Pick pick,
                     std::vector<Wake>& out) {
  for (auto& state : list) {
    if (state->fired || !pick(*state)) continue;
    state->fired = true;
    out.push_back(std::move(state->wake));
  }
}

void ChangeHub::changed(std::string_view business_id, std::uint64_t version) {
  std::vector<Wake> wakes;
  {
    std::lock_guard lock(mutex_);
    auto it = tenants_.find(std::string(business_id));
    if (it == tenants_.end()) return;
    fire(it->second, [version](const Subscription::State& s) { return !s.seen || version > *s.seen; },
         wakes);
  }
  for (auto& wake : wakes) wake();
}

void ChangeHub::maybe_missed() {
  std::vector<Wake> wakes;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, list] : tenants_) fire(list, [](const Subscription::State&) { return true; }, wakes);
  }
  for (auto& wake : wakes) wake();
}

void ChangeHub::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  maybe_missed();
}

bool ChangeHub::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::vector<std::string> ChangeHub::watched_tenants() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(tenants_.size());
  for (const auto& [id, list] : tenants_) out.push_back(id);
  return out;
}

std::size_t ChangeHub::waiters() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace avsync::server

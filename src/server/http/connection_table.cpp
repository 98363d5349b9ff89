#include "server/http/connection_table.hpp"

#include <algorithm>

namespace avsync::server {

ConnectionTable::Admission ConnectionTable::admit(Id id, std::string_view address) {
  Admission out;
  const std::string key(address);
  std::optional<Id> for_address, for_total;
  if (count_for(key) >= limits_.max_connections_per_address) {
    for_address = pick_victim(&key, std::nullopt);
    if (!for_address) return out;
  }
  // Evicting for the address also frees a slot of the total.
  if (connections_.size() - (for_address ? 1 : 0) >= limits_.max_connections) {
    for_total = pick_victim(nullptr, for_address);
    if (!for_total) return out;
  }
  if (for_address) forget(*for_address);
  if (for_total) forget(*for_total);
  auto [it, inserted] = connections_.try_emplace(id, Entry{key, State::fresh, {}});
  if (inserted) {
    ++per_address_[key];
    track(id, it->second);
  }
  out.admitted = true;
  out.evict_for_address = for_address;
  out.evict_for_total = for_total;
  return out;
}

void ConnectionTable::set_state(Id id, State state) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second.state == state) return;
  Entry& entry = it->second;
  if (entry.state == State::fresh) fresh_.erase(entry.order);
  if (entry.state == State::idle) idle_.erase(entry.order);
  entry.state = state;
  track(id, entry);
}

void ConnectionTable::remove(Id id) { forget(id); }

bool ConnectionTable::is_busy(Id id) const {
  auto it = connections_.find(id);
  return it != connections_.end() && it->second.state == State::busy;
}

std::size_t ConnectionTable::count_for(std::string_view address) const {
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

std::optional<ConnectionTable::Id> ConnectionTable::pick_victim(const std::string* address,
                                                                std::optional<Id> except) const {
  for (const std::list<Id>* candidates : {&fresh_, &idle_})
    for (Id id : *candidates)
      if (id != except && (!address || connections_.at(id).address == *address)) return id;
  return std::nullopt;
}

void ConnectionTable::track(Id id, Entry& entry) {
  if (entry.state == State::fresh) entry.order = fresh_.insert(fresh_.end(), id);
  else if (entry.state == State::idle) entry.order = idle_.insert(idle_.end(), id);
}

void ConnectionTable::forget(Id id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Entry& entry = it->second;
  if (entry.state == State::fresh) fresh_.erase(entry.order);
  if (entry.state == State::idle) idle_.erase(entry.order);
  auto count = per_address_.find(entry.address);
  if (--count->second == 0) per_address_.erase(count);
  connections_.erase(it);
}

TenantGate::Entry TenantGate::enter(std::string_view tenant, Ticket ticket, bool past_cap) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) it = tenants_.emplace(std::string(tenant), Tenant{}).first;
  Tenant& t = it->second;
  if (t.running < limits_.max_running && t.waiting.empty()) {
    ++t.running;
    return Entry::running;
  }
  if (!past_cap && t.waiting.size() >= limits_.max_waiting) return Entry::refused;
  t.waiting.push_back(ticket);
  return Entry::waiting;
}

std::optional<TenantGate::Ticket> TenantGate::leave(std::string_view tenant) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return std::nullopt;
  Tenant& t = it->second;
  if (!t.waiting.empty()) {
    Ticket next = t.waiting.front();
    t.waiting.pop_front();
    return next;  // the slot passes on: running stays the same
  }
  if (t.running > 0) --t.running;
  if (t.running == 0) tenants_.erase(it);
  return std::nullopt;
}

bool TenantGate::withdraw(std::string_view tenant, Ticket ticket) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return false;
  auto& waiting = it->second.waiting;
  auto pos = std::find(waiting.begin(), waiting.end(), ticket);
  if (pos == waiting.end()) return false;
  waiting.erase(pos);
  return true;
}

std::size_t TenantGate::running(std::string_view tenant) const {
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? 0 : it->second.running;
}

}  // namespace avsync::server

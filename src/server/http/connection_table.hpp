#pragma once
// Who may hold a connection, and who may run a request: the admission rules of the HTTP
// front end, as plain data structures with no sockets and no Asio, so each rule has a
// unit test (connection_table_test.cpp). http_server.cpp owns the sockets and acts on
// what these decide.
//
// Threading: neither class locks; http_server.cpp guards each with its own mutex.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace avsync::server {

struct ConnectionLimits {
  std::size_t max_connections = 10'000;             // all addresses together
  std::size_t max_connections_per_address = 2'000;  // one client address (many devices behind a NAT)
};

// The open connections, by address and by state. A connection that has sent nothing yet
// is "fresh"; one between two requests on keep-alive is "idle"; one whose request is being
// read or served is "busy". When a cap is reached, room is made by closing fresh
// connections first (oldest first), then idle ones; busy connections are never closed to
// make room.
class ConnectionTable {
 public:
  using Id = std::uint64_t;
  enum class State { fresh, idle, busy };

  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  struct Admission {
    bool admitted = false;
    // Connections to close so this one fits (at most one per cap that was full).
    std::optional<Id> evict_for_address;
    std::optional<Id> evict_for_total;
  };
  // Decides whether a new connection from `address` gets a slot, and which connections
  // make room for it. When admitted, the connection is registered as fresh under `id` and
  // the evicted ones are already forgotten (the caller closes their sockets). Not
  // admitted: nothing changes; the caller answers 503 and closes.
  Admission admit(Id id, std::string_view address);

  // A connection moves between states; unknown ids (already evicted) are ignored.
  void set_state(Id id, State state);
  // Forgets a closed connection; unknown ids are ignored.
  void remove(Id id);

  // The connection a lack of file descriptors should close first, if any.
  std::optional<Id> oldest_evictable() const { return pick_victim(nullptr, std::nullopt); }
  bool is_busy(Id id) const;

  std::size_t size() const { return connections_.size(); }
  std::size_t count_for(std::string_view address) const;

 private:
  struct Entry {
    std::string address;
    State state;
    std::list<Id>::iterator order;  // position in evictable_ (fresh/idle), else end
  };
  // The oldest evictable connection other than `except`, preferring fresh over idle,
  // restricted to `address` when it is given. Linear in the evictable connections, which
  // only runs when a cap is full.
  std::optional<Id> pick_victim(const std::string* address, std::optional<Id> except) const;
  void forget(Id id);
  void track(Id id, Entry& entry);

  ConnectionLimits limits_;
  std::unordered_map<Id, Entry> connections_;
  std::map<std::string, std::size_t, std::less<>> per_address_;
  std::list<Id> fresh_;  // oldest first
  std::list<Id> idle_;   // oldest first
};

struct TenantLimits {
  std::size_t max_running = 2;   // requests of one tenant running at once
  std::size_t max_waiting = 32;  // requests of one tenant queued behind those; more: 429
};

// Caps the requests one tenant runs at once, so one tenant's heavy requests cannot take
// every worker. Requests beyond the cap queue in arrival order, up to a bound.
class TenantGate {
 public:
  using Ticket = std::uint64_t;
  explicit TenantGate(TenantLimits limits) : limits_(limits) {}

  enum class Entry { running, waiting, refused };
  // `ticket` identifies the caller. running: it may run now and must call leave() when
  // done. waiting: it is queued; a later leave() hands it the slot. refused: the queue is
  // full (answer 429). `past_cap` queues the caller even then: a long-poll woken by a
  // commit, whose connection already counts against the connection caps, reads its page
  // in turn rather than failing because its tenant's other devices woke at the same time.
  Entry enter(std::string_view tenant, Ticket ticket, bool past_cap = false);
  // Ends a running request. Returns the ticket of the waiting request that now runs in
  // its place, if any (it must call leave() in turn when done).
  std::optional<Ticket> leave(std::string_view tenant);
  // Withdraws a waiting request (its connection closed or it gave up); false when the
  // ticket was not waiting (it was handed the slot already and must leave() instead).
  bool withdraw(std::string_view tenant, Ticket ticket);

  std::size_t running(std::string_view tenant) const;

 private:
  struct Tenant {
    std::size_t running = 0;
    std::deque<Ticket> waiting;
  };
  TenantLimits limits_;
  std::map<std::string, Tenant, std::less<>> tenants_;
};

}  // namespace avsync::server

#pragma once
// Who waits for a tenant's next commit (GET /sync/changes?wait=, docs/protocol.md §4.1),
// and the wake-ups that reach them: this server's own commits (the sync service) and every
// server's commits on a shared database (the store's change watch). Knows nothing of HTTP
// or Asio: a waiter is a callback, which the HTTP layer points at a suspended coroutine.
//
// A long-poll subscribes before it reads the feed, then arms the subscription with the
// version its empty page saw. A commit announced in between fires it, so no commit falls
// between the read and the wait. Announcements may repeat or come late (this server's
// commit, then the same commit from the database's watch): one at or below the version a
// waiter saw wakes nobody.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace avsync::server {

class ChangeHub final : public store::ChangeSink {
 public:
  // Called at most once, from whichever thread announced the commit, without the hub's
  // lock held. Must be cheap (post to an executor).
  using Wake = std::function<void()>;

  class Subscription {
   public:
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&&) = delete;
    ~Subscription();  // unsubscribes

    // The waiter's page was empty at `seen`: from now on only a version above it wakes the
    // waiter. False when a commit fired the subscription already (read the feed again).
    bool arm(std::uint64_t seen);

   private:
    friend class ChangeHub;
    struct State;
    Subscription(ChangeHub& hub, std::shared_ptr<State> state) : hub_(&hub), state_(std::move(state)) {}
    ChangeHub* hub_;
    std::shared_ptr<State> state_;
  };

  ChangeHub() = default;
  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;

  // Registers a waiter for the tenant's next commit. Once the hub is closed, the
  // subscription is born fired.
  Subscription subscribe(std::string business_id, Wake wake);

  // store::ChangeSink: a commit reached `version`; wakes the tenant's waiters that saw less.
  void changed(std::string_view business_id, std::uint64_t version) override;
  // Wakes every waiter (a watch may have missed commits).
  void maybe_missed() override;
  std::vector<std::string> watched_tenants() const override;

  // Shutdown: wakes every waiter, and every later subscription is born fired.
  void close();
  bool closed() const;

  // Waiters subscribed now (GET /healthz reports it).
  std::size_t waiters() const;

 private:
  void unsubscribe(const std::shared_ptr<Subscription::State>& state);
  // Fires the states `pick` selects among `list`, then calls their wakes outside the lock.
  template <typename Pick>
  void fire(std::vector<std::shared_ptr<Subscription::State>>& list, Pick pick,
            std::vector<Wake>& out);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Subscription::State>>> tenants_;
  std::size_t count_ = 0;
  bool closed_ = false;
};

}  // namespace avsync::server

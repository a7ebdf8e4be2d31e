// Next-hop resolution: the IPv4 -> MAC cache, pending requests with retries, and their waiters.
//
// Pure bookkeeping: it says when a request must go out and which waiters resolved or failed;
// the control plane builds and sends the frames. The cache is bounded (as Linux's gc_thresh3): an
// ARP storm from ever new addresses cannot grow it; what we asked for ourselves always fits.
#pragma once
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "types.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::slowpath {

class ArpResolver {
 public:
  static constexpr size_t kMaxEntries = 1024;

  ArpResolver(unsigned retry_ms, unsigned tries, unsigned ttl_ms, size_t max_entries = kMaxEntries)
      : retry_ms_(retry_ms), tries_(tries), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  std::optional<wire::MacAddr> lookup(uint32_t ip, TimeMs now) const;

  // Records `ip` at `mac`. A new entry is made only if `create` is set or a request for `ip` is
  // pending (RFC 826: update what we know, add what concerns us). Returns the waiters now resolved.
  // A full cache first forgets expired entries (at most once a second); if it is still full, an
  // unasked-for entry is refused (counted) and an asked-for one takes the stalest entry's place.
  std::vector<uint32_t> learn(uint32_t ip, const wire::MacAddr& mac, TimeMs now, bool create);

  // Adds `waiter` to the resolution of `ip`. True if this starts a resolution: send a request now.
  bool wait_for(uint32_t ip, uint32_t waiter, TimeMs now);
  // Forgets `waiter` (its connection went away while waiting).
  void cancel(uint32_t waiter);

  struct Expired {
    std::vector<uint32_t> resend;   // addresses to ask again
    std::vector<uint32_t> failed;   // waiters whose address never answered
  };
  // Also forgets expired entries, so the cache shrinks once a storm is over.
  Expired tick(TimeMs now);

  bool pending() const { return !pending_.empty(); }
  size_t cache_size() const { return cache_.size(); }
  uint64_t refused() const { return refused_; }  // entries not made: the cache was full

 private:
  struct Entry {
    wire::MacAddr mac;
    TimeMs seen;
  };
  struct Pending {
    unsigned sent = 1;  // requests sent so far
    TimeMs next = 0;    // when to resend or give up
    std::vector<uint32_t> waiters;
  };

  unsigned retry_ms_;
  unsigned tries_;
  unsigned ttl_ms_;
  size_t max_entries_;
  TimeMs last_prune_ = 0;
  uint64_t refused_ = 0;
  std::unordered_map<uint32_t, Entry> cache_;
  std::unordered_map<uint32_t, Pending> pending_;

  void prune(TimeMs now);  // forgets expired entries
  // Room for one more entry: false if there is none and `asked` is not set.
  bool make_room(TimeMs now, bool asked);
};

}  // namespace virtuoso::slowpath

// Path MTUs learned from ICMP "fragmentation needed", per underlay destination (a plain peer's
// address, or a VTEP's), so that connections opened later start below them (Linux's per-destination
// PMTU exception, net.ipv4.route.mtu_expires). Pure bookkeeping: bounded, no clock of its own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "types.hpp"

namespace virtuoso::slowpath {

class PathMtuCache {
 public:
  // Linux's defaults: an entry lasts 10 minutes from the last message that lowered it.
  static constexpr TimeMs kDefaultExpiryMs = 600'000;
  static constexpr size_t kDefaultCapacity = 4096;

  explicit PathMtuCache(TimeMs expiry_ms = kDefaultExpiryMs, size_t capacity = kDefaultCapacity)
      : expiry_ms_(expiry_ms), capacity_(capacity) {}

  // A router said the path to `dest` carries at most `mtu` bytes. Only ever lowers a live entry
  // (a larger value comes only from an entry that expired). When full, the entry nearest its
  // expiry makes room, so a flood of forged messages cannot grow the cache.
  void lower(uint32_t dest, uint32_t mtu, TimeMs now) {
    auto it = entries_.find(dest);
    if (it != entries_.end() && it->second.expires > now) {
      if (mtu < it->second.mtu) it->second = {mtu, now + expiry_ms_};
      return;
    }
    if (it == entries_.end() && entries_.size() >= capacity_) evict_one(now);
    entries_[dest] = {mtu, now + expiry_ms_};
  }

  // The path MTU to `dest` if one was learned and has not expired.
  std::optional<uint32_t> mtu(uint32_t dest, TimeMs now) const {
    auto it = entries_.find(dest);
    if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
    return it->second.mtu;
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t mtu;
    TimeMs expires;
  };
  void evict_one(TimeMs now) {
    auto victim = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.expires <= now) {
        victim = it;
        break;
      }
      if (it->second.expires < victim->second.expires) victim = it;
    }
    entries_.erase(victim);
  }

  TimeMs expiry_ms_;
  size_t capacity_;
  std::unordered_map<uint32_t, Entry> entries_;
};

}  // namespace virtuoso::slowpath

// Bounded key-value store: one byte budget over sharded hash tables, each with its LRU list and
// lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace virtuoso::kv {

inline constexpr int64_t kNeverExpires = std::numeric_limits<int64_t>::max();

enum class StoreMode : uint8_t { kSet, kAdd, kReplace };
enum class StoreResult : uint8_t { kStored, kNotStored, kOutOfMemory };

struct StoreStats {
  uint64_t curr_items = 0;
  uint64_t total_items = 0;
  uint64_t bytes = 0;      // charged bytes of live and not yet reclaimed items
  uint64_t evictions = 0;  // unexpired items dropped to make room
  uint64_t reclaimed = 0;  // expired items whose memory was reused
  uint64_t limit_bytes = 0;
};

class Store {
 public:
  // Bytes charged per item beyond key and value: the item header plus the hash-table node.
  static constexpr std::size_t kItemOverhead = 96;

  static constexpr std::size_t kDefaultShards = 16;

  // Shards only spread lock contention; the budget is global, so any key may use all of it.
  explicit Store(std::size_t capacity_bytes, std::size_t shards = kDefaultShards);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // `expire_at` is an absolute time in the same unit as `now`; kNeverExpires for none.
  StoreResult store(StoreMode mode, std::string_view key, uint32_t flags, int64_t expire_at,
                    std::string_view value, int64_t now);

  // On a hit calls fn(flags, value) while the item cannot change, and marks it recently used.
  template <typename Fn>
  bool get(std::string_view key, int64_t now, Fn&& fn);

  bool remove(std::string_view key, int64_t now);
  void flush();

  StoreStats stats() const;
  std::size_t shard_count() const { return shards_.size(); }
  // Largest key + value that can ever be stored.
  std::size_t max_item_bytes() const {
    return capacity_ > kItemOverhead ? capacity_ - kItemOverhead : 0;
  }

 private:
  struct Item {
    Item* prev;
    Item* next;
    int64_t expire_at;
    uint32_t flags;
    uint32_t key_len;
    uint32_t value_len;
    char* bytes() { return reinterpret_cast<char*>(this + 1); }
    std::string_view key() { return {bytes(), key_len}; }
    std::string_view value() { return {bytes() + key_len, value_len}; }
    std::size_t charge() const { return kItemOverhead + key_len + value_len; }
  };

  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string_view, Item*> map;
    Item* head = nullptr;  // most recently used
    Item* tail = nullptr;  // eviction candidate
    uint64_t total_items = 0;
    uint64_t evictions = 0;
    uint64_t reclaimed = 0;
  };

  Shard& shard_for(std::string_view key);
  // Both require the shard's lock.
  Item* find_live(Shard& shard, std::string_view key, int64_t now);
  void unlink(Shard& shard, Item* item);
  void push_front(Shard& shard, Item* item);
  void erase(Shard& shard, Item* item);
  void evict_tail(Shard& shard, int64_t now);
  bool over_budget() const { return bytes_.load(std::memory_order_relaxed) > capacity_; }
  // Evicts from the cold ends of other shards, one lock at a time, until the budget holds.
  bool evict_elsewhere(const Shard& skip, int64_t now);
  // With `shard` locked and room reserved: links the new item (add looks for a rival first).
  StoreResult insert_locked(Shard& shard, StoreMode mode, std::string_view key, uint32_t flags,
                            int64_t expire_at, std::string_view value, int64_t now);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t capacity_;
  // Charged bytes of all linked items plus room reserved by stores in progress.
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::size_t> next_victim_shard_{0};
};

template <typename Fn>
bool Store::get(std::string_view key, int64_t now, Fn&& fn) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  Item* item = find_live(shard, key, now);
  if (item == nullptr) return false;
  unlink(shard, item);
  push_front(shard, item);
  fn(item->flags, item->value());
  return true;
}

}  // namespace virtuoso::kv

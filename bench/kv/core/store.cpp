// Bounded LRU store: item allocation, lookup with lazy expiry, eviction from the cold end.
#include "kv/core/store.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace virtuoso::kv {
namespace {

// One shard per 8 MiB, up to 16: enough to keep worker threads off each other's locks, while
// a small store keeps shards large enough for a maximal (1 MiB) value.
constexpr std::size_t kBytesPerShard = 8u << 20;
constexpr std::size_t kMaxShards = 16;

}  // namespace

Store::Store(std::size_t capacity_bytes) : capacity_(capacity_bytes) {
  const std::size_t n = std::clamp<std::size_t>(capacity_bytes / kBytesPerShard, 1, kMaxShards);
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->capacity = capacity_bytes / n;
    shards_.push_back(std::move(shard));
  }
}

Store::~Store() {
  flush();
}

std::size_t Store::max_item_bytes() const {
  const std::size_t cap = shards_.front()->capacity;
  return cap > kItemOverhead ? cap - kItemOverhead : 0;
}

Store::Shard& Store::shard_for(std::string_view key) {
  return *shards_[std::hash<std::string_view>{}(key) % shards_.size()];
}

void Store::unlink(Shard& shard, Item* item) {
  (item->prev ? item->prev->next : shard.head) = item->next;
  (item->next ? item->next->prev : shard.tail) = item->prev;
  item->prev = item->next = nullptr;
}

void Store::push_front(Shard& shard, Item* item) {
  item->prev = nullptr;
  item->next = shard.head;
  if (shard.head) shard.head->prev = item;
  shard.head = item;
  if (!shard.tail) shard.tail = item;
}

void Store::erase(Shard& shard, Item* item) {
  shard.map.erase(item->key());
  unlink(shard, item);
  shard.bytes -= item->charge();
  item->~Item();
  ::operator delete(item);
}

Store::Item* Store::find_live(Shard& shard, std::string_view key, int64_t now) {
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return nullptr;
  Item* item = it->second;
  if (item->expire_at <= now) {
    erase(shard, item);
    ++shard.reclaimed;
    return nullptr;
  }
  return item;
}

bool Store::make_room(Shard& shard, std::size_t need, int64_t now) {
  if (need > shard.capacity) return false;
  while (shard.bytes + need > shard.capacity) {
    Item* victim = shard.tail;
    if (victim->expire_at <= now) {
      ++shard.reclaimed;
    } else {
      ++shard.evictions;
    }
    erase(shard, victim);
  }
  return true;
}

StoreResult Store::store(StoreMode mode, std::string_view key, uint32_t flags, int64_t expire_at,
                         std::string_view value, int64_t now) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  Item* old = find_live(shard, key, now);
  if (mode == StoreMode::kAdd && old != nullptr) return StoreResult::kNotStored;
  if (mode == StoreMode::kReplace && old == nullptr) return StoreResult::kNotStored;
  // The old value goes first either way: memcached, too, never serves a stale value after a
  // store that failed for lack of memory.
  if (old != nullptr) erase(shard, old);

  const std::size_t need = kItemOverhead + key.size() + value.size();
  if (!make_room(shard, need, now)) return StoreResult::kOutOfMemory;

  void* raw = ::operator new(sizeof(Item) + key.size() + value.size());
  Item* item = new (raw) Item{nullptr,
                              nullptr,
                              expire_at,
                              flags,
                              static_cast<uint32_t>(key.size()),
                              static_cast<uint32_t>(value.size())};
  std::memcpy(item->bytes(), key.data(), key.size());
  std::memcpy(item->bytes() + key.size(), value.data(), value.size());
  shard.map.emplace(item->key(), item);
  push_front(shard, item);
  shard.bytes += need;
  ++shard.total_items;
  return StoreResult::kStored;
}

bool Store::remove(std::string_view key, int64_t now) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  Item* item = find_live(shard, key, now);
  if (item == nullptr) return false;
  erase(shard, item);
  return true;
}

void Store::flush() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    while (shard->head != nullptr) erase(*shard, shard->head);
  }
}

StoreStats Store::stats() const {
  StoreStats out;
  out.limit_bytes = capacity_;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    out.curr_items += shard->map.size();
    out.total_items += shard->total_items;
    out.bytes += shard->bytes;
    out.evictions += shard->evictions;
    out.reclaimed += shard->reclaimed;
  }
  return out;
}

}  // namespace virtuoso::kv

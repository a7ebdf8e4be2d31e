// Bounded LRU store: item allocation, lookup with lazy expiry, eviction from the cold ends.
#include "kv/core/store.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace virtuoso::kv {

Store::Store(std::size_t capacity_bytes, std::size_t shards) : capacity_(capacity_bytes) {
  shards_.resize(std::max<std::size_t>(shards, 1));
  for (auto& shard : shards_) shard = std::make_unique<Shard>();
}

Store::~Store() {
  flush();
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
  bytes_.fetch_sub(item->charge(), std::memory_order_relaxed);
  item->~Item();
  ::operator delete(item);
}

void Store::evict_tail(Shard& shard, int64_t now) {
  Item* victim = shard.tail;
  if (victim->expire_at <= now) {
    ++shard.reclaimed;
  } else {
    ++shard.evictions;
  }
  erase(shard, victim);
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

bool Store::evict_elsewhere(const Shard& skip, int64_t now) {
  // Start at a rotating shard so that repeated overflows do not always drain the same one.
  const std::size_t start = next_victim_shard_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < shards_.size() && over_budget(); ++i) {
    Shard& shard = *shards_[(start + i) % shards_.size()];
    if (&shard == &skip) continue;
    std::lock_guard lock(shard.mutex);
    while (over_budget() && shard.tail != nullptr) evict_tail(shard, now);
  }
  return !over_budget();
}

StoreResult Store::store(StoreMode mode, std::string_view key, uint32_t flags, int64_t expire_at,
                         std::string_view value, int64_t now) {
  const std::size_t need = kItemOverhead + key.size() + value.size();
  if (need > capacity_) {
    remove(key, now);  // memcached, too, never serves the old value after a refused store
    return StoreResult::kOutOfMemory;
  }
  Shard& shard = shard_for(key);
  {
    std::lock_guard lock(shard.mutex);
    // Reserve first, then evict until the budget holds: concurrent stores in other shards
    // cannot both squeeze in on the same free bytes.
    Item* old = find_live(shard, key, now);
    if ((mode == StoreMode::kAdd && old != nullptr) ||
        (mode == StoreMode::kReplace && old == nullptr)) {
      return StoreResult::kNotStored;
    }
    if (old != nullptr) erase(shard, old);
    bytes_.fetch_add(need, std::memory_order_relaxed);
    // The local cold end first: the common case stays on one lock.
    while (over_budget() && shard.tail != nullptr) evict_tail(shard, now);
    if (!over_budget()) return insert_locked(shard, mode, key, flags, expire_at, value, now);
  }
  if (!evict_elsewhere(shard, now)) {
    bytes_.fetch_sub(need, std::memory_order_relaxed);
    remove(key, now);
    return StoreResult::kOutOfMemory;
  }
  std::lock_guard lock(shard.mutex);
  return insert_locked(shard, mode, key, flags, expire_at, value, now);
}

// The mode was checked when the old item was erased. Only add looks again: if another store
// linked the key while this one was evicting elsewhere, add must not overwrite it.

StoreResult Store::insert_locked(Shard& shard, StoreMode mode, std::string_view key, uint32_t flags,
                                 int64_t expire_at, std::string_view value, int64_t now) {
  const std::size_t need = kItemOverhead + key.size() + value.size();
  Item* old = find_live(shard, key, now);
  if (mode == StoreMode::kAdd && old != nullptr) {
    bytes_.fetch_sub(need, std::memory_order_relaxed);
    return StoreResult::kNotStored;
  }
  if (old != nullptr) erase(shard, old);

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
  out.bytes = bytes_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    out.curr_items += shard->map.size();
    out.total_items += shard->total_items;
    out.evictions += shard->evictions;
    out.reclaimed += shard->reclaimed;
  }
  return out;
}

}  // namespace virtuoso::kv

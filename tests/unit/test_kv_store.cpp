// Unit tests: the bounded LRU store (modes, expiry, eviction order, memory accounting).
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kv/core/store.hpp"

using namespace virtuoso::kv;

namespace {

std::string get_value(Store& store, std::string_view key, int64_t now, uint32_t* flags = nullptr) {
  std::string out = "<miss>";
  store.get(key, now, [&](uint32_t f, std::string_view v) {
    out.assign(v);
    if (flags) *flags = f;
  });
  return out;
}

constexpr int64_t kNow = 1000;

}  // namespace

TEST_CASE("kv store: set then get -> same value and flags") {
  Store store(1 << 20);
  CHECK(store.store(StoreMode::kSet, "a", 7, kNeverExpires, "hello", kNow) == StoreResult::kStored);
  uint32_t flags = 0;
  CHECK(get_value(store, "a", kNow, &flags) == "hello");
  CHECK(flags == 7);
  CHECK(get_value(store, "b", kNow) == "<miss>");
}

TEST_CASE("kv store: set over an existing key -> replaced, bytes not double counted") {
  Store store(1 << 20);
  store.store(StoreMode::kSet, "a", 0, kNeverExpires, "one", kNow);
  store.store(StoreMode::kSet, "a", 0, kNeverExpires, "three", kNow);
  CHECK(get_value(store, "a", kNow) == "three");
  const auto s = store.stats();
  CHECK(s.curr_items == 1);
  CHECK(s.bytes == Store::kItemOverhead + 1 + 5);
}

TEST_CASE("kv store: add only when absent, replace only when present") {
  Store store(1 << 20);
  CHECK(store.store(StoreMode::kReplace, "a", 0, kNeverExpires, "x", kNow) ==
        StoreResult::kNotStored);
  CHECK(store.store(StoreMode::kAdd, "a", 0, kNeverExpires, "x", kNow) == StoreResult::kStored);
  CHECK(store.store(StoreMode::kAdd, "a", 0, kNeverExpires, "y", kNow) == StoreResult::kNotStored);
  CHECK(get_value(store, "a", kNow) == "x");
  CHECK(store.store(StoreMode::kReplace, "a", 0, kNeverExpires, "z", kNow) == StoreResult::kStored);
  CHECK(get_value(store, "a", kNow) == "z");
}

TEST_CASE("kv store: item past its expiry -> miss, and add succeeds over it") {
  Store store(1 << 20);
  store.store(StoreMode::kSet, "a", 0, kNow + 10, "v", kNow);
  CHECK(get_value(store, "a", kNow + 9) == "v");
  CHECK(get_value(store, "a", kNow + 10) == "<miss>");
  store.store(StoreMode::kSet, "b", 0, kNow + 10, "v", kNow);
  CHECK(store.store(StoreMode::kAdd, "b", 0, kNeverExpires, "w", kNow + 11) ==
        StoreResult::kStored);
  CHECK(get_value(store, "b", kNow + 11) == "w");
  CHECK(store.stats().reclaimed == 2);
}

TEST_CASE("kv store: delete -> true once, then false") {
  Store store(1 << 20);
  store.store(StoreMode::kSet, "a", 0, kNeverExpires, "v", kNow);
  CHECK(store.remove("a", kNow));
  CHECK_FALSE(store.remove("a", kNow));
  CHECK(store.stats().bytes == 0);
}

TEST_CASE("kv store: full -> least recently used key evicted first, a read refreshes a key") {
  // One shard: each item costs overhead + 2-byte key + 100-byte value; room for exactly four.
  const std::size_t item = Store::kItemOverhead + 2 + 100;
  Store store(4 * item + item / 2, 1);
  const std::string value(100, 'v');
  for (const char* k : {"k0", "k1", "k2", "k3"})
    store.store(StoreMode::kSet, k, 0, kNeverExpires, value, kNow);
  CHECK(store.stats().evictions == 0);
  CHECK(get_value(store, "k0", kNow) == value);  // k1 is now the coldest
  store.store(StoreMode::kSet, "k4", 0, kNeverExpires, value, kNow);
  CHECK(get_value(store, "k1", kNow) == "<miss>");
  CHECK(get_value(store, "k0", kNow) == value);
  CHECK(get_value(store, "k4", kNow) == value);
  const auto s = store.stats();
  CHECK(s.evictions == 1);
  CHECK(s.curr_items == 4);
  CHECK(s.bytes <= s.limit_bytes);
}

TEST_CASE("kv store: expired items at the cold end count as reclaimed, not evicted") {
  const std::size_t item = Store::kItemOverhead + 2 + 100;
  Store store(2 * item, 1);
  const std::string value(100, 'v');
  store.store(StoreMode::kSet, "k0", 0, kNow + 1, value, kNow);
  store.store(StoreMode::kSet, "k1", 0, kNeverExpires, value, kNow);
  store.store(StoreMode::kSet, "k2", 0, kNeverExpires, value, kNow + 5);
  const auto s = store.stats();
  CHECK(s.evictions == 0);
  CHECK(s.reclaimed == 1);
  CHECK(get_value(store, "k1", kNow + 5) == value);
}

TEST_CASE("kv store: item larger than a shard -> out of memory, old value gone, store intact") {
  Store store(64 * 1024);
  store.store(StoreMode::kSet, "keep", 0, kNeverExpires, "x", kNow);
  store.store(StoreMode::kSet, "big", 0, kNeverExpires, "old", kNow);
  const std::string huge(store.max_item_bytes() + 1, 'h');
  CHECK(store.store(StoreMode::kSet, "big", 0, kNeverExpires, huge, kNow) ==
        StoreResult::kOutOfMemory);
  CHECK(get_value(store, "big", kNow) == "<miss>");
  CHECK(get_value(store, "keep", kNow) == "x");
}

TEST_CASE("kv store: many sets into a small store -> bytes never exceed the limit") {
  Store store(256 * 1024);
  for (int i = 0; i < 10000; ++i) {
    const std::string key = "key" + std::to_string(i);
    REQUIRE(store.store(StoreMode::kSet, key, 0, kNeverExpires, std::string(i % 700, 'v'), kNow) ==
            StoreResult::kStored);
  }
  const auto s = store.stats();
  CHECK(s.bytes <= s.limit_bytes);
  CHECK(s.evictions > 0);
  CHECK(s.curr_items + s.evictions == 10000);
  CHECK(get_value(store, "key9999", kNow).size() == 9999 % 700);
}

TEST_CASE("kv store: keys crowding one shard -> stored while the whole budget has room") {
  // 40 values of 64 KiB in a 16-shard store sized for 41: hashing puts several keys in some
  // shards, which must not matter.
  const std::string value(64 * 1024, 'v');
  const std::size_t item = Store::kItemOverhead + 3 + value.size();
  Store store(41 * item);
  REQUIRE(store.shard_count() > 1);
  for (int i = 0; i < 40; ++i) {
    const std::string key = std::to_string(100 + i);
    REQUIRE(store.store(StoreMode::kSet, key, 0, kNeverExpires, value, kNow) ==
            StoreResult::kStored);
  }
  const auto s = store.stats();
  CHECK(s.evictions == 0);
  CHECK(s.curr_items == 40);
}

TEST_CASE("kv store: full and the new key's shard empty -> room taken from other shards") {
  const std::string value(1000, 'v');
  const std::size_t item = Store::kItemOverhead + 4 + value.size();
  Store store(10 * item, 16);
  int stored = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string key = std::to_string(1000 + i);
    if (store.store(StoreMode::kSet, key, 0, kNeverExpires, value, kNow) == StoreResult::kStored) {
      ++stored;
    }
  }
  CHECK(stored == 200);
  const auto s = store.stats();
  CHECK(s.curr_items == 10);
  CHECK(s.evictions == 190);
  CHECK(s.bytes <= s.limit_bytes);
}

TEST_CASE("kv store: value of the whole budget -> stored alone, one byte more -> out of memory") {
  Store store(64 * 1024);
  store.store(StoreMode::kSet, "a", 0, kNeverExpires, "x", kNow);
  const std::string fits(store.max_item_bytes() - 1, 'f');  // key "b" takes the last byte
  CHECK(store.store(StoreMode::kSet, "b", 0, kNeverExpires, fits, kNow) == StoreResult::kStored);
  CHECK(get_value(store, "a", kNow) == "<miss>");
  CHECK(store.stats().bytes == store.stats().limit_bytes);
}

TEST_CASE("kv store: add over a live key or replace of a missing key -> nothing evicted") {
  const std::size_t item = Store::kItemOverhead + 1 + 10;
  Store store(2 * item, 1);
  const std::string value(10, 'v');
  store.store(StoreMode::kSet, "a", 0, kNeverExpires, value, kNow);
  store.store(StoreMode::kSet, "b", 0, kNeverExpires, value, kNow);
  CHECK(store.store(StoreMode::kAdd, "a", 0, kNeverExpires, value, kNow) ==
        StoreResult::kNotStored);
  CHECK(store.store(StoreMode::kReplace, "c", 0, kNeverExpires, value, kNow) ==
        StoreResult::kNotStored);
  CHECK(store.stats().evictions == 0);
  CHECK(store.stats().curr_items == 2);
}

TEST_CASE("kv store: flush -> everything gone, limit unchanged") {
  Store store(1 << 20);
  for (int i = 0; i < 100; ++i)
    store.store(StoreMode::kSet, std::to_string(i), 0, kNeverExpires, "v", kNow);
  store.flush();
  const auto s = store.stats();
  CHECK(s.curr_items == 0);
  CHECK(s.bytes == 0);
  CHECK(s.limit_bytes == 1 << 20);
}

TEST_CASE("kv store: four threads storing and reading into a small store -> budget holds") {
  Store store(128 * 1024, 4);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, &wrong, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string key = std::to_string((i * 7 + t) % 3000);
        const std::string value(static_cast<std::size_t>(key.size() * 40), key[0]);
        store.store(StoreMode::kSet, key, 0, kNeverExpires, value, kNow);
        store.get(key, kNow, [&](uint32_t, std::string_view v) {
          // Whoever wrote it last, the value is the one every writer uses for this key.
          if (v != value) wrong.fetch_add(1);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  const auto s = store.stats();
  CHECK(s.bytes <= s.limit_bytes);
  CHECK(s.evictions > 0);
}

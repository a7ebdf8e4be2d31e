// Unit tests: the shared-memory SPSC queue: full, empty, 32-bit index wrap, corrupt indices, two threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <cstdint>
#include <thread>

#include "virtuoso/shm/spsc_queue.hpp"

using namespace virtuoso::shm;

namespace {

struct Entry {
  uint64_t seq;
  uint64_t check;  // derived from seq, so a torn or stale slot is detectable
};

Entry make(uint64_t seq) { return {seq, seq * 0x9e3779b97f4a7c15ull}; }

// A queue over its own zeroed, cache-line-aligned region, as the slow path would lay it out.
struct Region {
  explicit Region(uint32_t capacity)
      : bytes(spsc_bytes<Entry>(capacity)),
        mem(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}))),
        q(mem, capacity) {
    std::memset(mem, 0, bytes);
    q.reset();
  }
  ~Region() { ::operator delete(mem, std::align_val_t{64}); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  SpscIndices& idx() { return *reinterpret_cast<SpscIndices*>(mem); }

  size_t bytes;
  std::byte* mem;
  SpscQueue<Entry> q;
};

}  // namespace

TEST_CASE("spsc: layout of a queue -> 128-byte index block plus capacity entries") {
  CHECK(spsc_bytes<Entry>(8) == 128 + 8 * sizeof(Entry));
  CHECK(is_pow2(8));
  CHECK_FALSE(is_pow2(0));
  CHECK_FALSE(is_pow2(12));
}

TEST_CASE("spsc: fresh queue -> empty, pop reports kEmpty, all slots free") {
  Region r(8);
  Entry e{};
  CHECK(r.q.capacity() == 8);
  CHECK(r.q.empty());
  CHECK(r.q.looks_empty());
  CHECK(r.q.free_space() == 8);
  CHECK(r.q.try_pop(e) == PopResult::kEmpty);
}

TEST_CASE("spsc: capacity entries pushed -> next push refused, free space 0, nothing lost") {
  Region r(8);
  for (uint64_t i = 0; i < 8; ++i) REQUIRE(r.q.try_push(make(i)));
  CHECK(r.q.free_space() == 0);
  CHECK_FALSE(r.q.try_push(make(99)));
  Entry e{};
  for (uint64_t i = 0; i < 8; ++i) {
    REQUIRE(r.q.try_pop(e) == PopResult::kOk);
    CHECK(e.seq == i);
  }
  CHECK(r.q.try_pop(e) == PopResult::kEmpty);
}

TEST_CASE("spsc: one pop from a full queue -> exactly one push accepted") {
  Region r(4);
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(r.q.try_push(make(i)));
  Entry e{};
  REQUIRE(r.q.try_pop(e) == PopResult::kOk);
  CHECK(r.q.free_space() == 1);
  CHECK(r.q.try_push(make(4)));
  CHECK_FALSE(r.q.try_push(make(5)));
}

TEST_CASE("spsc: indices starting near 0xffffffff -> FIFO order and full/empty hold across the wrap") {
  Region r(8);
  r.idx().head = 0xfffffffbu;
  r.idx().tail = 0xfffffffbu;
  Entry e{};
  uint64_t next_in = 0, next_out = 0;
  // Several rounds, each filling the queue to the brim and draining half, crossing 2^32 on the way.
  for (int round = 0; round < 6; ++round) {
    while (r.q.try_push(make(next_in))) ++next_in;
    CHECK(r.q.free_space() == 0);
    for (int i = 0; i < 4; ++i) {
      REQUIRE(r.q.try_pop(e) == PopResult::kOk);
      CHECK(e.seq == next_out++);
      CHECK(e.check == make(e.seq).check);
    }
  }
  CHECK(r.idx().head < 0x100u);  // the head really wrapped
  while (r.q.try_pop(e) == PopResult::kOk) CHECK(e.seq == next_out++);
  CHECK(next_out == next_in);
  CHECK(r.q.empty());
}

TEST_CASE("spsc: head more than capacity ahead of tail -> kCorrupt, tail untouched") {
  Region r(8);
  r.idx().head = 9;
  Entry e{};
  CHECK(r.q.try_pop(e) == PopResult::kCorrupt);
  CHECK(r.idx().tail == 0);
}

TEST_CASE("spsc: head behind tail -> kCorrupt") {
  Region r(8);
  r.idx().head = 0xfffffff0u;
  r.idx().tail = 3;  // head - tail wraps to a huge count
  Entry e{};
  CHECK(r.q.try_pop(e) == PopResult::kCorrupt);
  CHECK(r.idx().tail == 3);
}

TEST_CASE("spsc: head exactly capacity ahead across the wrap -> still a valid full queue") {
  Region r(8);
  r.idx().tail = 0xfffffffcu;
  r.idx().head = 0xfffffffcu + 8;
  Entry e{};
  CHECK(r.q.try_pop(e) == PopResult::kOk);
  CHECK(r.idx().tail == 0xfffffffdu);
}

TEST_CASE("spsc: tail scribbled ahead of head -> producer sees no room and writes nothing") {
  Region r(8);
  r.idx().head = 2;
  r.idx().tail = 5;
  CHECK(r.q.free_space() == 0);
  CHECK_FALSE(r.q.try_push(make(1)));
  CHECK(r.idx().head == 2);
}

TEST_CASE("spsc: producer and consumer threads moving 1M entries -> all arrive, in order, intact") {
  constexpr uint64_t kCount = 1'000'000;
  Region r(256);
  r.idx().head = 0xffffff00u;  // cross the 32-bit wrap early in the run
  r.idx().tail = 0xffffff00u;
  std::atomic<uint64_t> bad{0};
  std::thread consumer([&] {
    Entry e{};
    uint64_t expect = 0;
    while (expect < kCount) {
      PopResult pr = r.q.try_pop(e);
      if (pr == PopResult::kEmpty) {
        std::this_thread::yield();
        continue;
      }
      if (pr != PopResult::kOk || e.seq != expect || e.check != make(expect).check) bad++;
      ++expect;
    }
  });
  for (uint64_t i = 0; i < kCount; ++i) {
    while (!r.q.try_push(make(i))) std::this_thread::yield();
  }
  consumer.join();
  CHECK(bad.load() == 0);
  CHECK(r.q.empty());
  CHECK(r.idx().head == uint32_t(0xffffff00u + kCount));
}

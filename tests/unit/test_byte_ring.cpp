// Unit tests: byte-ring copies across the ring's end and across the 2^32 wrap of positions.
#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>
#include <vector>

#include "virtuoso/shm/byte_ring.hpp"

using namespace virtuoso::shm;

namespace {
std::vector<uint8_t> counting(size_t n, uint8_t first) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}
}  // namespace

TEST_CASE("byte ring: write inside the ring -> bytes at pos & (size-1), neighbours untouched") {
  std::vector<uint8_t> ring(16, 0xee);
  auto src = counting(4, 1);
  ring_write(ring.data(), 16, 16 * 3 + 5, src.data(), src.size());
  CHECK(ring[4] == 0xee);
  CHECK(ring[5] == 1);
  CHECK(ring[8] == 4);
  CHECK(ring[9] == 0xee);
}

TEST_CASE("byte ring: write across the ring's end -> tail of the ring, then its start") {
  std::vector<uint8_t> ring(16, 0xee);
  auto src = counting(10, 1);
  ring_write(ring.data(), 16, 12, src.data(), src.size());
  CHECK(std::vector<uint8_t>(ring.begin() + 12, ring.end()) == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(std::vector<uint8_t>(ring.begin(), ring.begin() + 6) == std::vector<uint8_t>{5, 6, 7, 8, 9, 10});
  CHECK(ring[6] == 0xee);
}

TEST_CASE("byte ring: read across the ring's end -> the bytes written there, in order") {
  std::vector<uint8_t> ring(16);
  auto src = counting(10, 40);
  ring_write(ring.data(), 16, 12, src.data(), src.size());
  std::vector<uint8_t> out(10);
  ring_read(ring.data(), 16, 12, out.data(), out.size());
  CHECK(out == src);
}

TEST_CASE("byte ring: whole-ring copy from a nonzero offset -> every byte round-trips") {
  std::vector<uint8_t> ring(32);
  auto src = counting(32, 7);
  ring_write(ring.data(), 32, 19, src.data(), src.size());
  std::vector<uint8_t> out(32);
  ring_read(ring.data(), 32, 19, out.data(), out.size());
  CHECK(out == src);
  CHECK(ring[19] == 7);
  CHECK(ring[18] == uint8_t(7 + 31));
}

TEST_CASE("byte ring: zero-length copy -> nothing written") {
  std::vector<uint8_t> ring(16, 0xee);
  uint8_t byte = 1;
  ring_write(ring.data(), 16, 15, &byte, 0);
  CHECK(ring == std::vector<uint8_t>(16, 0xee));
}

TEST_CASE("byte ring: positions crossing 2^32 -> ring offset continues seamlessly") {
  std::vector<uint8_t> ring(16, 0);
  auto src = counting(12, 1);
  const uint32_t pos = 0xfffffffau;  // offset 10; pos + 12 wraps to 6
  ring_write(ring.data(), 16, pos, src.data(), src.size());
  std::vector<uint8_t> out(12);
  ring_read(ring.data(), 16, pos, out.data(), out.size());
  CHECK(out == src);
  CHECK(ring[10] == 1);
  CHECK(ring[5] == 12);
  uint8_t next = 99;
  ring_write(ring.data(), 16, pos + 12, &next, 1);  // position 6 after the wrap
  CHECK(ring[6] == 99);
}

TEST_CASE("byte ring: stream of uneven chunks across 2^32 -> reader sees the writer's exact stream") {
  constexpr uint32_t kSize = 64;
  std::vector<uint8_t> ring(kSize);
  uint32_t wpos = 0xffffff80u, rpos = wpos;
  uint8_t next_byte = 0, expect_byte = 0;
  uint64_t mismatches = 0;
  // Chunk lengths cycle through 1..kSize so every offset/length split occurs.
  for (uint32_t step = 0; step < 1000; ++step) {
    uint32_t len = 1 + (step * 37) % kSize;
    std::vector<uint8_t> chunk(len);
    for (auto& b : chunk) b = next_byte++;
    ring_write(ring.data(), kSize, wpos, chunk.data(), len);
    wpos += len;
    std::vector<uint8_t> out(len);
    ring_read(ring.data(), kSize, rpos, out.data(), len);
    rpos += len;
    for (uint8_t b : out) mismatches += (b != expect_byte++);
  }
  CHECK(mismatches == 0);
  CHECK(wpos < 0xffffff80u);  // the positions did wrap
}

TEST_CASE("ring_to_ring: rings of different sizes wrapping at different points -> bytes in order") {
  constexpr uint32_t kSrc = 64, kDst = 16;
  std::vector<uint8_t> src(kSrc), dst(kDst);
  uint32_t spos = 0xfffffff0u, dpos = 5;
  uint8_t next_byte = 0, expect_byte = 0;
  uint64_t mismatches = 0;
  for (uint32_t step = 0; step < 500; ++step) {
    uint32_t len = 1 + (step * 11) % kDst;  // never more than the smaller ring
    std::vector<uint8_t> chunk(len);
    for (auto& b : chunk) b = next_byte++;
    ring_write(src.data(), kSrc, spos, chunk.data(), len);
    ring_to_ring(dst.data(), kDst, dpos, src.data(), kSrc, spos, len);
    std::vector<uint8_t> out(len);
    ring_read(dst.data(), kDst, dpos, out.data(), len);
    spos += len;
    dpos += len;
    for (uint8_t b : out) mismatches += (b != expect_byte++);
  }
  CHECK(mismatches == 0);
}

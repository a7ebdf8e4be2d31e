// Copy helpers for a power-of-two byte ring addressed by free-running 32-bit positions.
//
// Positions are byte counts that wrap modulo 2^32; the ring index is position & (size - 1).
// Whoever owns the head/tail positions lives elsewhere (see abi/app_region.hpp); these helpers
// only move bytes in and out across the wrap point.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace virtuoso::shm {

// Copy `len` bytes from `src` into the ring at position `pos`. Requires len <= size.
inline void ring_write(uint8_t* ring, uint32_t size, uint32_t pos, const void* src, size_t len) {
  uint32_t off = pos & (size - 1);
  size_t first = std::min<size_t>(len, size - off);
  std::memcpy(ring + off, src, first);
  std::memcpy(ring, static_cast<const uint8_t*>(src) + first, len - first);
}

// Copy `len` bytes out of the ring starting at position `pos`. Requires len <= size.
inline void ring_read(const uint8_t* ring, uint32_t size, uint32_t pos, void* dst, size_t len) {
  uint32_t off = pos & (size - 1);
  size_t first = std::min<size_t>(len, size - off);
  std::memcpy(dst, ring + off, first);
  std::memcpy(static_cast<uint8_t*>(dst) + first, ring, len - first);
}

// Copy the `len` bytes at position `pos` of ring `src` to the same position of ring `dst` (both
// `size` bytes). Requires len <= size.
inline void ring_copy(uint8_t* dst, const uint8_t* src, uint32_t size, uint32_t pos, size_t len) {
  uint32_t off = pos & (size - 1);
  size_t first = std::min<size_t>(len, size - off);
  std::memcpy(dst + off, src + off, first);
  std::memcpy(dst, src, len - first);
}

// Copy `len` bytes from ring `src` (`src_size` bytes) at position `src_pos` into ring `dst`
// (`dst_size` bytes) at position `dst_pos`: each ring wraps where it wraps. Requires len no larger
// than either ring.
inline void ring_to_ring(uint8_t* dst, uint32_t dst_size, uint32_t dst_pos, const uint8_t* src,
                         uint32_t src_size, uint32_t src_pos, size_t len) {
  while (len > 0) {
    uint32_t d = dst_pos & (dst_size - 1);
    uint32_t s = src_pos & (src_size - 1);
    size_t n = std::min<size_t>({len, dst_size - d, src_size - s});
    std::memcpy(dst + d, src + s, n);
    dst_pos += uint32_t(n);
    src_pos += uint32_t(n);
    len -= n;
  }
}

}  // namespace virtuoso::shm

// The Internet checksum (RFC 1071), incremental, and the TCP/UDP pseudo-header sum.
#pragma once
#include <cstddef>
#include <cstdint>

namespace virtuoso::wire {

// One's-complement sum of `len` bytes added to `sum` (not folded, not inverted).
inline uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t len) {
  uint64_t acc = sum;
  while (len >= 2) {
    acc += uint32_t(p[0] << 8 | p[1]);
    p += 2;
    len -= 2;
  }
  if (len) acc += uint32_t(p[0] << 8);
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return uint32_t(acc);
}

inline uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Sum of the IPv4 pseudo header (addresses in host order).
inline uint32_t pseudo_header_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len) {
  uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
  while (s >> 32) s = (s & 0xffffffff) + (s >> 32);
  return uint32_t(s);
}

// Checksum over a whole buffer: 0 means a received header with its checksum field verifies.
inline uint16_t internet_checksum(const uint8_t* p, size_t len) { return csum_fold(csum_add(0, p, len)); }

}  // namespace virtuoso::wire

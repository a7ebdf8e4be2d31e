// Deterministic pseudo-random byte streams for verifying echoed data, and a running stream checksum.
//
// Byte `o` of the stream with seed `s` is byte (o % 8) (little-endian) of splitmix64(s + o / 8), so
// any range can be generated or checked at any offset without keeping what was sent.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace virtuoso::bench {

constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Seed of request `req` on connection `conn` (request/response mode).
constexpr uint64_t request_seed(uint64_t conn, uint64_t req) {
  return splitmix64(splitmix64(conn + 0x5eed) ^ req);
}
// Seed of the whole byte stream of connection `conn` (bulk mode).
constexpr uint64_t stream_seed(uint64_t conn) { return splitmix64(conn ^ 0xb01cb01cull); }

inline uint8_t pattern_byte(uint64_t seed, uint64_t off) {
  return uint8_t(splitmix64(seed + off / 8) >> (8 * (off % 8)));
}

// Writes bytes [off, off + len) of the stream into `dst`.
inline void fill_pattern(uint64_t seed, uint64_t off, uint8_t* dst, size_t len) {
  while (len && off % 8) {
    *dst++ = pattern_byte(seed, off++);
    --len;
  }
  uint64_t word = off / 8;
  for (; len >= 8; len -= 8, dst += 8) {
    uint64_t w = splitmix64(seed + word++);
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = uint8_t(w >> (8 * i));
    std::memcpy(dst, b, 8);
  }
  for (size_t i = 0; i < len; ++i) dst[i] = pattern_byte(seed, word * 8 + i);
}

// Index of the first byte of `got` that differs from the stream at `off`, or `len` if all match.
// `scratch` holds at least `len` bytes.
inline size_t first_mismatch(uint64_t seed, uint64_t off, const uint8_t* got, size_t len,
                             uint8_t* scratch) {
  fill_pattern(seed, off, scratch, len);
  if (std::memcmp(scratch, got, len) == 0) return len;
  size_t i = 0;
  while (scratch[i] == got[i]) ++i;
  return i;
}

// Order-sensitive 64-bit checksum of a byte stream fed in arbitrary pieces: the bytes are taken
// as little-endian 64-bit words at their stream offsets, so the split does not change the result.
class StreamChecksum {
 public:
  void feed(const uint8_t* p, size_t len) {
    bytes_ += len;
    while (len && fill_) {
      take_byte(*p++);
      --len;
    }
    for (; len >= 8; len -= 8, p += 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    while (len--) take_byte(*p++);
  }
  // Includes a final partial word (zero-padded) and the length, so trailing zeros count.
  uint64_t value() const {
    uint64_t h = h_;
    if (fill_) h = (h ^ partial_) * kPrime;
    return splitmix64(h ^ bytes_);
  }
  uint64_t bytes() const { return bytes_; }

 private:
  static constexpr uint64_t kPrime = 0x100000001b3ull;
  void mix(uint64_t w) {
    h_ = (h_ ^ w) * kPrime;
    h_ ^= h_ >> 29;
  }
  void take_byte(uint8_t b) {
    partial_ |= uint64_t(b) << (8 * fill_);
    if (++fill_ == 8) {
      mix(partial_);
      partial_ = 0;
      fill_ = 0;
    }
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
  uint64_t partial_ = 0;
  unsigned fill_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace virtuoso::bench

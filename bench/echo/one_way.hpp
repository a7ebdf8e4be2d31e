// One-way bulk stream: the pattern every one-way connection sends, and the sink's check against it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/pattern.hpp"

namespace virtuoso::bench {

// The sink cannot tell which client connection it is serving, so unlike the echo bulk mode every
// one-way connection sends the same stream: byte `o` depends only on `o`.
constexpr uint64_t kOneWaySeed = splitmix64(0x0e3a7a11ull);

// Checks a received byte stream, fed in arbitrary pieces, against the one-way pattern from offset 0.
class OneWayVerifier {
 public:
  // Checks the next `len` bytes; `scratch` holds at least `len` bytes.
  void feed(const uint8_t* got, size_t len, uint8_t* scratch) {
    fill_pattern(kOneWaySeed, offset_, scratch, len);
    if (std::memcmp(scratch, got, len) != 0) {
      for (size_t i = 0; i < len; ++i) {
        if (scratch[i] == got[i]) continue;
        if (mismatched_++ == 0) first_mismatch_ = offset_ + i;
      }
    }
    offset_ += len;
  }
  uint64_t bytes() const { return offset_; }
  uint64_t mismatched() const { return mismatched_; }
  // Stream offset of the first differing byte; meaningful only when mismatched() > 0.
  uint64_t first_mismatch() const { return first_mismatch_; }

 private:
  uint64_t offset_ = 0;
  uint64_t mismatched_ = 0;
  uint64_t first_mismatch_ = 0;
};

}  // namespace virtuoso::bench

// TCP sequence numbers: modulo-2^32 arithmetic and comparison (RFC 9293 3.4).
#pragma once
#include <cstdint>

namespace virtuoso::wire {

// a < b in sequence space (valid while the two are less than 2^31 apart).
constexpr bool seq_lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
constexpr bool seq_le(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
constexpr bool seq_ge(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }
// lo <= x < hi
constexpr bool seq_in(uint32_t x, uint32_t lo, uint32_t hi) { return seq_le(lo, x) && seq_lt(x, hi); }
constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
constexpr uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

}  // namespace virtuoso::wire

// Monotonic time in nanoseconds and a busy-wait on it, for latency stamps and simulated work.
#pragma once
#include <cstdint>
#include <ctime>

namespace virtuoso::bench {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// Spins on the clock rather than sleeping: models CPU work a request costs the server.
inline void spin_for_ns(uint64_t ns) {
  uint64_t until = now_ns() + ns;
  while (now_ns() < until) {
  }
}

}  // namespace virtuoso::bench

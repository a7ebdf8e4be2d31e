// An app's SO_MAX_PACING_RATE (FlowSlot::max_pacing_rate, 0: none) applied to a flow's pacing
// rate (0: not paced). The slow path publishes the capped rate for status and TCP_INFO; the fast
// path applies the cap itself too, so a cap holds from the next segment, not from the next tick.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::util {

inline uint64_t cap_pacing_rate(uint64_t rate, uint64_t app_cap) {
  if (app_cap == 0) return rate;
  return rate == 0 ? app_cap : std::min(rate, app_cap);
}

}  // namespace virtuoso::util

// The rate a flow is paced at, from its congestion window and round trip (as Linux's
// tcp_update_pacing_rate): the window per smoothed round trip, times 2 while the window is below
// half the slow-start threshold (it doubles each round trip) and 1.2 after, so that pacing spreads
// a window over the round trip without holding the flow below what its window allows.
#pragma once
#include <algorithm>
#include <cstdint>

#include "virtuoso/util/pacing_cap.hpp"

namespace virtuoso::slowpath {

inline constexpr uint64_t kPacingSlowStartPercent = 200;  // Linux's tcp_pacing_ss_ratio
inline constexpr uint64_t kPacingAvoidancePercent = 120;  // Linux's tcp_pacing_ca_ratio

// Payload bytes a second; 0 (not paced) without a round-trip sample or a window.
inline uint64_t pacing_rate(uint32_t cwnd, uint32_t ssthresh, uint32_t srtt_us) {
  if (srtt_us == 0 || cwnd == 0) return 0;
  uint64_t percent = cwnd < ssthresh / 2 ? kPacingSlowStartPercent : kPacingAvoidancePercent;
  return std::max<uint64_t>(uint64_t{cwnd} * 1'000'000 * percent / 100 / srtt_us, 1);
}

using util::cap_pacing_rate;  // the app's SO_MAX_PACING_RATE on top (virtuoso/util/pacing_cap.hpp)

}  // namespace virtuoso::slowpath

// RFC 6298 round-trip estimation: SRTT and RTTVAR from samples, and the retransmission timeout.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::fastpath {

class RttEstimator {
 public:
  // The slow path's timer ticks every 10 ms: the clock granularity G of RFC 6298 2.
  static constexpr uint32_t kGranularityUs = 10'000;

  void sample(uint32_t r_us) {
    last_us_ = r_us;
    if (srtt_us_ == 0) {  // 2.2: the first measurement
      srtt_us_ = std::max<uint32_t>(r_us, 1);
      rttvar_us_ = r_us / 2;
      return;
    }
    // 2.3 with alpha = 1/8, beta = 1/4.
    uint32_t err = r_us > srtt_us_ ? r_us - srtt_us_ : srtt_us_ - r_us;
    rttvar_us_ = rttvar_us_ - rttvar_us_ / 4 + err / 4;
    srtt_us_ = std::max<uint32_t>(srtt_us_ - srtt_us_ / 8 + r_us / 8, 1);
  }

  bool has_sample() const { return srtt_us_ != 0; }
  uint32_t srtt_us() const { return srtt_us_; }
  uint32_t rttvar_us() const { return rttvar_us_; }
  uint32_t last_us() const { return last_us_; }  // the newest sample
  // RTO = SRTT + max(G, 4 * RTTVAR); the slow path clamps it to its minimum and maximum.
  uint32_t rto_us() const { return srtt_us_ + std::max<uint32_t>(kGranularityUs, 4 * rttvar_us_); }

 private:
  uint32_t srtt_us_ = 0;
  uint32_t rttvar_us_ = 0;
  uint32_t last_us_ = 0;
};

}  // namespace virtuoso::fastpath

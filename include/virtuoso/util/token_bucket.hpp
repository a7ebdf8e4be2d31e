// A token bucket on a microsecond clock: `rate` tokens a second, at most `burst` saved up. Pure
// logic (the caller passes the time), no allocation; used to rate-limit the ICMP the stack sends.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::util {

class TokenBucket {
 public:
  // Starts full (rate 0: the burst, then nothing).
  TokenBucket(uint32_t rate_per_s, uint32_t burst)
      : rate_(rate_per_s), cap_(uint64_t{burst} * kUnit), credit_(cap_) {}

  // Takes a token if one is there at `now_us` (which never goes backwards for one bucket).
  bool take(uint64_t now_us) {
    if (started_) credit_ = std::min(cap_, credit_ + (now_us - last_us_) * rate_);
    started_ = true;
    last_us_ = now_us;
    if (credit_ < kUnit) return false;
    credit_ -= kUnit;
    return true;
  }

 private:
  static constexpr uint64_t kUnit = 1'000'000;  // credit per token: a token per second per rate unit
  uint64_t rate_;
  uint64_t cap_;
  uint64_t credit_;
  uint64_t last_us_ = 0;
  bool started_ = false;
};

// Linux's defaults for the ICMP it sends (net.ipv4.icmp_msgs_per_sec, icmp_msgs_burst).
inline constexpr uint32_t kIcmpRatePerS = 1000;
inline constexpr uint32_t kIcmpBurst = 50;

}  // namespace virtuoso::util

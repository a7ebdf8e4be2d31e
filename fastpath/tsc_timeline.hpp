// Microseconds from time-stamp counter readings, kept in step with a reference clock
// (CLOCK_MONOTONIC in the fast path; a test's own in unit tests).
//
// The rate EAL estimates at start-up can be off by a fraction of a percent on a VM: taken as exact,
// the clock runs that much fast or slow between re-anchors (measured: a 10 ms delay line let a ping
// through in 9.937 ms), and pacing rates, round-trip samples and emulated delays all carry the
// error. So each re-anchor (every 100 ms) also measures the rate over the interval just ended and
// moves the conversion a quarter of the way towards it (a reading delayed by preemption skews one
// interval; the estimate is also kept within 5% of EAL's). The clock never goes backwards.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::fastpath {

class TscTimeline {
 public:
  static constexpr uint64_t kResyncUs = 100'000;

  // `hz`: the estimated TSC rate; `tsc` and `ref_us`: a pair of readings taken together.
  TscTimeline(uint64_t hz, uint64_t tsc, uint64_t ref_us)
      : nominal_(1e6 / double(hz)), us_per_tick_(nominal_), anchor_tsc_(tsc), anchor_us_(ref_us),
        anchor_ref_us_(ref_us), last_us_(ref_us) {}

  // The time at counter reading `tsc`; `ref()` reads the reference clock, only at a re-anchor.
  template <typename Ref>
  uint64_t now_us(uint64_t tsc, Ref ref) {
    uint64_t d = tsc - anchor_tsc_;
    uint64_t t = anchor_us_ + uint64_t(double(d) * us_per_tick_);
    if (t - anchor_us_ >= kResyncUs) {
      uint64_t ref_us = ref();
      if (ref_us > anchor_ref_us_ && d > 0) {
        double measured = double(ref_us - anchor_ref_us_) / double(d);
        measured = std::clamp(measured, nominal_ * 0.95, nominal_ * 1.05);
        us_per_tick_ += (measured - us_per_tick_) / 4;
      }
      anchor_tsc_ = tsc;
      anchor_ref_us_ = ref_us;
      anchor_us_ = std::max(ref_us, last_us_);
      t = anchor_us_;
    }
    last_us_ = std::max(t, last_us_);
    return last_us_;
  }

  double us_per_tick() const { return us_per_tick_; }

 private:
  double nominal_;      // from the estimated rate
  double us_per_tick_;  // in use: the estimate corrected by what the re-anchors measured
  uint64_t anchor_tsc_;
  uint64_t anchor_us_;      // the time this clock gave at the anchor
  uint64_t anchor_ref_us_;  // the reference clock's reading at the anchor
  uint64_t last_us_;
};

}  // namespace virtuoso::fastpath

// The fast path's real clock and cycle counter, both read from the CPU's time-stamp counter.
//
// The loop reads the time every iteration; clock_gettime costs a vDSO call each time (measured at
// 9% of a bulk transfer's fast-path cycles), a TSC read a few cycles. The slow path stamps its own
// segments from CLOCK_MONOTONIC, so both must agree (TCP timestamps): the TSC is re-anchored to
// CLOCK_MONOTONIC every 100 ms and its rate corrected by what each interval measured
// (tsc_timeline.hpp), which keeps the two within microseconds of each other.
#pragma once
#include <rte_cycles.h>

#include <ctime>

#include "clock.hpp"
#include "cycle_counter.hpp"
#include "tsc_timeline.hpp"

namespace virtuoso::fastpath {

class TscClock final : public Clock {
 public:
  TscClock() : hz_(rte_get_tsc_hz()), line_(hz_ >= 1'000'000 ? hz_ : 1'000'000, rte_rdtsc(), monotonic_us()) {
    if (hz_ < 1'000'000) hz_ = 0;  // no usable TSC rate: fall back to clock_gettime every time
  }

  uint64_t now_us() const override {
    if (hz_ == 0) return monotonic_us();
    return line_.now_us(rte_rdtsc(), [] { return monotonic_us(); });
  }

 private:
  static uint64_t monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
  }

  uint64_t hz_;
  mutable TscTimeline line_;
};

// Plain TSC reads (rdtsc, no fence: a few dozen cycles) for the loop's phase accounting, with
// the rate EAL measured at start-up.
class TscCycles final : public CycleCounter {
 public:
  TscCycles() : hz_(rte_get_tsc_hz()) {}
  uint64_t now() const override { return rte_rdtsc(); }
  uint64_t hz() const override { return hz_; }

 private:
  uint64_t hz_;
};

}  // namespace virtuoso::fastpath

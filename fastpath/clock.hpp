// Time as the fast path sees it: a monotonic microsecond clock, the real one or a test's own.
//
// The datapath reads it once per loop iteration (timestamps, RTT samples, delayed ACKs) and the
// fault injector reads it for reordering delays, so tests drive both with a fake clock.
#pragma once
#include <chrono>
#include <cstdint>

namespace virtuoso::fastpath {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_us() const = 0;
};

class SteadyClock final : public Clock {
 public:
  uint64_t now_us() const override {
    return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
  }
};

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_us = 1'000'000) : now_(start_us) {}
  uint64_t now_us() const override { return now_; }
  void advance_us(uint64_t d) { now_ += d; }
  void set_us(uint64_t t) { now_ = t; }

 private:
  uint64_t now_;
};

}  // namespace virtuoso::fastpath

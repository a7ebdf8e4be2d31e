// Cycle counts as the fast path sees them: the CPU's time-stamp counter, or a test's scripted one.
//
// The datapath reads the counter at each phase boundary of its loop and charges the cycles in
// between to that phase (abi::FpCycles). The real counter is TscCycles (tsc_clock.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace virtuoso::fastpath {

class CycleCounter {
 public:
  virtual ~CycleCounter() = default;
  virtual uint64_t now() const = 0;
  // Counts per second; 0 if unknown.
  virtual uint64_t hz() const = 0;
};

// A counter that moves by a script (tests): each read returns the current count, then moves it
// by the next scripted step, or by `step` once the script is used up.
class ScriptedCycles final : public CycleCounter {
 public:
  explicit ScriptedCycles(uint64_t step = 0, uint64_t hz = 1'000'000'000) : step_(step), hz_(hz) {}
  uint64_t now() const override {
    uint64_t t = now_;
    now_ += next_ < script_.size() ? script_[next_++] : step_;
    return t;
  }
  uint64_t hz() const override { return hz_; }
  // The next reads move the counter by these steps, in order.
  void script(std::vector<uint64_t> steps) {
    script_ = std::move(steps);
    next_ = 0;
  }
  void set_step(uint64_t step) { step_ = step; }
  uint64_t reads_scripted() const { return next_; }

 private:
  uint64_t step_;
  uint64_t hz_;
  mutable uint64_t now_ = 0;
  mutable size_t next_ = 0;
  std::vector<uint64_t> script_;
};

}  // namespace virtuoso::fastpath

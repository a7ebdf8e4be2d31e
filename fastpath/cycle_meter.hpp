// Charges the fast path's cycles to the account whose work the loop is doing: the counter is read
// when the account changes (and at the loop's phase boundaries), never per item of one account,
// so a run of one tenant's frames costs no extra reads.
#pragma once
#include <cstdint>

#include "virtuoso/util/budgets.hpp"
#include "cycle_counter.hpp"

namespace virtuoso::fastpath {

using util::Budgets;

class CycleMeter {
 public:
  CycleMeter(const CycleCounter& cycles, Budgets& budgets) : cycles_(cycles), budgets_(budgets) {}

  // The loop starts at `now`: what ran before (sleep, the caller's own work) is no one's, and
  // polling is the host's until an item of some account is found.
  void resume(uint64_t now) {
    last_ = now;
    current_ = Budgets::kHost;
  }

  // A phase boundary read by the loop at `now`: what ran since the last read was `current()`'s.
  void mark(uint64_t now) {
    budgets_.charge(current_, now - last_);
    last_ = now;
  }

  // The cycles since the last read, charged to no one yet (the caller shares them out with
  // charge); from `now` on, time is the host's until the next switch.
  uint64_t take(uint64_t now) {
    uint64_t c = now - last_;
    last_ = now;
    current_ = Budgets::kHost;
    return c;
  }
  void charge(uint32_t acct, uint64_t cycles) { budgets_.charge(acct, cycles); }

  // Work for `acct` begins: the cycles so far were the previous account's.
  void switch_to(uint32_t acct) {
    if (acct == current_) return;
    mark(cycles_.now());
    current_ = acct;
  }

  uint32_t current() const { return current_; }

 private:
  const CycleCounter& cycles_;
  Budgets& budgets_;
  uint64_t last_ = 0;
  uint32_t current_ = Budgets::kHost;
};

}  // namespace virtuoso::fastpath

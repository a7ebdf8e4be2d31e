// When an account (a tenant, or the host) runs out of its fast-path CPU budget and when it is back
// within it, from the counters the fast path publishes, sampled once a second: one log line per
// change, so an account held at its budget for an hour is two lines, not a flood.
// Pure bookkeeping; the daemon samples and writes the lines.
#pragma once
#include <cstdint>
#include <vector>

#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::slowpath {

class BudgetWatch {
 public:
  // What the budget held back in a sample's interval.
  struct Held {
    uint64_t deferred_rx = 0;   // frames parked
    uint64_t dropped_rx = 0;    // frames dropped from a full backlog
    uint64_t deferred_tx = 0;   // flows whose transmission waited for a refill
    uint64_t deferred_apps = 0; // loops whose app queues waited
    bool any() const { return deferred_rx || dropped_rx || deferred_tx || deferred_apps; }
  };
  struct Change {
    uint32_t account;
    bool over;  // true: it ran out of budget in the interval; false: nothing was held back any more
    Held held;  // in the interval
  };

  // `accounts`: the fast path's account counters now (index 0: the host's). Returns the accounts
  // whose state changed since the previous sample; the first sample only sets the baseline.
  std::vector<Change> sample(const abi::BudgetAccount* accounts, uint32_t n) {
    std::vector<Change> out;
    if (last_.size() != n) {
      last_.assign(accounts, accounts + n);
      over_.assign(n, false);
      return out;
    }
    for (uint32_t i = 0; i < n; ++i) {
      const abi::BudgetAccount& a = accounts[i];
      const abi::BudgetAccount& b = last_[i];
      Held h{grown(b.deferred_rx, a.deferred_rx), grown(b.dropped_rx, a.dropped_rx),
             grown(b.deferred_tx, a.deferred_tx), grown(b.deferred_apps, a.deferred_apps)};
      if (h.any() != over_[i]) {
        over_[i] = h.any();
        out.push_back({i, h.any(), h});
      }
      last_[i] = a;
    }
    return out;
  }

 private:
  static uint64_t grown(uint64_t before, uint64_t now) { return now >= before ? now - before : 0; }

  std::vector<abi::BudgetAccount> last_;
  std::vector<bool> over_;
};

}  // namespace virtuoso::slowpath

// Per-tenant CPU-time budgets: shares by weight and the periodic refill.
#include "budgets.hpp"

#include <algorithm>

namespace virtuoso::fastpath {

void Budgets::configure(const Settings& s, const uint32_t (&weights)[kAccounts]) {
  settings_ = s;
  settings_.period_cycles = std::max<uint64_t>(s.period_cycles, 1);
  settings_.burst_periods = std::max<uint32_t>(s.burst_periods, 1);
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  for (size_t i = 0; i < kAccounts; ++i) {
    Account& a = accounts_[i];
    bool is_new = a.weight == 0;
    a.weight = weights[i];
    if (a.weight == 0 || total == 0) {
      a.share = a.cap = a.budget = 0;
      continue;
    }
    // At least one cycle, so that a tiny weight still gets to run once in a while.
    a.share = std::max<int64_t>(int64_t(settings_.period_cycles * a.weight / total), 1);
    a.cap = a.share * settings_.burst_periods;
    a.budget = is_new ? a.cap : std::clamp(a.budget, -a.cap, a.cap);
  }
}

uint64_t Budgets::refill(uint64_t now) {
  if (!started_) {
    started_ = true;
    last_refill_ = now;
    return 0;
  }
  if (now - last_refill_ < settings_.period_cycles) return 0;
  uint64_t periods = (now - last_refill_) / settings_.period_cycles;
  last_refill_ += periods * settings_.period_cycles;
  // Past the cap (and the floor's depth) more periods change nothing.
  int64_t n = int64_t(std::min<uint64_t>(periods, 2ull * settings_.burst_periods));
  uint64_t vmax = 0, weights = 0;
  for (Account& a : accounts_) {
    if (!a.weight) continue;
    a.budget = std::min(a.budget + a.share * n, a.cap);
    vmax = std::max(vmax, a.vtime);
    weights += a.weight;
  }
  // An account idle for a while comes back at most `burst_periods` of the core behind the one
  // furthest ahead, not with all the time it did not use to spend at once.
  uint64_t lag = settings_.burst_periods * settings_.period_cycles * kVtimeScale / std::max<uint64_t>(weights, 1);
  for (Account& a : accounts_)
    if (a.weight && a.vtime + lag < vmax) a.vtime = vmax - lag;
  return periods;
}

}  // namespace virtuoso::fastpath

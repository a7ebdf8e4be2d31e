// Per-tenant CPU-time budgets of one core: refill by weight, charging, who runs next.
//
// Pure logic on counts of time (no clock of its own, no shared memory): the fast path charges the
// TSC cycles each stage spent for an account, the slow path nanoseconds, and each asks whether
// an account may run. Every period each
// account gains its weight's share of the period's cycles, up to a cap of `burst_periods` shares;
// charging takes cycles away, down to a floor of minus the cap, so an account that ran on spare
// time is not starved for long once others want their share back.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::util {

class Budgets {
 public:
  static constexpr size_t kAccounts = abi::kMaxTenants + 1;  // [tenant id], 0: the host's
  static constexpr uint32_t kHost = 0;

  struct Settings {
    bool enforce = true;
    uint64_t period_cycles = 230'000;  // 100 us at 2.3 GHz
    uint32_t burst_periods = 4;
  };

  // Weights [tenant id]; 0: no such account. Shares are recomputed, budgets kept within the new
  // caps; an account new to this call starts full.
  void configure(const Settings& s, const uint32_t (&weights)[kAccounts]);

  // Adds every elapsed period's share to each account (at most up to its cap). The first call
  // only starts the clock. Returns the number of periods elapsed.
  uint64_t refill(uint64_t now);

  // Takes `cycles` away from `acct`'s budget (floored at minus its cap) and adds them to its use.
  void charge(uint32_t acct, uint64_t cycles) {
    Account& a = accounts_[acct];
    a.used += cycles;
    if (a.budget <= 0) a.spare += cycles;
    a.budget -= int64_t(cycles);
    if (a.budget < -a.cap) a.budget = -a.cap;
    if (a.weight) a.vtime += cycles * kVtimeScale / a.weight;
  }

  // May `acct`'s work run now rather than wait for a refill? Always, when not enforcing.
  bool funded(uint32_t acct) const { return !settings_.enforce || accounts_[acct].budget > 0; }
  bool enforcing() const { return settings_.enforce; }

  // Of two accounts with work, whether `a` should run before `b`: one with budget before one
  // without, then the one that used less per unit of weight (weighted fair queueing on virtual
  // time: accounts that keep having work get the core in the ratio of their weights, also on
  // spare time when none has budget).
  bool ahead(uint32_t a, uint32_t b) const {
    const Account& x = accounts_[a];
    const Account& y = accounts_[b];
    bool fx = x.budget > 0, fy = y.budget > 0;
    if (fx != fy) return fx;
    return x.vtime < y.vtime;
  }

  int64_t budget(uint32_t acct) const { return accounts_[acct].budget; }
  int64_t share(uint32_t acct) const { return accounts_[acct].share; }
  int64_t cap(uint32_t acct) const { return accounts_[acct].cap; }
  uint64_t used(uint32_t acct) const { return accounts_[acct].used; }
  uint64_t spare(uint32_t acct) const { return accounts_[acct].spare; }
  uint32_t weight(uint32_t acct) const { return accounts_[acct].weight; }
  const Settings& settings() const { return settings_; }

 private:
  struct Account {
    uint32_t weight = 0;
    int64_t share = 0;   // cycles gained per period
    int64_t cap = 0;     // most cycles it can hold
    int64_t budget = 0;  // cycles it may still spend
    uint64_t used = 0;   // cycles charged, ever
    uint64_t spare = 0;  // of those, charged while its budget was spent
    uint64_t vtime = 0;  // cycles used * kVtimeScale / weight, kept within a lag of the furthest
  };
  static constexpr uint64_t kVtimeScale = 1024;
  Settings settings_;
  std::array<Account, kAccounts> accounts_{};
  uint64_t last_refill_ = 0;
  bool started_ = false;
};

inline void Budgets::configure(const Settings& s, const uint32_t (&weights)[kAccounts]) {
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

inline uint64_t Budgets::refill(uint64_t now) {
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

}  // namespace virtuoso::util

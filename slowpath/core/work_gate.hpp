// Time protection in the slow path: each tenant's share of the slow path's time, and holding back
// the work of a tenant out of budget (its punted frames parked, its apps' requests left unread)
// while another tenant with budget has work. Pure logic on nanoseconds, unit-tested without a
// daemon; the daemon's loop asks it before each piece of work and tells it what the work took.
#pragma once
#include <cstdint>
#include <deque>
#include <vector>

#include "virtuoso/abi/control_region.hpp"
#include "virtuoso/util/budgets.hpp"

namespace virtuoso::slowpath {

class WorkGate {
 public:
  static constexpr size_t kAccounts = util::Budgets::kAccounts;

  struct Settings {
    bool enforce = false;
    uint64_t period_ns = 1'000'000;
    uint32_t burst_periods = 4;
    uint32_t backlog_frames = 256;  // punted frames parked per tenant
  };
  // What the gate did to one account's work, for status.
  struct Counts {
    uint64_t deferred_frames = 0;    // punted frames parked for want of budget
    uint64_t dropped_frames = 0;     // punted frames dropped: its parked frames were at the bound
    uint64_t deferred_requests = 0;  // times an app's requests were left unread for want of budget
  };

  // Weights [tenant id]; 0: no such account (work classified there is the host's).
  void configure(const Settings& s, const uint32_t (&weights)[kAccounts]);

  // One pass of the daemon's loop begins at `now_ns`: refill, and no funded work done yet.
  void begin_round(uint64_t now_ns) {
    budgets_.refill(now_ns);
    funded_work_ = 0;
  }

  enum class Admit { kNow, kParked, kDropped };
  // A punted frame of `acct`: handle it now, or it was parked (a copy kept) or dropped.
  Admit admit_frame(uint32_t acct, const abi::PacketSlot& slot);
  // The next parked frame that may run now: of an account with budget, or on spare time (no
  // account with budget had work in this round), the furthest behind its share first.
  bool next_parked(uint32_t& acct, abi::PacketSlot& out);
  bool has_parked() const { return parked_total_ != 0; }

  // May an app request of `acct` run now? If not, counted as deferred.
  bool admit_request(uint32_t acct);

  // Work for `acct` took `ns`.
  void done(uint32_t acct, uint64_t ns) {
    if (budgets_.budget(acct) > 0) ++funded_work_;
    budgets_.charge(acct, ns);
  }

  uint32_t account(uint32_t tenant) const { return tenant < kAccounts && budgets_.weight(tenant) ? tenant : 0; }
  bool enforcing() const { return budgets_.enforcing(); }
  const util::Budgets& budgets() const { return budgets_; }
  const Counts& counts(uint32_t acct) const { return counts_[acct]; }
  size_t parked(uint32_t acct) const { return parked_[acct].size(); }

 private:
  bool may_run(uint32_t acct) const { return budgets_.funded(acct) || funded_work_ == 0; }

  util::Budgets budgets_;
  uint32_t backlog_frames_ = 0;
  uint32_t funded_work_ = 0;
  std::vector<std::deque<abi::PacketSlot>> parked_ = std::vector<std::deque<abi::PacketSlot>>(kAccounts);
  std::vector<Counts> counts_ = std::vector<Counts>(kAccounts);
  size_t parked_total_ = 0;
};

}  // namespace virtuoso::slowpath

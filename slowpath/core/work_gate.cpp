// The slow path's work gate: parking punted frames and admitting app requests by budget.
#include "work_gate.hpp"

namespace virtuoso::slowpath {

void WorkGate::configure(const Settings& s, const uint32_t (&weights)[kAccounts]) {
  budgets_.configure({s.enforce, s.period_ns, s.burst_periods}, weights);
  backlog_frames_ = s.backlog_frames;
}

WorkGate::Admit WorkGate::admit_frame(uint32_t acct, const abi::PacketSlot& slot) {
  auto& q = parked_[acct];
  if (q.empty() && may_run(acct)) return Admit::kNow;
  if (q.size() >= backlog_frames_) {
    ++counts_[acct].dropped_frames;
    return Admit::kDropped;
  }
  q.push_back(slot);  // behind the account's earlier frames, in order
  ++parked_total_;
  ++counts_[acct].deferred_frames;
  return Admit::kParked;
}

bool WorkGate::next_parked(uint32_t& acct, abi::PacketSlot& out) {
  if (parked_total_ == 0) return false;
  bool found = false;
  uint32_t best = 0;
  for (uint32_t i = 0; i < kAccounts; ++i)
    if (!parked_[i].empty() && (!found || budgets_.ahead(i, best))) {
      best = i;
      found = true;
    }
  if (!found || !may_run(best)) return false;
  acct = best;
  out = parked_[best].front();
  parked_[best].pop_front();
  --parked_total_;
  return true;
}

bool WorkGate::admit_request(uint32_t acct) {
  if (may_run(acct)) return true;
  ++counts_[acct].deferred_requests;
  return false;
}

}  // namespace virtuoso::slowpath

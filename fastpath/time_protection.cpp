// Time protection in the loop: whose work each frame, queue and flow is, parking the received
// frames of a tenant out of budget, serving the parked frames, the refill and its publication.
//
// A frame's account is known before it costs anything: the VNI of a VXLAN frame names its tenant
// (wire::peek_vni); everything else, the host's own flows, ARP, ICMP and junk, is the host's. The
// port's read of a burst is shared out among the burst's frames' accounts. The cycle meter reads
// the counter only where the account changes, so one tenant's run of frames costs one more read
// per burst, not one per frame.
#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::fastpath {

namespace {

// Parked frames served in one loop. On spare time (no account with budget had work in this
// loop) as many, unless the port still holds frames: then frames of a tenant with budget may be
// among them, unseen, so accounts without budget get only a few before the port is read again.
constexpr uint32_t kServe = 64;
constexpr uint32_t kSpareUnderPressure = 8;
// Bursts read from the port in one loop while parking: reading (and parking or dropping the
// frames of tenants out of budget) is cheap next to processing them, and it is how a tenant's
// frames behind a flood get seen.
constexpr uint32_t kEnforcingBursts = 8;

}  // namespace

uint32_t Datapath::account_of_tenant(uint32_t tenant) {
  return tenant < Budgets::kAccounts ? tenant : Budgets::kHost;
}

uint32_t Datapath::account_of_frame(const uint8_t* data, uint16_t len) const {
  uint32_t vni = wire::peek_vni(data, len);
  return vni == 0 ? Budgets::kHost : account_of_tenant(ctrl_.header()->tenants.tenant_of(vni));
}

uint32_t Datapath::account_of_flow(uint32_t flow_id) const {
  return flow_id < priv_.size() ? account_of_tenant(priv_[flow_id].tenant) : Budgets::kHost;
}

uint32_t Datapath::account_of_command(const abi::FpCommand& cmd) const {
  // Attaching an app is the host's work; an install is the tenant's the slow path wrote in the
  // entry (the flow is not ours yet, so not in priv_); the rest, the flow's.
  if (cmd.kind == uint16_t(abi::FpCommandKind::kAttachCtx)) return Budgets::kHost;
  if (cmd.kind == uint16_t(abi::FpCommandKind::kInstall))
    return cmd.flow < priv_.size() ? account_of_tenant(ctrl_.flow(cmd.flow)->tenant) : Budgets::kHost;
  return account_of_flow(cmd.flow);
}

// The port's frames of this loop, then the parked frames that may run.
uint32_t Datapath::rx_stage() {
  uint32_t frames = 0;
  uint32_t bursts = budgets_.enforcing() ? kEnforcingBursts : 1;
  auto max = uint16_t(rx_frames_.size());
  bool full = false;
  for (uint32_t b = 0; b < bursts; ++b) {
    meter_.switch_to(Budgets::kHost);  // polling an empty port is the host's
    uint16_t n = port_.rx_burst(rx_frames_.data(), max);
    full = n == max;
    if (n == 0) break;
    // Whose each frame is, before anyone pays for it; then the burst's read is shared out among
    // its frames' accounts, as it was spent before they were known.
    bool all_host = true;
    for (uint16_t i = 0; i < n; ++i) {
      rx_accounts_[i] = account_of_frame(rx_frames_[i].data, rx_frames_[i].len);
      all_host &= rx_accounts_[i] == Budgets::kHost;
    }
    if (!all_host) {  // else the meter runs on as the host's, without a read
      uint64_t read = meter_.take(cycles_.now());
      for (uint16_t i = 0; i < n; ++i) meter_.charge(rx_accounts_[i], read / n + (i == 0 ? read % n : 0));
    }
    for (uint16_t i = 0; i < n; ++i) {
      Frame& fr = rx_frames_[i];
      ++stats_->rx_frames;
      stats_->rx_bytes += fr.len;
      rx_stage_frame(fr, rx_accounts_[i]);
    }
    frames += n;
    if (!full) break;
  }
  rx_pressure_ = full;
  if (!backlog_.waiting().empty()) frames += serve_backlogs();
  return frames;
}

// One received frame: processed now, or parked behind its account's earlier frames, or, with
// the account out of budget, parked until a refill (dropped and counted when the backlog is full).
void Datapath::rx_stage_frame(Frame& fr, uint32_t acct) {
  meter_.switch_to(acct);
  if (!backlog_.empty(acct) || (budgets_.enforcing() && !budgets_.funded(acct))) {
    abi::BudgetAccount& a = budget_accounts_[acct];
    if (backlog_.push(acct, fr)) {
      ++a.deferred_rx;
    } else {
      ++a.dropped_rx;
      port_.free(fr);
    }
    return;
  }
  note_work(acct);
  receive_frame(fr.data, fr.len);
  port_.free(fr);
}

// Parked frames, the account furthest behind its share first: accounts with budget until their
// backlogs are empty, then, only if no account with budget had work in this loop, accounts
// without (work conservation: a lone tenant gets the whole core).
uint32_t Datapath::serve_backlogs() {
  uint32_t served = 0, spare = 0;
  uint32_t spare_max = rx_pressure_ ? kSpareUnderPressure : kServe;
  while (!backlog_.waiting().empty() && served < kServe) {
    const std::vector<uint32_t>& w = backlog_.waiting();
    uint32_t best = w[0];
    for (size_t i = 1; i < w.size(); ++i)
      if (budgets_.ahead(w[i], best)) best = w[i];
    if (!budgets_.funded(best)) {
      if (funded_work_ != 0 || spare == spare_max) break;
      ++spare;
    }
    meter_.switch_to(best);
    note_work(best);
    Frame fr = backlog_.pop(best);
    receive_frame(fr.data, fr.len);
    port_.free(fr);
    ++served;
  }
  return served;
}

void Datapath::read_budget_settings() {
  const abi::BudgetSettings& s = ctrl_.header()->budget_settings;
  budget_generation_ = shm::load_acquire(s.generation);
  uint64_t hz = cycles_.hz() ? cycles_.hz() : 1'000'000'000;
  Budgets::Settings b;
  b.enforce = shm::load_relaxed(s.enforce) != 0;
  budget_ecn_ = shm::load_relaxed(s.ecn) != 0;
  uint32_t period_us = shm::load_relaxed(s.period_us);
  b.period_cycles = (period_us ? period_us : 100) * hz / 1'000'000;
  b.burst_periods = shm::load_relaxed(s.burst_periods);
  uint32_t weights[Budgets::kAccounts] = {};
  published_accounts_ = 0;
  for (uint32_t i = 0; i < Budgets::kAccounts; ++i) {
    weights[i] = shm::load_relaxed(s.weight[i]);
    if (weights[i]) published_accounts_ = i + 1;
  }
  budgets_.configure(b, weights);
  shm::store_release(stats_->budget_generation, uint64_t{budget_generation_});
  // Frames parked under enforcement keep their order and are served as budget allows; turning
  // enforcement off only stops parking more.
}

// Once per period: new settings if the slow path changed them, the refill, and what the
// accounts look like for status.
void Datapath::refill_budgets(uint64_t now) {
  if (shm::load_relaxed(ctrl_.header()->budget_settings.generation) != budget_generation_)
    read_budget_settings();
  budgets_.refill(now);
  next_refill_ = now + budgets_.settings().period_cycles;
  publish_budgets();
}

void Datapath::publish_budgets() {
  for (uint32_t i = 0; i < published_accounts_; ++i) {  // the others are never charged
    abi::BudgetAccount& a = budget_accounts_[i];
    shm::store_relaxed(a.cycles, budgets_.used(i));
    shm::store_relaxed(a.spare_cycles, budgets_.spare(i));
    shm::store_relaxed(a.budget, budgets_.budget(i));
    shm::store_relaxed(a.backlog, backlog_.size(i));
  }
}

}  // namespace virtuoso::fastpath

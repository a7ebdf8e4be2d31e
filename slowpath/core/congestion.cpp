// Control plane: congestion control. Each tick turns the fast path's counters (bytes acknowledged,
// recoveries entered, ECE echoes and round trips since the last tick) into a CUBIC, Reno or DCTCP
// window (the tenant's choice, else [tcp]'s) and publishes it in FlowEntry::cwnd for the fast path
// to enforce. Timeouts come from our own retransmission timer.
//
// A flow under congestion control that negotiated ECN sends its new data ECT(0) (RFC 3168 6.1.1)
// and answers echoes: Reno and CUBIC take a round trip with ECE as a loss (6.1.2), DCTCP in
// proportion to the marks.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "control_plane.hpp"
#include "pacing_rate.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;
using shm::store_relaxed;

config::CongestionAlgo ControlPlane::congestion_algo_of(uint16_t ctx, std::optional<uint16_t> listening_port) const {
  const config::TenantConfig* t = tenant(context_tenant(ctx));
  if (listening_port) {
    const config::CongestionByPort& ports = t ? t->congestion_by_port : s_.congestion_by_port;
    if (auto it = ports.find(*listening_port); it != ports.end()) return it->second;
  }
  if (t && t->congestion_control) return *t->congestion_control;
  return s_.congestion_control;
}

void ControlPlane::write_congestion_name(char (&out)[abi::kCongestionNameMax], config::CongestionAlgo algo) {
  std::string_view name = config::congestion_algo_name(algo);
  std::memset(out, 0, sizeof out);
  std::memcpy(out, name.data(), std::min(name.size(), sizeof out - 1));
}

// The window and threshold in the app's slot, for TCP_INFO (the app may scribble them: its own).
void ControlPlane::publish_congestion(const Conn& c) {
  abi::FlowSlot* fs = live_slot(c);
  if (fs == nullptr) return;
  store_relaxed(fs->snd_cwnd, c.cc_on ? c.cc.cwnd() : 0u);
  store_relaxed(fs->snd_ssthresh, c.cc_on ? c.cc.ssthresh() : UINT32_MAX);
}

abi::FlowSlot* ControlPlane::live_slot(const Conn& c) {
  if (c.ctx >= ctxs_.size()) return nullptr;
  Context& x = ctxs_[c.ctx];
  if (x.state != CtxState::kAttached || x.view.base == nullptr || c.slot >= x.view.layout.n_slots) return nullptr;
  return x.view.slot(c.slot);
}

void ControlPlane::start_congestion_control(uint32_t flow, Conn& c, bool passive) {
  abi::FlowEntry& e = *ctrl_.flow(flow);
  config::CongestionAlgo algo = congestion_algo_of(c.ctx, passive ? std::optional(c.tuple.local_port) : std::nullopt);
  // A flow to our own address never leaves the host: nothing to be congested.
  c.cc_on = algo != config::CongestionAlgo::kNone && c.tuple.remote_ip != c.tuple.local_ip;
  c.cc = CongestionWindow(algo, c.mss);
  c.cc_acked = 0;
  c.cc_recoveries = 0;
  c.cc_ece_bytes = 0;
  c.cc_rounds = 0;
  c.cc_ece_rounds = 0;
  c.cc_cwnd_limited = 0;
  c.cc_rtt_rounds = 0;
  c.cc_last_cut = 0;
  c.cc_spurious = 0;
  c.cc_cut_undoable = false;
  c.cc_last_tick = 0;
  // Still ours: kInstall is not pushed yet.
  e.cwnd = c.cc_on ? c.cc.cwnd() : 0;
  e.loss_beta = c.cc_on ? c.cc.loss_beta() : 0;
  if (c.cc_on) fast_cc_flows_.push_back(flow);  // slow start: paced until a tick says otherwise
  if (abi::FlowSlot* fs = live_slot(c)) write_congestion_name(fs->congestion, algo);
  publish_congestion(c);
  update_pacing(flow, c);  // no round trip measured yet: only an app's cap
  e.tcp_opts &= uint8_t(~(abi::kFlowOptEct | abi::kFlowOptDctcp));
  if (c.cc_on && (e.tcp_opts & abi::kFlowOptEcn)) {
    e.tcp_opts |= abi::kFlowOptEct;
    if (algo == config::CongestionAlgo::kDctcp) e.tcp_opts |= abi::kFlowOptDctcp;
  }
}

// Moving: data in flight when the tick looked (a flow between requests waits for the tick).
bool ControlPlane::wants_congestion_pacing(const Conn& c, const abi::FlowEntry& e) const {
  if (!c.cc_on || !c.installed) return false;
  return load_relaxed(e.snd_una) != load_relaxed(e.snd_nxt) && load_relaxed(e.srtt_us) < kTickMs * 1000;
}

void ControlPlane::pace_congestion(TimeMs now) {
  now_ = now;
  pace_flows_.assign(tick_flows_.size(), 0u);
  // Flows gone since the last tick leave the list here too, so that with none left the daemon
  // stops the millisecond timer even if no tick comes again.
  auto paced = [&](uint32_t flow) {
    const Conn& c = conns_[flow];
    bool open = c.state == ConnState::kEstablished || c.state == ConnState::kCloseWait ||
                c.state == ConnState::kClosing || c.state == ConnState::kFinWait2;
    return open && c.cc_on && c.installed;
  };
  std::erase_if(fast_cc_flows_, [&](uint32_t flow) { return !paced(flow); });
  for (uint32_t flow : fast_cc_flows_) {
    Conn& c = conns_[flow];
    uint64_t rtt_ms = std::max<uint64_t>(load_relaxed(ctrl_.flow(flow)->srtt_us) / 1000, 1);
    if (c.cc_last_tick != 0 && now - c.cc_last_tick < rtt_ms) continue;
    tick_congestion(flow, c, now);
    uint32_t t = c.tuple.vni ? ctrl_.header()->tenants.tenant_of(c.tuple.vni) : 0;
    ++pace_flows_[t < pace_flows_.size() ? t : 0];
  }
}

void ControlPlane::update_pacing(uint32_t flow, const Conn& c) {
  abi::FlowEntry& e = *ctrl_.flow(flow);
  abi::FlowSlot* fs = live_slot(c);
  uint64_t rate = 0;
  if (c.cc_on && (s_.pacing || c.cc.rate_based())) rate = c.cc.pacing_rate(load_relaxed(e.srtt_us));
  rate = cap_pacing_rate(rate, fs != nullptr ? load_relaxed(fs->max_pacing_rate) : 0);
  store_relaxed(e.pacing_rate, rate);
  if (fs != nullptr) store_relaxed(fs->pacing_rate, rate);
}

void ControlPlane::tick_congestion(uint32_t flow, Conn& c, TimeMs now) {
  if (!c.installed) return;
  if (!c.cc_on) {
    update_pacing(flow, c);  // the app's own cap, if it set one
    return;
  }
  if (c.cc_last_tick == now) return;  // paced this millisecond already
  abi::FlowEntry& e = *ctrl_.flow(flow);
  uint64_t acked = load_relaxed(e.acked_bytes);
  uint32_t recoveries = load_relaxed(e.recoveries);
  uint64_t ece_bytes = load_relaxed(e.ece_bytes);
  uint32_t rounds = load_relaxed(e.rounds);
  uint32_t ece_rounds = load_relaxed(e.ece_rounds);
  uint32_t cwnd_limited = load_relaxed(e.cwnd_limited);
  bool dctcp = c.cc.algo() == config::CongestionAlgo::kDctcp;
  CongestionTick t;
  t.acked = acked - c.cc_acked;
  t.ece_bytes = ece_bytes - c.cc_ece_bytes;
  t.rounds = rounds - c.cc_rounds;
  t.ece_rounds = ece_rounds - c.cc_ece_rounds;
  t.flight = load_relaxed(e.snd_nxt) - load_relaxed(e.snd_una);
  // RFC 7661 (as Linux's tcp_is_cwnd_limited): the window grows only if it limited the sender
  // since the last tick, or half of it is in flight now.
  t.limited = cwnd_limited != c.cc_cwnd_limited || uint64_t(t.flight) * 2 >= c.cc.cwnd();
  // A loss is cut from the window the flow had when its recovery began (RFC 5681's FlightSize at
  // the loss), not from what is in flight now: the fast path's PRR has brought that down already.
  if (recoveries != c.cc_recoveries) {
    if (uint32_t at_loss = load_relaxed(e.loss_window); at_loss != 0) t.flight = at_loss;
  }
  t.now_us = now * 1000;
  uint32_t rtt_rounds = load_relaxed(e.rtt_rounds);
  if (rtt_rounds != c.cc_rtt_rounds) t.rtt_us = load_relaxed(e.rtt_round_us);
  c.cc_rtt_rounds = rtt_rounds;
  t.min_rtt_us = load_relaxed(e.rtt_min_us);
  t.srtt_us = load_relaxed(e.srtt_us);
  t.span_us = c.cc_last_tick != 0 ? (now - c.cc_last_tick) * 1000 : 0;  // 0: the first tick
  // Recoveries the fast path found needless (RFC 3708) cancel as many of this tick's; any more
  // were counted by an earlier tick, whose cut is taken back if it was one cut for them.
  uint32_t new_recoveries = recoveries - c.cc_recoveries;
  uint32_t spurious = load_relaxed(e.spurious_recoveries);
  uint32_t needless = spurious - c.cc_spurious;
  c.cc_spurious = spurious;
  uint32_t cancelled = std::min(needless, new_recoveries);
  new_recoveries -= cancelled;
  bool undo = needless > cancelled && c.cc_cut_undoable;
  // Reno and CUBIC count a round with ECE as a loss; DCTCP has its own answer to those.
  uint32_t signals = new_recoveries + (dctcp ? 0 : t.ece_rounds);
  t.events = congestion_events(c, signals, load_relaxed(e.srtt_us), t.span_us, now);
  c.cc_last_tick = now;
  if (undo) {
    c.cc.undo();
    ++stats_.congestion_undos;
  }
  c.cc.on_tick(t);
  if (t.events != 0 || (dctcp && t.ece_rounds != 0)) {
    c.cc_last_cut = now;
    stats_.congestion_cuts += t.events + (dctcp ? t.ece_rounds : 0);
  }
  if (undo) c.cc_cut_undoable = false;
  if (new_recoveries != 0) c.cc_cut_undoable = t.events == 1 && (dctcp || t.ece_rounds == 0);
  c.cc_recoveries = recoveries;
  c.cc_acked = acked;
  c.cc_ece_bytes = ece_bytes;
  c.cc_rounds = rounds;
  c.cc_ece_rounds = ece_rounds;
  c.cc_cwnd_limited = cwnd_limited;
  store_relaxed(e.cwnd, c.cc.cwnd());
  publish_congestion(c);
  update_pacing(flow, c);
}

uint32_t ControlPlane::congestion_events(const Conn& c, uint32_t recoveries, uint32_t srtt_us,
                                         uint64_t span_us, TimeMs now) const {
  if (recoveries == 0) return 0;
  // RFC 5681 3.2 / RFC 6582: one cut per window of data. Recoveries within a round trip of the
  // last cut belong to its congestion event; the others began at least a round trip apart, so a
  // tick counts at most one per round trip it spans (one if it knows no RTT or no span yet).
  uint64_t rtt_us = srtt_us != 0 ? srtt_us : 1000;  // no RTT sample yet: a millisecond
  if (c.cc_last_cut != 0 && (now - c.cc_last_cut) * 1000 < rtt_us) return 0;
  return uint32_t(std::min<uint64_t>(recoveries, std::max<uint64_t>(span_us / rtt_us, 1)));
}

void ControlPlane::congestion_timeout(uint32_t flow, Conn& c, TimeMs now) {
  if (!c.cc_on) return;
  abi::FlowEntry& e = *ctrl_.flow(flow);
  c.cc.on_timeout(load_relaxed(e.snd_nxt) - load_relaxed(e.snd_una), now * 1000);
  c.cc_acked = load_relaxed(e.acked_bytes);
  store_relaxed(e.cwnd, c.cc.cwnd());  // before kRetransmit: the resend starts from one segment
  publish_congestion(c);
  update_pacing(flow, c);
}

}  // namespace virtuoso::slowpath

// ControlPlane::conn_reports: every connection the slow path tracks, with the fast path's and the
// app's live positions beside its own state (status "connections", stall diagnosis).
#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

std::vector<ConnReport> ControlPlane::conn_reports() const {
  std::vector<ConnReport> out;
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    const Conn& c = conns_[flow];
    if (c.state == ConnState::kFree) continue;
    ConnReport r;
    r.flow = flow;
    r.tuple = c.tuple;
    r.state = to_string(c.state);
    r.installed = c.installed;
    r.ctx = c.ctx;
    r.slot = c.slot;
    r.cwnd = c.cc_on ? c.cc.cwnd() : 0;
    r.ssthresh = c.cc_on ? c.cc.ssthresh() : 0;
    r.congestion = c.cc_on ? config::congestion_algo_name(c.cc.algo()) : "none";
    r.dctcp_alpha = c.cc_on ? c.cc.dctcp_alpha() : -1;
    r.rto_ms = c.rto;
    r.rto_retries = c.retries;
    r.rto_armed = c.rto_deadline != 0;
    r.holds = c.holds;
    r.moving = c.moving;
    if (c.installed) {
      const abi::FlowEntry& e = *ctrl_.flow(flow);
      r.snd_una = shm::load_relaxed(e.snd_una);
      r.snd_nxt = shm::load_relaxed(e.snd_nxt);
      r.snd_wnd = shm::load_relaxed(e.snd_wnd);
      r.rcv_nxt = shm::load_relaxed(e.rcv_nxt);
      r.fp_flags = shm::load_relaxed(e.fp_flags);
      r.dupacks = shm::load_relaxed(e.dupacks);
      r.recoveries = shm::load_relaxed(e.recoveries);
      r.retransmits = shm::load_relaxed(e.retransmits);
      r.srtt_us = shm::load_relaxed(e.srtt_us);
      r.acked_bytes = shm::load_relaxed(e.acked_bytes);
      r.segs_in = shm::load_relaxed(e.segs_in);
      r.segs_out = shm::load_relaxed(e.segs_out);
      r.ect = (e.tcp_opts & abi::kFlowOptEct) != 0;
      r.ece_bytes = shm::load_relaxed(e.ece_bytes);
      r.rounds = shm::load_relaxed(e.rounds);
      r.ece_rounds = shm::load_relaxed(e.ece_rounds);
      r.pacing_rate = shm::load_relaxed(e.pacing_rate);
      r.paced_waits = shm::load_relaxed(e.paced_waits);
    }
    const Context& x = ctxs_[c.ctx];
    if (c.installed && x.state == CtxState::kAttached && x.view.base != nullptr &&
        c.slot < x.view.layout.n_slots) {
      const abi::FlowSlot& s = *x.view.slot(c.slot);
      r.has_slot = true;
      r.rx_head = shm::load_relaxed(s.rx_head);
      r.rx_tail = shm::load_relaxed(s.rx_tail);
      r.tx_head = shm::load_relaxed(s.tx_head);
      r.tx_tail = shm::load_relaxed(s.tx_tail);
      r.tx_nospace = shm::load_relaxed(s.tx_nospace);
      r.app_waiting = shm::load_relaxed(s.app_waiting);
      r.rx_fin = shm::load_relaxed(s.rx_fin);
      r.error = shm::load_relaxed(s.error);
      r.rx_size = x.view.layout.rx_size;
      r.tx_size = x.view.layout.tx_size;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace virtuoso::slowpath

// Control plane: congestion control. Each tick turns the fast path's counters (bytes acknowledged,
// recoveries entered) into a Reno window and publishes it in FlowEntry::cwnd for the fast path to
// enforce. Timeouts come from our own retransmission timer.
#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;
using shm::store_relaxed;

void ControlPlane::start_congestion_control(uint32_t flow, Conn& c) {
  abi::FlowEntry& e = *ctrl_.flow(flow);
  // A flow to our own address never leaves the host: nothing to be congested.
  c.cc_on = s_.congestion_control && c.tuple.remote_ip != c.tuple.local_ip;
  c.cc = RenoWindow(c.mss);
  c.cc_acked = 0;
  c.cc_recoveries = 0;
  c.cc_last_cut = 0;
  e.cwnd = c.cc_on ? c.cc.cwnd() : 0;  // still ours: kInstall is not pushed yet
}

void ControlPlane::tick_congestion(uint32_t flow, Conn& c, TimeMs now) {
  if (!c.cc_on || !c.installed) return;
  abi::FlowEntry& e = *ctrl_.flow(flow);
  uint64_t acked = load_relaxed(e.acked_bytes);
  uint32_t recoveries = load_relaxed(e.recoveries);
  if (recoveries != c.cc_recoveries) {
    c.cc_recoveries = recoveries;
    // RFC 5681 3.2 / RFC 6582: one cut per window of data; losses within a round trip of the
    // last cut belong to the same congestion event.
    uint32_t rtt_ms = (load_relaxed(e.srtt_us) + 999) / 1000;
    if (c.cc_last_cut == 0 || now - c.cc_last_cut >= std::max<uint32_t>(rtt_ms, 1)) {
      c.cc.on_loss(load_relaxed(e.snd_nxt) - load_relaxed(e.snd_una));
      c.cc_last_cut = now;
      ++stats_.congestion_cuts;
    }
  } else {
    c.cc.on_acked(acked - c.cc_acked);
  }
  c.cc_acked = acked;
  store_relaxed(e.cwnd, c.cc.cwnd());
}

void ControlPlane::congestion_timeout(uint32_t flow, Conn& c) {
  if (!c.cc_on) return;
  abi::FlowEntry& e = *ctrl_.flow(flow);
  c.cc.on_timeout(load_relaxed(e.snd_nxt) - load_relaxed(e.snd_una));
  c.cc_acked = load_relaxed(e.acked_bytes);
  store_relaxed(e.cwnd, c.cc.cwnd());  // before kRetransmit: the resend starts from one segment
}

}  // namespace virtuoso::slowpath

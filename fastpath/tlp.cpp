// Tail loss probes (RFC 8985 7): when a flow with data in flight hears nothing for a probe
// timeout (PTO), its last segment goes out again, so that a loss at the tail of a burst draws a
// SACK (and a recovery) or an ACK within round trips instead of a retransmission timeout.
//
// PTO = 2 SRTT + 2 ms (Linux's 2 SRTT plus its two-tick minimum), restarted when new data leaves
// and by each ACK that delivers data (cumulatively or by SACK); one probe per episode (until
// snd_una moves), none after a timeout's go-back-N until then, and only with SACK (RFC 8985
// requires it, as Linux does). Unlike RFC 8985 a recovery may probe too: a recovery whose resends
// and every segment after them were lost hears no ACK that could show it, and the probe's SACK
// does. A lone segment in flight is left to the slow path's RTO: its PTO would add the 200 ms a
// receiver may delay its ACK (WCDelAckT), no sooner than the minimum RTO. The timer is a wheel
// like pacing's: an entry whose deadline progress moved on is put back for the new one.
#include "datapath.hpp"

namespace virtuoso::fastpath {

namespace {
constexpr uint64_t kPtoExtraUs = 2000;  // beyond 2 SRTT: a peer's ACK is seldom later than that
}  // namespace

void Datapath::tlp_schedule(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  p.tlp_due_us = 0;
  if (!p.sack_ok || p.tlp_done || p.circuit != kNoCircuit || !p.rtt.has_sample()) return;
  uint32_t flight = data_in_flight(e);
  if (flight <= p.send_mss) return;  // nothing, or a lone segment: the RTO's
  p.tlp_due_us = now_us_ + 2 * uint64_t(p.rtt.srtt_us()) + kPtoExtraUs;
  tlp_timer_.arm(id, p.tlp_due_us, now_us_);  // an earlier entry comes up first and re-arms
}

uint32_t Datapath::run_tlp_timers() {
  return tlp_timer_.expire(now_us_, [&](uint32_t id) {
    FlowPriv& p = priv_[id];
    if (!p.active || p.tlp_due_us == 0) return;
    if (p.tlp_due_us > now_us_) {
      tlp_timer_.arm(id, p.tlp_due_us, now_us_);  // progress moved the deadline on
      return;
    }
    p.tlp_due_us = 0;
    if (p.tlp_done || ctrl_.flow(id)->snd_una == p.snd_max) return;
    p.tlp_done = true;
    tcp_tail_probe(id);
  });
}

}  // namespace virtuoso::fastpath

// Control plane: timers of installed flows (retransmission, window probe, orphaned FIN_WAIT_2)
// and of ARP resolution. TIME_WAIT records have their own (time_wait.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;

void ControlPlane::tick_conn(uint32_t flow, Conn& c, TimeMs now) {
  if (c.claimant >= 0 && !c.moving && c.installed && app_holds(c)) take_from_owner(flow, c);  // was busy
  tick_keepalive(flow, c, now);  // if it fails the flow, the state below is kRemoving
  switch (c.state) {
    case ConnState::kSynSent: tick_syn_sent(flow, c, now); return;
    case ConnState::kEstablished:
    case ConnState::kCloseWait:
    case ConnState::kClosing:
      tick_congestion(flow, c, now);
      tick_retransmit(flow, c, now);
      return;
    case ConnState::kFinWait2:
      tick_congestion(flow, c, now);
      tick_retransmit(flow, c, now);
      if (c.state != ConnState::kFinWait2 || app_holds(c)) return;
      // Nobody will read what the peer still sends, and it may never send its FIN.
      if (c.state_deadline == 0) {
        c.state_deadline = now + s_.fin_wait2_timeout_ms;
      } else if (now >= c.state_deadline) {
        ++stats_.fin_wait2_timeouts;
        abort_flow(flow, c, true);
      }
      return;
    default: return;
  }
}

// RFC 6298 5: one timer per flow with outstanding data, restarted by progress (acked_bytes),
// doubled on each expiry (5.5), and the connection given up after max_retries expiries. The
// fast path measures the round trips and publishes the RTO (rto_us); back-off doubles that.
// With nothing in flight but unsent bytes and a zero window, the same timer probes the window
// (RFC 9293 3.8.6.1); a peer that answers probes keeps the connection alive indefinitely.
void ControlPlane::tick_retransmit(uint32_t flow, Conn& c, TimeMs now) {
  const abi::FlowEntry& e = *ctrl_.flow(flow);
  uint64_t acked = load_relaxed(e.acked_bytes);
  if (acked != c.last_acked) {
    c.last_acked = acked;
    if (uint32_t rto_us = load_relaxed(e.rto_us)) c.base_rto = (rto_us + 999) / 1000;
    c.base_rto = std::clamp<uint32_t>(c.base_rto, s_.min_rto_ms, s_.max_rto_ms);
    c.rto = c.base_rto;
    c.retries = 0;
    c.progress_at = now;
    if (c.rto_deadline) c.rto_deadline = now + c.rto;
  }
  bool outstanding = load_relaxed(e.snd_una) != load_relaxed(e.snd_nxt);
  bool probing = !outstanding && load_relaxed(e.snd_wnd) == 0 && has_unsent(c, e);
  if (!outstanding && !probing) {
    c.rto_deadline = 0;  // back-off and retries stay: only progress resets them
    return;
  }
  if (c.rto_deadline == 0) {
    c.rto_deadline = now + c.rto;
    c.progress_at = now;
    c.last_segs_in = load_relaxed(e.segs_in);
    return;
  }
  if (now < c.rto_deadline) return;  // tail loss probes before it are the fast path's (tlp.cpp)
  if (probing) {
    uint64_t segs = load_relaxed(e.segs_in);
    // The peer answered the last probe. Not for an orphan (like Linux's tcp_orphan_retries): a
    // peer keeping its window shut must not hold an entry nobody will ever use again.
    if (segs != c.last_segs_in && app_holds(c)) c.retries = 0;
    c.last_segs_in = segs;
  }
  if (++c.retries > s_.max_retries) {
    ++stats_.aborts_timeout;
    spdlog::debug("flow {}: no progress after {} retransmissions, giving up", flow, s_.max_retries);
    fail_flow(flow, c, c.soft_error ? c.soft_error : ETIMEDOUT, true);
    return;
  }
  ++(probing ? stats_.window_probes : stats_.retransmit_timeouts);
  if (!probing) {
    spdlog::debug("flow {}: retransmission timeout {} after {} ms without progress: una {} nxt {} wnd {} "
                  "cwnd {} recoveries {} srtt {} us",
                  flow, c.retries, now - c.progress_at, load_relaxed(e.snd_una), load_relaxed(e.snd_nxt),
                  load_relaxed(e.snd_wnd), load_relaxed(e.cwnd), load_relaxed(e.recoveries),
                  load_relaxed(e.srtt_us));
    congestion_timeout(flow, c, now);
  }
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kRetransmit);
  cmd.ctx = c.ctx;
  cmd.flow = flow;
  out_.command(cmd);
  c.rto = std::min<uint32_t>(c.rto * 2, s_.max_rto_ms);
  c.rto_deadline = now + c.rto;
}

// RFC 6298 2.2 from the handshake's round trip (SRTT = R, RTTVAR = R/2, RTO = R + max(G, 4*RTTVAR)
// with G our 10 ms tick); after a retransmitted SYN or SYN-ACK the sample is ambiguous (Karn)
// and the initial RTO stays (2.1, 5.7).
uint32_t ControlPlane::handshake_rto(const HandshakeTimer& hs, TimeMs now) const {
  uint64_t rto = s_.initial_rto_ms;
  if (hs.retransmits == 0 && now >= hs.first_sent) {
    uint64_t r = now - hs.first_sent;
    rto = r + std::max<uint64_t>(10, 2 * r);
  }
  return uint32_t(std::clamp<uint64_t>(rto, s_.min_rto_ms, s_.max_rto_ms));
}

// Bytes the app queued that are not in flight yet. tx_head is the app's: a scribbled value
// (more than the ring holds) counts as nothing; the fast path fails such a flow itself.
bool ControlPlane::has_unsent(const Conn& c, const abi::FlowEntry& e) const {
  const Context& x = ctxs_[c.ctx];
  const abi::FlowSlot* fs = x.view.slot(c.slot);
  uint32_t queued = load_relaxed(fs->tx_head) - load_relaxed(fs->tx_tail);
  if (queued > x.view.layout.tx_size) return false;
  uint32_t flags = load_relaxed(e.fp_flags);
  uint32_t in_flight = load_relaxed(e.snd_nxt) - load_relaxed(e.snd_una);
  if ((flags & abi::kFlowFinSent) && !(flags & abi::kFlowFinAcked) && in_flight) --in_flight;
  return queued > in_flight;
}

void ControlPlane::tick_arp(TimeMs now) {
  if (!arp_.pending()) return;
  auto ex = arp_.tick(now);
  for (uint32_t ip : ex.resend) send_arp_request(ip);
  for (uint32_t flow : ex.failed) {
    Conn& c = conns_[flow];
    if (c.state != ConnState::kSynSent || !c.arp_wait) continue;
    c.arp_wait = false;  // the resolver forgot it already
    ++stats_.arp_failures;
    connect_failed(flow, EHOSTUNREACH);
  }
}

}  // namespace virtuoso::slowpath

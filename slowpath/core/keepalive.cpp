// Control plane: TCP keepalive (RFC 1122 4.2.3.6) for flows whose app set SO_KEEPALIVE.
//
// The fast path knows nothing of it: the slow path watches the flow's segs_in, and after
// keep_idle_ms without a segment from the peer sends a probe through the inject queue, then one
// every keep_intvl_ms; after keep_cnt unanswered probes the flow fails with ETIMEDOUT, like
// Linux's tcp_keepalive_timer. Any segment from the peer (the probe's ACK included) ends probing.
#include <spdlog/spdlog.h>

#include <cerrno>

#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;

namespace {
// Linux's bounds for TCP_KEEPIDLE / TCP_KEEPINTVL (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL) and
// TCP_KEEPCNT (MAX_TCP_KEEPCNT). The shim checks them too; the slow path trusts no app.
constexpr uint32_t kMaxKeepSecs = 32767;
constexpr uint32_t kMaxKeepCnt = 127;
}  // namespace

// kKeepalive: slot, gen, keep_enabled, keep_idle_s, keep_intvl_s, keep_cnt (0: the default).
void ControlPlane::req_keepalive(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, TimeMs now) {
  Context& x = ctxs_[ctx];
  if (req.slot >= x.slots.size() || !x.slots[req.slot].used || x.slots[req.slot].gen != req.gen ||
      !x.slots[req.slot].app_holds || req.keep_enabled > 1 || req.keep_idle_s > kMaxKeepSecs ||
      req.keep_intvl_s > kMaxKeepSecs || req.keep_cnt > kMaxKeepCnt) {
    r.error = EINVAL;
    return;
  }
  uint32_t flow = x.slots[req.slot].flow;
  if (flow == kNoFlow) return;  // the connection is over already: nothing left to keep alive
  Conn& c = conns_[flow];
  bool was_enabled = c.keep_enabled;
  c.keep_enabled = req.keep_enabled != 0;
  c.keep_idle_ms = (req.keep_idle_s ? req.keep_idle_s : s_.keepalive_time_s) * 1000;
  c.keep_intvl_ms = (req.keep_intvl_s ? req.keep_intvl_s : s_.keepalive_intvl_s) * 1000;
  c.keep_cnt = req.keep_cnt ? req.keep_cnt : s_.keepalive_probes;
  if (c.keep_enabled && !was_enabled) {
    // Like setsockopt(SO_KEEPALIVE) on Linux: the idle time counts from now.
    c.keep_probes = 0;
    c.keep_heard = now;
    c.keep_segs_in = c.installed ? load_relaxed(ctrl_.flow(flow)->segs_in) : 0;
  }
}

// Called on every tick of a connection. Probes only while nothing is in flight or queued: with
// data outstanding the retransmission timer already finds out whether the peer is there.
void ControlPlane::tick_keepalive(uint32_t flow, Conn& c, TimeMs now) {
  if (!c.keep_enabled || !c.installed) return;
  const abi::FlowEntry& e = *ctrl_.flow(flow);
  uint64_t segs = load_relaxed(e.segs_in);
  if (segs != c.keep_segs_in) {
    c.keep_segs_in = segs;
    c.keep_heard = now;
    c.keep_probes = 0;
    return;
  }
  bool busy = load_relaxed(e.snd_una) != load_relaxed(e.snd_nxt) || has_unsent(c, e);
  if (busy) return;
  if (c.keep_probes == 0) {
    if (now - c.keep_heard < c.keep_idle_ms) return;
  } else if (now < c.keep_next) {
    return;
  }
  if (c.keep_probes >= c.keep_cnt) {
    ++stats_.keepalive_timeouts;
    spdlog::debug("flow {}: {} keepalive probes unanswered, giving up", flow, c.keep_probes);
    fail_flow(flow, c, ETIMEDOUT, true);
    return;
  }
  send_keepalive_probe(c, e);
  ++c.keep_probes;
  c.keep_next = now + c.keep_intvl_ms;
}

// RFC 1122 4.2.3.6: a segment with SEG.SEQ = SND.NXT-1 and no data, which any TCP must answer
// with an ACK. With nothing in flight SND.NXT = SND.UNA, so this is snd_una - 1 (as Linux's
// tcp_xmit_probe_skb); a FIN already sent and acknowledged is counted in snd_una the same way.
void ControlPlane::send_keepalive_probe(const Conn& c, const abi::FlowEntry& e) {
  ++stats_.keepalive_probes;
  SegmentSpec s{c.tuple, c.path, load_relaxed(e.snd_una) - 1, load_relaxed(e.rcv_nxt), wire::kTcpAck,
                rcv_window(c), {}};
  add_timestamps(s, c);
  send_segment(s);
}

}  // namespace virtuoso::slowpath

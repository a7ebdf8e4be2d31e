// Control plane: listeners, SYN -> SYN-ACK, half-open connections and the ACK that completes them,
// SYN cookies when a listener's half-open table is full.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "control_plane.hpp"
#include "log_format.hpp"
#include "syn_cookie.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::slowpath {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpRst;
using wire::kTcpSyn;

namespace {
// RFC 9293 3.7.1: without an MSS option the peer takes 536; tiny values are raised so a peer
// cannot make us cut the stream into a segment per byte (Linux keeps at least 48).
constexpr uint16_t kDefaultMss = 536;
constexpr uint16_t kMinMss = 64;
}  // namespace

uint32_t ControlPlane::listener_for(uint32_t vni, uint32_t ip, uint16_t port) const {
  const Reservation* res = ports_of(vni).find(port);
  if (!res || res->kind != ReservationKind::kListen) return 0;
  return res->ip == 0 || res->ip == ip ? res->listener : 0;
}

void ControlPlane::on_listen_syn(uint32_t listener_id, const Segment& seg, TimeMs now) {
  ++stats_.syn_received;
  const wire::TcpFrame& f = seg.f;
  Listener& l = listeners_.at(listener_id);
  if (l.owner_gone) {
    // Only forked children that have not joined yet hold it: the SYN is retransmitted, by when
    // one of them may accept (Linux would queue it for them).
    ++stats_.syn_dropped_no_owner;
    return;
  }
  FourTuple t{f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port, seg.vni};
  bool queue_full = l.half_open + l.unaccepted.size() >= l.backlog;
  bool table_full = half_open_.size() >= s_.max_flows;
  if ((queue_full || table_full) && s_.syn_cookies && l.unaccepted.size() < l.backlog) {
    send_cookie_synack(t, seg, now);  // the accept queue has room: no entry needed until the ACK
    return;
  }
  if (queue_full) {
    ++stats_.syn_dropped_backlog;  // like Linux: drop, the peer's SYN retransmission tries again
    spdlog::debug("listener {}: backlog {} full, SYN from {}:{} dropped", listener_id, l.backlog,
                  ip_str(f.ip.src), f.tcp.src_port);
    return;
  }
  if (table_full) {
    ++stats_.syn_dropped_no_memory;
    return;
  }
  if (flow_limit_reached(l.ctx)) return;  // the tenant's max_flows: the peer's SYN retransmission tries again
  HalfOpen ho;
  ho.listener = listener_id;
  ho.path = seg.path;  // answer the way the SYN came (the gateway for an off-link peer, the tunnel for a tenant's)
  ho.iss = hash_.initial_seq(t, now);
  ho.ts_offset = hash_.ts_offset(t);
  ho.peer = peer_syn(f);
  ho.hs = HandshakeTimer{now, now + s_.initial_rto_ms, s_.initial_rto_ms, 0};
  send_synack(t, ho);
  ++l.half_open;
  half_open_.emplace(t, ho);
  share_took_syn(listener_id);  // the next SYN on a shared port goes to the next accepting process
  spdlog::debug("listener {}: SYN {} -> SYN-RECEIVED", listener_id, tuple_str(t));
}

void ControlPlane::send_synack(const FourTuple& t, const HalfOpen& ho) {
  SegmentSpec s;
  s.tuple = t;
  s.path = ho.path;
  s.seq = ho.iss;
  s.ack = ho.peer.irs + 1;
  s.flags = kTcpSyn | kTcpAck;
  if (agreed_options(ho.peer) & abi::kFlowOptEcn) s.flags |= wire::kTcpEce;  // RFC 3168 6.1.1
  s.window = syn_window();
  s.opts = syn_options(&ho.peer, ho.ts_offset, t.vni);
  send_segment(s);
}

// A SYN-ACK whose sequence number is a cookie (syn_cookie.hpp), offering only the MSS.
void ControlPlane::send_cookie_synack(const FourTuple& t, const Segment& seg, TimeMs now) {
  PeerSyn peer = peer_syn(seg.f);
  peer.wscale = -1;  // options that need state are not offered with a cookie
  peer.sack_ok = false;
  peer.ts_ok = false;
  peer.ecn = false;
  SegmentSpec s;
  s.tuple = t;
  s.path = seg.path;
  s.seq = SynCookies::make(hash_, t, peer.irs, peer.mss, now);
  s.ack = peer.irs + 1;
  s.flags = kTcpSyn | kTcpAck;
  s.window = uint16_t(std::min<uint32_t>(syn_window(), 65535));
  s.opts = syn_options(&peer, 0, t.vni);
  send_segment(s);
  ++stats_.syn_cookies_sent;
}

bool ControlPlane::accept_cookie(uint32_t listener_id, const FourTuple& t, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  std::optional<uint16_t> mss = SynCookies::check(hash_, t, f.tcp.seq - 1, f.tcp.ack - 1, now);
  if (!mss) return false;
  Listener& l = listeners_.at(listener_id);
  if (l.owner_gone || l.unaccepted.size() >= l.backlog) {
    ++stats_.syn_dropped_backlog;  // the peer retransmits; by then the app may have accepted
    return true;
  }
  HalfOpen ho;
  ho.listener = listener_id;
  ho.path = seg.path;
  ho.iss = f.tcp.ack - 1;
  ho.ts_offset = hash_.ts_offset(t);
  ho.peer.irs = f.tcp.seq - 1;
  ho.peer.mss = *mss;
  ho.hs = HandshakeTimer{now, now + s_.initial_rto_ms, s_.initial_rto_ms, 0};
  ++l.half_open;
  auto [it, inserted] = half_open_.emplace(t, ho);
  ++stats_.syn_cookies_accepted;
  spdlog::debug("listener {}: {} completed with a SYN cookie (mss {})", listener_id, tuple_str(t), *mss);
  on_half_open_segment(t, it->second, seg, now);  // checks it as any ACK in SYN-RECEIVED, and completes
  return true;
}

void ControlPlane::on_half_open_segment(const FourTuple& t, HalfOpen& ho, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  uint8_t flags = f.tcp.flags;
  if (flags & kTcpRst) {
    // RFC 5961 3.2 applied to SYN-RECEIVED: only a reset at exactly irs+1 ends the half-open
    // connection; elsewhere in the window it earns a challenge ACK; outside, it is dropped.
    uint32_t rcv_nxt = ho.peer.irs + 1;
    switch (check_rst(f.tcp.seq, rcv_nxt, syn_window(), now)) {
      case RstVerdict::kAccept:
        --listeners_.at(ho.listener).half_open;
        half_open_.erase(t);
        break;
      case RstVerdict::kChallenge: {
        SegmentSpec s{t, ho.path, ho.iss + 1, rcv_nxt, kTcpAck, syn_window(), {}};
        send_segment(s);
        break;
      }
      case RstVerdict::kIgnore: break;
    }
    return;
  }
  if (flags & kTcpSyn) {
    if (!(flags & kTcpAck) && f.tcp.seq == ho.peer.irs) {
      // RFC 7323 4.3: echo the latest TSval, or the peer would time its handshake from the first SYN.
      if (f.tcp.opts.has_timestamps) ho.peer.ts_val = f.tcp.opts.ts_val;
      ++stats_.synack_retransmits;  // our SYN-ACK was lost: say it again
      send_synack(t, ho);
    } else {
      ++stats_.segments_dropped;
    }
    return;
  }
  if (!(flags & kTcpAck)) {
    ++stats_.segments_dropped;
    return;
  }
  if (f.tcp.ack != ho.iss + 1) {
    reply_rst(seg);  // RFC 9293 3.10.7.4: unacceptable ACK in SYN-RECEIVED -> <SEQ=SEG.ACK><CTL=RST>
    return;
  }
  if (!wire::seq_in(f.tcp.seq, ho.peer.irs + 1, ho.peer.irs + 1 + s_.app_layout.rx_size)) {
    SegmentSpec s{t, ho.path, ho.iss + 1, ho.peer.irs + 1, kTcpAck, syn_window(), {}};
    send_segment(s);  // RFC 9293 3.10.7.4: unacceptable sequence number -> ACK, drop
    return;
  }
  complete_passive(t, ho, seg, now);
}

void ControlPlane::complete_passive(const FourTuple& t, HalfOpen& ho, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  uint32_t listener_id = ho.listener;
  Listener& l = listeners_.at(listener_id);
  auto flow = flow_limit_reached(l.ctx) ? std::nullopt : new_conn(l.ctx, t);
  if (!flow) {
    // No flow entry or slot: drop the ACK; the half-open connection stays and its SYN-ACK
    // retransmission makes the peer ACK again later.
    ++stats_.accept_no_resources;
    return;
  }
  Conn& c = conns_[*flow];
  c.path = ho.path;
  c.path_mss = cached_path_mss(t, ho.path, now);
  c.iss = ho.iss;
  c.ts_offset = ho.ts_offset;
  bool ws = ho.peer.wscale >= 0;
  uint16_t peer_mss = ho.peer.mss ? ho.peer.mss : kDefaultMss;
  InstallParams p{};
  p.passive = true;
  p.mss = std::max(kMinMss, std::min(peer_mss, our_mss(t.vni)));
  p.snd_wscale = ws ? uint8_t(ho.peer.wscale) : 0;
  p.rcv_wscale = ws ? our_wscale() : 0;
  p.snd_una = ho.iss + 1;
  p.rcv_nxt = ho.peer.irs + 1;
  p.snd_wnd = uint32_t(f.tcp.window) << p.snd_wscale;  // no SYN on this segment: its window is scaled
  p.tcp_opts = agreed_options(ho.peer);
  p.ts_recent = f.tcp.opts.has_timestamps ? f.tcp.opts.ts_val : ho.peer.ts_val;
  install(*flow, c, p, ho.hs, now);
  ctxs_[c.ctx].slots[c.slot].app_holds = true;
  l.unaccepted.emplace_back(c.slot, c.gen);
  emit_ctl(c, abi::CtlEventKind::kAccepted, 0, listener_id);
  ++stats_.passive_opens;
  if (f.payload_len > 0 || (f.tcp.flags & kTcpFin)) {
    out_.frame(seg.raw, seg.raw_len, abi::kPacketProcessAsRx);  // its data belongs to the new flow
    ++stats_.frames_reinjected;
  }
  --l.half_open;
  half_open_.erase(t);
  spdlog::debug("flow {}: accepted {} (listener {}, mss {})", *flow, tuple_str(t), listener_id, p.mss);
}

void ControlPlane::tick_half_open(TimeMs now) {
  for (auto it = half_open_.begin(); it != half_open_.end();) {
    HalfOpen& ho = it->second;
    if (now < ho.hs.deadline) {
      ++it;
      continue;
    }
    if (ho.hs.retransmits >= s_.syn_retries) {
      ++stats_.half_open_expired;
      spdlog::debug("listener {}: half-open {} expired after {} SYN-ACKs", ho.listener, tuple_str(it->first),
                    ho.hs.retransmits + 1);
      --listeners_.at(ho.listener).half_open;
      it = half_open_.erase(it);
      continue;
    }
    ++ho.hs.retransmits;
    ++stats_.synack_retransmits;
    ho.hs.rto = std::min<uint32_t>(ho.hs.rto * 2, s_.max_rto_ms);
    ho.hs.deadline = now + ho.hs.rto;
    send_synack(it->first, ho);
    ++it;
  }
}

// The listener goes away: half-open connections are reset, and so are connections announced
// to the app but never accepted (the app released them by closing the listener).
void ControlPlane::drop_listener(uint32_t listener_id) {
  auto lit = listeners_.find(listener_id);
  if (lit == listeners_.end()) return;
  Listener& l = lit->second;
  for (auto it = half_open_.begin(); it != half_open_.end();) {
    if (it->second.listener != listener_id) {
      ++it;
      continue;
    }
    const HalfOpen& ho = it->second;
    SegmentSpec s{it->first, ho.path, ho.iss + 1, ho.peer.irs + 1, kTcpRst | kTcpAck, 0, {}};
    send_segment(s);
    it = half_open_.erase(it);
  }
  Context& x = ctxs_[l.ctx];
  for (auto [slot, gen] : l.unaccepted) {
    if (slot >= x.slots.size() || !x.slots[slot].used || x.slots[slot].gen != gen || !x.slots[slot].app_holds)
      continue;
    uint32_t flow = x.slots[slot].flow;
    release_by_app(l.ctx, slot);
    if (flow != kNoFlow && conns_[flow].installed) abort_flow(flow, conns_[flow], true);
  }
  PortTable& ports = ports_of(vni_of(l.ctx));
  const Reservation* res = ports.find(l.port);
  if (res && res->kind == ReservationKind::kListen && res->listener == listener_id) ports.release(l.port);
  spdlog::debug("listener {}: closed (port {})", listener_id, l.port);
  listeners_.erase(lit);
}

}  // namespace virtuoso::slowpath

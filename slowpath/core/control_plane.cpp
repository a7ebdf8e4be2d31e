// Control plane: construction, demultiplexing of punted frames and fast-path events, shared helpers.
#include "control_plane.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "log_format.hpp"
#include "virtuoso/wire/arp.hpp"

namespace virtuoso::slowpath {

using wire::kTcpAck;
using wire::kTcpRst;
using wire::kTcpSyn;

const char* to_string(ConnState s) {
  switch (s) {
    case ConnState::kFree: return "CLOSED";
    case ConnState::kSynSent: return "SYN-SENT";
    case ConnState::kEstablished: return "ESTABLISHED";
    case ConnState::kCloseWait: return "CLOSE-WAIT";
    case ConnState::kClosing: return "CLOSING";
    case ConnState::kFinWait2: return "FIN-WAIT-2";
    case ConnState::kRemoving: return "REMOVING";
  }
  return "?";
}

ControlPlane::ControlPlane(const Settings& s, abi::ControlRegionView ctrl, Outputs& out)
    : s_(s),
      ctrl_(ctrl),
      out_(out),
      hash_(s.secret0, s.secret1),
      arp_(s.arp_retry_ms, s.arp_tries, s.arp_ttl_ms),
      ports_(s.tenants.size() + 1, PortTable(s.ephemeral_lo, s.ephemeral_hi)),
      inner_arp_(s.tenants.size() + 1, ArpResolver(s.arp_retry_ms, s.arp_tries, s.arp_ttl_ms)),
      ctxs_(s.max_contexts),
      tenant_work_(s.tenants.size() + 1),
      tick_flows_(s.tenants.size() + 1),
      ctx_ids_(s.max_contexts),
      conns_(s.max_flows),
      flow_ids_(s.max_flows),
      rst_out_(s.rst_limit, std::min(s.rst_limit, 50u)) {}

void ControlPlane::handle_frame(const uint8_t* data, size_t len, TimeMs now) {
  now_ = now;
  ++stats_.punted_frames;
  auto eth = wire::parse_eth(data, len);
  if (!eth) {
    ++stats_.bad_frames;
    return;
  }
  if (eth->ethertype == wire::kEtherTypeArp) {
    handle_arp(data, len, now);
    return;
  }
  // The fast path verified the checksums already; verifying again costs little at this rate.
  auto parsed = wire::parse_tcp_frame(data, len, true);
  if (parsed.error == wire::FrameError::kNotTcp && len > wire::kEthHeaderLen + 9 &&
      data[wire::kEthHeaderLen + 9] == wire::kIpProtoIcmp) {
    handle_icmp(data, len, now);
    return;
  }
  if (parsed.error == wire::FrameError::kNotTcp) {
    handle_vxlan(data, len, now);  // a tenant's frame, or nothing we know
    return;
  }
  if (parsed.error != wire::FrameError::kOk || parsed.f.ip.dst != s_.local_ip) {
    ++stats_.bad_frames;
    return;
  }
  handle_tcp(Segment{parsed.f, data, len, 0, PeerPath{parsed.f.eth.src}}, now);
}

void ControlPlane::handle_arp(const uint8_t* data, size_t len, TimeMs now) {
  ++stats_.arp_frames;
  auto arp = wire::parse_arp(data + wire::kEthHeaderLen, len - wire::kEthHeaderLen);
  if (!arp || arp->sender_ip == 0 || arp->sender_ip == s_.local_ip || wire::is_multicast(arp->sender_mac)) {
    ++stats_.bad_frames;  // probes, conflicts and nonsense teach us nothing
    return;
  }
  bool for_us = arp->target_ip == s_.local_ip;
  uint64_t refused = arp_.refused();
  for (uint32_t flow : arp_.learn(arp->sender_ip, arp->sender_mac, now, for_us))
    on_arp_resolved(flow, arp->sender_mac, now);
  stats_.arp_cache_full += arp_.refused() - refused;
}

void ControlPlane::handle_tcp(const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  FourTuple t{f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port, seg.vni};
  // Before the flow table: a record's flow may still be on its way back from the fast path.
  if (auto it = time_wait_.find(t); it != time_wait_.end() && on_time_wait_segment(t, it->second, seg, now)) return;
  if (auto it = by_tuple_.find(t); it != by_tuple_.end()) {
    uint32_t flow = it->second;
    Conn& c = conns_[flow];
    if (c.state == ConnState::kSynSent) {
      on_syn_sent_segment(flow, c, seg, now);
    } else if (c.state == ConnState::kRemoving) {
      ++stats_.segments_dropped;  // the fast path lets go of it; the 4-tuple is not free yet
    } else if (!on_synchronized_ctl(flow, c, seg, now)) {  // RST and SYN: rst_validation.cpp
      on_installed_segment(flow, c, seg, now);
    }
    return;
  }
  if (auto it = half_open_.find(t); it != half_open_.end()) {
    on_half_open_segment(t, it->second, seg, now);
    return;
  }
  uint8_t ctl = f.tcp.flags & (kTcpSyn | kTcpAck | kTcpRst | wire::kTcpFin);
  if (ctl == kTcpSyn) {
    if (uint32_t id = listener_for(seg.vni, f.ip.dst, f.tcp.dst_port)) {
      on_listen_syn(id, seg, now);
      return;
    }
  }
  if ((ctl & ~wire::kTcpFin) == kTcpAck && s_.syn_cookies) {  // the ACK of a SYN-ACK we kept no entry for?
    uint32_t id = listener_for(seg.vni, f.ip.dst, f.tcp.dst_port);
    if (id != 0 && accept_cookie(id, t, seg, now)) return;
  }
  if (f.tcp.flags & kTcpRst) {
    ++stats_.rsts_ignored;  // RFC 9293 3.10.7.1: never answer a reset
    return;
  }
  reply_rst(seg);
}

void ControlPlane::handle_event(const abi::FpEvent& ev, TimeMs now) {
  now_ = now;
  auto kind = abi::FpEventKind(ev.kind);
  switch (kind) {
    case abi::FpEventKind::kCtxAttached: on_ctx_attached(ev.ctx, ev.value); return;
    case abi::FpEventKind::kCtxDetached: on_ctx_detached(ev.ctx); return;
    case abi::FpEventKind::kCtxFault: on_ctx_fault(ev.ctx, ev.value); return;
    default: break;
  }
  if (ev.flow >= conns_.size() || conns_[ev.flow].state == ConnState::kFree) return;
  Conn& c = conns_[ev.flow];
  switch (kind) {
    case abi::FpEventKind::kRemoved: release_conn(ev.flow); break;
    case abi::FpEventKind::kPeerFin: on_peer_fin(ev.flow, c, now); break;
    case abi::FpEventKind::kFinAcked: on_fin_acked(ev.flow, c, now); break;
    case abi::FpEventKind::kRehomed: on_moved(ev.flow, c, ev.value); break;
    case abi::FpEventKind::kFlowError:
      ++stats_.flow_errors;
      if (log_ok(LogKind::kFault))
        spdlog::warn("flow {}: the fast path failed it (errno {}) in {}", ev.flow, ev.value, to_string(c.state));
      if (c.installed) fail_flow(ev.flow, c, ev.value > 0 ? ev.value : EIO, true);
      break;
    default: break;
  }
}

bool ControlPlane::log_ok(LogKind kind) {
  uint64_t held = 0;
  if (!log_limit_.allow(kind, now_, held)) {
    ++stats_.log_lines_suppressed;
    return false;
  }
  if (held != 0) {
    spdlog::warn("{} {} lines not logged (at most {} a second, bursts of {})", held, log_kind_name(kind),
                 LogLimit::kPerSecond, LogLimit::kBurst);
  }
  return true;
}

void ControlPlane::tick(TimeMs now) {
  now_ = now;
  tick_arp(now);
  tick_inner_arp(now);
  tick_time_wait(now);
  tick_half_open(now);
  std::fill(tick_flows_.begin(), tick_flows_.end(), 0u);
  fast_cc_flows_.clear();
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state == ConnState::kFree) continue;
    uint32_t t = c.tuple.vni ? ctrl_.header()->tenants.tenant_of(c.tuple.vni) : 0;
    ++tick_flows_[t < tick_flows_.size() ? t : 0];
    tick_conn(flow, c, now);
    if (wants_congestion_pacing(c, *ctrl_.flow(flow))) fast_cc_flows_.push_back(flow);
  }
}

bool ControlPlane::timers_pending() const {
  bool inner_arp = std::any_of(inner_arp_.begin(), inner_arp_.end(), [](const ArpResolver& a) { return a.pending(); });
  return arp_.pending() || inner_arp || !half_open_.empty() || flow_ids_.used() > 0 || !time_wait_.empty();
}

void ControlPlane::send_segment(const SegmentSpec& spec) {
  FrameBuf fb = build_segment(underlay(), spec);
  out_.frame(fb.data.data(), fb.len, 0);
  if (spec.flags & kTcpRst) ++stats_.rsts_sent;
}

// RFC 9293 3.10.7.1: for a segment to no connection, if ACK is set send <SEQ=SEG.ACK><CTL=RST>,
// else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. The caller never passes a RST. At most
// rst_limit a second (bursts of 50), as BSD's icmplim bounds them: a flood of segments for no
// connection costs the port a bounded share, and the rest are counted.
void ControlPlane::reply_rst(const Segment& seg) {
  const wire::TcpFrame& f = seg.f;
  if (!rst_out_.take(now_ * 1000)) {
    ++stats_.rsts_limited;
    return;
  }
  SegmentSpec s;
  s.tuple = FourTuple{f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port, seg.vni};
  s.path = seg.path;
  if (f.tcp.flags & kTcpAck) {
    s.seq = f.tcp.ack;
    s.flags = kTcpRst;
  } else {
    s.seq = 0;
    s.ack = f.tcp.seq + wire::seg_len(f.tcp, f.payload_len);
    s.flags = kTcpRst | kTcpAck;
  }
  spdlog::debug("RST to {} (no connection)", tuple_str(s.tuple));
  send_segment(s);
}

// Smallest shift such that the receive buffer fits in the 16-bit window field (RFC 7323 2.3).
uint8_t ControlPlane::our_wscale() const {
  uint8_t shift = 0;
  while (shift < 14 && (s_.app_layout.rx_size >> shift) > 65535) ++shift;
  return shift;
}

// The window in a SYN or SYN-ACK is never scaled (RFC 7323 2.2).
uint16_t ControlPlane::syn_window() const { return uint16_t(std::min<uint32_t>(s_.app_layout.rx_size, 65535)); }

ControlPlane::PeerSyn ControlPlane::peer_syn(const wire::TcpFrame& f) {
  const wire::TcpOptions& o = f.tcp.opts;
  bool ece = f.tcp.flags & wire::kTcpEce, cwr = f.tcp.flags & wire::kTcpCwr;
  bool ecn = (f.tcp.flags & wire::kTcpAck) ? ece && !cwr : ece && cwr;
  return PeerSyn{f.tcp.seq, o.mss, o.wscale, o.sack_permitted, o.has_timestamps, o.ts_val, ecn};
}

wire::TcpOptionsOut ControlPlane::syn_options(const PeerSyn* peer, uint32_t ts_offset, uint32_t vni) const {
  wire::TcpOptionsOut o;
  o.mss = our_mss(vni);
  // RFC 7323 1.3 / RFC 2018 2: a SYN-ACK carries an option only if the SYN did.
  o.wscale = !peer || peer->wscale >= 0 ? int8_t(our_wscale()) : int8_t(-1);
  o.sack_permitted = s_.sack && (!peer || peer->sack_ok);
  o.timestamps = s_.timestamps && (!peer || peer->ts_ok);
  if (o.timestamps) {
    o.ts_val = ts_now(ts_offset);
    o.ts_ecr = peer ? peer->ts_val : 0;
  }
  return o;
}

uint8_t ControlPlane::agreed_options(const PeerSyn& peer) const {
  uint8_t opts = 0;
  if (s_.timestamps && peer.ts_ok) opts |= abi::kFlowOptTimestamps;
  if (s_.sack && peer.sack_ok) opts |= abi::kFlowOptSack;
  if (s_.ecn && peer.ecn) opts |= abi::kFlowOptEcn;
  return opts;
}

void ControlPlane::add_timestamps(SegmentSpec& s, uint8_t tcp_opts, uint32_t ts_offset) const {
  if (!(tcp_opts & abi::kFlowOptTimestamps)) return;
  s.opts.timestamps = true;
  s.opts.ts_val = ts_now(ts_offset);
  s.opts.ts_ecr = 0;  // the fast path owns ts_recent; an echo of 0 is never taken as an RTT sample
}

bool ControlPlane::app_holds(const Conn& c) const {
  const Context& x = ctxs_[c.ctx];
  return !x.app_gone && c.slot < x.slots.size() && x.slots[c.slot].app_holds && x.slots[c.slot].gen == c.gen;
}

void ControlPlane::emit_ctl(const Conn& c, abi::CtlEventKind kind, int error, uint32_t id) {
  abi::CtlEvent ev{};
  ev.kind = uint16_t(kind);
  ev.id = id;
  ev.slot = c.slot;
  ev.gen = c.gen;
  ev.error = error;
  ev.local_ip = c.tuple.local_ip;
  ev.remote_ip = c.tuple.remote_ip;
  ev.local_port = c.tuple.local_port;
  ev.remote_port = c.tuple.remote_port;
  ev.mss = c.mss;
  out_.ctl_event(c.ctx, ev);
}

}  // namespace virtuoso::slowpath

// Control plane: connect(): route, ephemeral port, ARP, SYN with retransmission, SYN-ACK -> ACK.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "log_format.hpp"

namespace virtuoso::slowpath {

using wire::kTcpAck;
using wire::kTcpRst;
using wire::kTcpSyn;

namespace {
constexpr uint16_t kDefaultMss = 536;  // RFC 9293 3.7.1
constexpr uint16_t kMinMss = 64;
constexpr uint32_t prefix_mask(unsigned len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
}  // namespace

// Where frames for `remote` go: itself on-link, else the gateway. 0 or an errno for connect().
int ControlPlane::next_hop(uint32_t remote, uint32_t& hop) const {
  if (remote == s_.local_ip) {
    hop = remote;  // the fast path delivers to its own address locally
    return 0;
  }
  uint8_t first = uint8_t(remote >> 24);
  if (first == 0 || first == 127 || first >= 224) return ENETUNREACH;  // this-net, loopback, multicast, class E
  uint32_t mask = prefix_mask(s_.prefix_len);
  if ((remote & mask) == (s_.local_ip & mask)) {
    if (s_.prefix_len < 31 && (remote & ~mask) == ~mask) return ENETUNREACH;  // the subnet's broadcast
    hop = remote;
    return 0;
  }
  if (s_.gateway == 0) return ENETUNREACH;
  hop = s_.gateway;
  return 0;
}

void ControlPlane::req_connect(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, TimeMs now) {
  uint32_t vni = vni_of(ctx);
  if ((r.error = check_local_ip(ctx, req.local_ip))) return;
  uint32_t local = vni && req.local_ip ? req.local_ip : default_ip(ctx);
  uint32_t remote = req.ip ? req.ip : local;  // like Linux, 0.0.0.0 means this host
  if (req.port == 0) {
    r.error = ECONNREFUSED;
    return;
  }
  uint32_t hop = 0;
  PeerPath path;
  if ((r.error = vni ? tenant_route(ctx, remote, path, hop) : next_hop(remote, hop))) return;
  PortTable& ports = ports_of(vni);
  if (flow_ids_.full() || ctxs_[ctx].free_slots.full() || flow_limit_reached(ctx)) {
    r.error = EAGAIN;
    return;
  }
  auto taken = [&](uint16_t lport) {
    FourTuple t{local, remote, lport, req.port, vni};
    return by_tuple_.count(t) != 0 || half_open_.count(t) != 0 || time_wait_.count(t) != 0;
  };
  uint16_t lport = req.local_port;
  if (lport != 0) {
    const Reservation* res = ports.find(lport);
    if ((res && (res->ctx != ctx || res->kind != ReservationKind::kBind)) || taken(lport)) {
      r.error = EADDRINUSE;
      return;
    }
    if (res) ports.release(lport);  // the bound port now belongs to the connection
  } else {
    auto p = ports.pick_for_connect(hash_.port_offset(local, remote, req.port),
                                     [&](uint16_t port) { return !taken(port); });
    if (!p) {
      r.error = EAGAIN;
      return;
    }
    lport = *p;
  }
  FourTuple t{local, remote, lport, req.port, vni};
  uint32_t flow = *new_conn(ctx, t);
  Conn& c = conns_[flow];
  c.state = ConnState::kSynSent;
  c.cookie = req.id;
  c.iss = hash_.initial_seq(t, now);
  c.ts_offset = hash_.ts_offset(t);
  c.path = path;
  c.path_mss = cached_path_mss(t, path, now);
  if (vni && path.vtep == s_.local_ip) {  // a tenant's app on this host: no ARP, its MAC is known
    c.path.mac = mac_;
    c.path.src_port = tunnel_src_port(t);
    start_syn(c, now);
  } else if (remote == local && !vni) {
    c.path.mac = mac_;
    start_syn(c, now);
  } else if (auto mac = arp_.lookup(hop, now)) {
    c.path.mac = *mac;
    if (vni) resolve_inner(flow, c, now);
    else start_syn(c, now);
  } else {
    c.arp_wait = true;
    if (arp_.wait_for(hop, flow, now)) send_arp_request(hop);
  }
  r.id = req.id;
  r.ip = local;
  r.port = lport;
  spdlog::debug("flow {}: connecting {}{}", flow, tuple_str(t), c.arp_wait ? " (resolving next hop)" : "");
}

void ControlPlane::send_arp_request(uint32_t ip) {
  FrameBuf fb = build_arp_request(mac_, s_.local_ip, ip);
  out_.frame(fb.data.data(), fb.len, 0);
  ++stats_.arp_requests_sent;
}

void ControlPlane::start_syn(Conn& c, TimeMs now) {
  c.hs = HandshakeTimer{now, now + s_.initial_rto_ms, s_.initial_rto_ms, 0};
  send_syn(c);
}

void ControlPlane::send_syn(const Conn& c) {
  SegmentSpec s;
  s.tuple = c.tuple;
  s.path = c.path;
  s.seq = c.iss;
  s.flags = kTcpSyn | (s_.ecn ? wire::kTcpEce | wire::kTcpCwr : 0);  // RFC 3168 6.1.1
  s.window = syn_window();
  s.opts = syn_options(nullptr, c.ts_offset, c.tuple.vni);
  send_segment(s);
}

void ControlPlane::on_arp_resolved(uint32_t flow, const wire::MacAddr& mac, TimeMs now) {
  Conn& c = conns_[flow];
  if (c.state != ConnState::kSynSent || !c.arp_wait) return;
  c.arp_wait = false;
  c.path.mac = mac;
  if (c.tuple.vni) resolve_inner(flow, c, now);
  else start_syn(c, now);
}

void ControlPlane::on_syn_sent_segment(uint32_t flow, Conn& c, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  uint8_t flags = f.tcp.flags;
  bool ack_ok = !c.arp_wait && !c.inner_arp_wait && (flags & kTcpAck) && f.tcp.ack == c.iss + 1;
  // RFC 9293 3.10.7.3: a reset counts only if it acknowledges our SYN.
  if (flags & kTcpRst) {
    if (ack_ok) {
      ++stats_.rsts_received;
      connect_failed(flow, ECONNREFUSED);
    } else {
      ++stats_.rsts_ignored;
    }
    return;
  }
  if ((flags & kTcpAck) && !ack_ok) {
    reply_rst(seg);
    return;
  }
  if (!(flags & kTcpSyn) || !ack_ok) {
    ++stats_.segments_dropped;  // a bare SYN would be a simultaneous open: not supported
    return;
  }
  bool ws = f.tcp.opts.wscale >= 0;
  uint16_t peer_mss = f.tcp.opts.mss ? f.tcp.opts.mss : kDefaultMss;
  InstallParams p{};
  p.mss = std::max(kMinMss, std::min(peer_mss, our_mss(c.tuple.vni)));
  p.snd_wscale = ws ? uint8_t(f.tcp.opts.wscale) : 0;
  p.rcv_wscale = ws ? our_wscale() : 0;
  p.snd_una = c.iss + 1;
  p.rcv_nxt = f.tcp.seq + 1;
  p.snd_wnd = f.tcp.window;  // RFC 7323 2.2: the window of a SYN-ACK is not scaled
  PeerSyn peer = peer_syn(f);
  p.tcp_opts = agreed_options(peer);
  p.ts_recent = peer.ts_val;
  install(flow, c, p, c.hs, now);
  SegmentSpec ack{c.tuple, c.path, p.snd_una, p.rcv_nxt, kTcpAck, rcv_window(c), {}};
  if (c.tcp_opts & abi::kFlowOptTimestamps) {
    ack.opts.timestamps = true;
    ack.opts.ts_val = ts_now(c.ts_offset);
    ack.opts.ts_ecr = p.ts_recent;
  }
  send_segment(ack);
  ctxs_[c.ctx].slots[c.slot].app_holds = true;
  emit_ctl(c, abi::CtlEventKind::kConnected, 0, c.cookie);
  ++stats_.active_opens;
  spdlog::debug("flow {}: connected {} (mss {})", flow, tuple_str(c.tuple), p.mss);
}

// The slot was never announced: the app learns the failure by its cookie, and everything is freed now.
void ControlPlane::connect_failed(uint32_t flow, int error) {
  Conn& c = conns_[flow];
  ++stats_.connect_failures;
  spdlog::debug("flow {}: connect {} failed with errno {}", flow, tuple_str(c.tuple), error);
  if (!ctxs_[c.ctx].app_gone) {
    abi::CtlEvent ev{};  // no slot or generation: the app never heard of them
    ev.kind = uint16_t(abi::CtlEventKind::kConnectFailed);
    ev.id = c.cookie;
    ev.error = error;
    ev.local_ip = c.tuple.local_ip;
    ev.remote_ip = c.tuple.remote_ip;
    ev.local_port = c.tuple.local_port;
    ev.remote_port = c.tuple.remote_port;
    out_.ctl_event(c.ctx, ev);
  }
  release_conn(flow);
}

void ControlPlane::tick_syn_sent(uint32_t flow, Conn& c, TimeMs now) {
  if (c.arp_wait || c.inner_arp_wait || now < c.hs.deadline) return;
  if (c.hs.retransmits >= s_.syn_retries) {
    connect_failed(flow, c.soft_error ? c.soft_error : ETIMEDOUT);
    return;
  }
  ++c.hs.retransmits;
  ++stats_.syn_retransmits;
  c.hs.rto = std::min<uint32_t>(c.hs.rto * 2, s_.max_rto_ms);
  c.hs.deadline = now + c.hs.rto;
  send_syn(c);
}

}  // namespace virtuoso::slowpath

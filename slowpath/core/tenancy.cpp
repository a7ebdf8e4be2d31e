// Control plane: tenants. Their addresses and port spaces, their frames inside VXLAN (the fast path
// punts the whole outer frame), the switch's remote entries, and ARP and pings inside their networks.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "control_plane.hpp"
#include "log_format.hpp"
#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::slowpath {

uint16_t ControlPlane::tenant_of_vni(uint32_t vni) const {
  if (vni == 0) return 0;
  for (size_t i = 0; i < s_.tenants.size(); ++i)
    if (s_.tenants[i].vni == vni) return uint16_t(i + 1);
  return 0;
}

uint16_t ControlPlane::frame_tenant(const uint8_t* data, size_t len) const {
  uint32_t vni = wire::peek_vni(data, len);
  return vni ? uint16_t(ctrl_.header()->tenants.tenant_of(vni)) : 0;
}

uint32_t ControlPlane::vni_of(uint16_t ctx) const {
  const config::TenantConfig* t = ctx < ctxs_.size() ? tenant(ctxs_[ctx].tenant) : nullptr;
  return t ? t->vni : 0;
}

PortTable& ControlPlane::ports_of(uint32_t vni) { return ports_[tenant_of_vni(vni)]; }
const PortTable& ControlPlane::ports_of(uint32_t vni) const { return ports_[tenant_of_vni(vni)]; }

uint32_t ControlPlane::default_ip(uint16_t ctx) const {
  const config::TenantConfig* t = ctx < ctxs_.size() ? tenant(ctxs_[ctx].tenant) : nullptr;
  return t ? config::tenant_default_ip(*t) : s_.local_ip;
}

uint16_t ControlPlane::tunnel_overhead(uint32_t vni) const { return vni ? uint16_t(wire::kVxlanOverhead) : 0; }

// A frame the fast path punted that is not plain TCP: VXLAN for a tenant, or junk.
void ControlPlane::handle_vxlan(const uint8_t* data, size_t len, TimeMs now) {
  auto v = wire::parse_vxlan_frame(data, len, true);
  if (v.error != wire::VxlanError::kOk || v.f.outer_dst_ip != s_.local_ip) {
    ++stats_.bad_frames;
    return;
  }
  ++stats_.vxlan_frames;
  uint16_t tid = tenant_of_vni(v.f.vni);
  auto eth = wire::parse_eth(v.f.inner, v.f.inner_len);
  if (!tid || !eth) {
    ++stats_.vxlan_dropped;
    return;
  }
  // Answers go back the way the frame came: to its VTEP, through the underlay hop that sent it.
  PeerPath back{v.f.outer_src_mac, v.f.outer_src_ip, eth->src, 0, v.f.vni};
  bool from_here = v.f.outer_src_ip == s_.local_ip;  // another tenant's app on this host
  if (eth->ethertype == wire::kEtherTypeArp && !from_here) {
    handle_inner_arp(tid, v.f.inner, v.f.inner_len, back, now);
    return;
  }
  if (eth->ethertype == wire::kEtherTypeIpv4 && !from_here && v.f.inner_len > wire::kEthHeaderLen + 9 &&
      v.f.inner[wire::kEthHeaderLen + 9] == wire::kIpProtoIcmp) {
    handle_inner_ping(tid, v.f.inner, v.f.inner_len, back);
    return;
  }
  const config::TenantConfig& t = *tenant(tid);
  auto parsed = wire::parse_tcp_frame(v.f.inner, v.f.inner_len, true);
  if (parsed.error != wire::FrameError::kOk || eth->dst != tenant_mac(t.vni) ||
      !config::tenant_owns(t, parsed.f.ip.dst)) {
    ++stats_.vxlan_dropped;
    return;
  }
  if (from_here) {
    // The sender's tenant is in its MAC; it must own the source address and be allowed to talk.
    uint16_t src = tenant_of_vni(vni_of_tenant_mac(eth->src));
    if (!src || !config::tenant_owns(*tenant(src), parsed.f.ip.src) || !may_talk(src, tid)) {
      ++stats_.switch_no_entry;
      return;
    }
    back = PeerPath{mac_, s_.local_ip, eth->src, 0, tenant(src)->vni};
  } else {
    // The switch: a sender must live behind the tunnel endpoint it came from.
    const config::TenantRemote* remote = config::tenant_remote_for(t, parsed.f.ip.src);
    if (!remote || remote->vtep != v.f.outer_src_ip) {
      ++stats_.switch_no_entry;
      return;
    }
  }
  const wire::TcpFrame& f = parsed.f;
  back.src_port = tunnel_src_port(FourTuple{f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port, t.vni});
  handle_tcp(Segment{f, data, len, t.vni, back}, now);
}

// ARP inside a virtual network: the switch answers for the tenant's own addresses (nothing is
// flooded) and learns the MACs of the peers behind its remote entries.
void ControlPlane::handle_inner_arp(uint16_t tid, const uint8_t* inner, size_t inner_len, const PeerPath& back,
                                    TimeMs now) {
  const config::TenantConfig& t = *tenant(tid);
  auto arp = wire::parse_arp(inner + wire::kEthHeaderLen, inner_len - wire::kEthHeaderLen);
  if (!arp || arp->sender_ip == 0 || wire::is_multicast(arp->sender_mac)) {
    ++stats_.vxlan_dropped;
    return;
  }
  const config::TenantRemote* remote = config::tenant_remote_for(t, arp->sender_ip);
  if (!remote || remote->vtep != back.vtep) {
    ++stats_.switch_no_entry;
    return;
  }
  bool for_us = config::tenant_owns(t, arp->target_ip);
  uint64_t refused = inner_arp_[tid].refused();
  std::vector<uint32_t> resolved = inner_arp_[tid].learn(arp->sender_ip, arp->sender_mac, now, for_us);
  stats_.arp_cache_full += inner_arp_[tid].refused() - refused;
  for (uint32_t flow : resolved) {
    Conn& c = conns_[flow];
    if (c.state != ConnState::kSynSent || !c.inner_arp_wait) continue;
    c.inner_arp_wait = false;
    c.path.inner_mac = arp->sender_mac;
    start_syn(c, now);
  }
  if (arp->op != wire::kArpRequest || !for_us) return;
  uint8_t frame[64] = {};
  wire::MacAddr mine = tenant_mac(t.vni);
  wire::ArpPacket reply{wire::kArpReply, mine, arp->target_ip, arp->sender_mac, arp->sender_ip};
  size_t n = wire::build_arp_frame(frame, arp->sender_mac, mine, reply);
  PeerPath to = back;
  to.src_port = wire::vxlan_source_port(wire::vxlan_inner_flow_hash(frame, n));
  FrameBuf fb;
  if (!encapsulate(fb, frame, n < kMinFrameLen ? kMinFrameLen : n, underlay(), t.vni, to)) return;
  out_.frame(fb.data.data(), fb.len, 0);
  ++stats_.inner_arp_replies;
}

// A ping of a tenant's address from a peer behind one of its remote entries: answered inside the
// tunnel it came through, with the request's id, sequence number and data (RFC 792).
void ControlPlane::handle_inner_ping(uint16_t tid, const uint8_t* inner, size_t inner_len, const PeerPath& back) {
  const config::TenantConfig& t = *tenant(tid);
  auto eth = wire::parse_eth(inner, inner_len);
  auto ip = wire::parse_ipv4(inner + wire::kEthHeaderLen, inner_len - wire::kEthHeaderLen);
  if (!eth || ip.error != wire::Ipv4Error::kOk || eth->dst != tenant_mac(t.vni) || !config::tenant_owns(t, ip.hdr.dst)) {
    ++stats_.vxlan_dropped;
    return;
  }
  const uint8_t* msg = inner + wire::kEthHeaderLen + ip.hdr.ihl_bytes;
  size_t msg_len = ip.hdr.total_len - ip.hdr.ihl_bytes;
  auto echo = wire::parse_icmp_echo(msg, msg_len);
  if (echo.error != wire::IcmpError::kOk || !echo.echo.request) {
    ++stats_.vxlan_dropped;  // errors about a tenant's datagrams are not acted on yet
    return;
  }
  const config::TenantRemote* remote = config::tenant_remote_for(t, ip.hdr.src);
  if (!remote || remote->vtep != back.vtep) {
    ++stats_.switch_no_entry;
    return;
  }
  if (!icmp_out_.take(uint64_t(now_) * 1000)) {
    ++stats_.icmp_rate_limited;
    return;
  }
  FrameBuf reply;
  size_t n = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen + msg_len;
  if (n + wire::kVxlanOverhead > reply.data.size()) return;
  uint8_t* p = reply.data.data() + wire::kVxlanOverhead;
  wire::MacAddr mine = tenant_mac(t.vni);
  wire::build_eth(p, {eth->src, mine, wire::kEtherTypeIpv4});
  wire::build_icmp_echo_reply(p + wire::kEthHeaderLen + wire::kIpv4MinHeaderLen, echo.echo);
  wire::build_ipv4(p + wire::kEthHeaderLen, ip.hdr.dst, ip.hdr.src, wire::kIpProtoIcmp, uint16_t(msg_len));
  if (n < kMinFrameLen) {
    std::memset(p + n, 0, kMinFrameLen - n);
    n = kMinFrameLen;
  }
  PeerPath to = back;
  to.src_port = wire::vxlan_source_port(wire::vxlan_inner_flow_hash(p, n));
  wire::VxlanOuter o{mac_, to.mac, s_.local_ip, to.vtep, to.src_port, t.vni, 0, 0};
  reply.len = wire::build_vxlan_outer(reply.data.data(), o, n);
  out_.frame(reply.data.data(), reply.len, 0);
  ++stats_.inner_echo_replies;
}

void ControlPlane::send_inner_arp_request(uint16_t tid, const PeerPath& path, uint32_t local_ip, uint32_t target_ip) {
  uint32_t vni = tenant(tid)->vni;
  FrameBuf inner = build_arp_request(tenant_mac(vni), local_ip, target_ip);
  PeerPath to = path;
  to.src_port = wire::vxlan_source_port(wire::vxlan_inner_flow_hash(inner.data.data(), inner.len));
  FrameBuf fb;
  if (!encapsulate(fb, inner.data.data(), inner.len, underlay(), vni, to)) return;
  out_.frame(fb.data.data(), fb.len, 0);
  ++stats_.arp_requests_sent;
}

bool ControlPlane::may_talk(uint16_t a, uint16_t b) const {
  return a == b || config::tenant_may_reach(*tenant(a), *tenant(b)) || config::tenant_may_reach(*tenant(b), *tenant(a));
}

// Where `remote` is for an app of the context's tenant: its own address (an app here), behind a
// remote entry (a VTEP), or an address of a tenant here it may reach, in that order.
int ControlPlane::tenant_route(uint16_t ctx, uint32_t remote, PeerPath& path, uint32_t& hop) {
  uint16_t me = ctxs_[ctx].tenant;
  const config::TenantConfig& t = *tenant(me);
  auto here = [&](uint16_t peer) {
    path = PeerPath{mac_, s_.local_ip, tenant_mac(tenant(peer)->vni), 0, tenant(peer)->vni};
    hop = 0;
    return 0;
  };
  if (config::tenant_owns(t, remote)) return here(me);
  if (const config::TenantRemote* entry = config::tenant_remote_for(t, remote)) {
    path.vtep = entry->vtep;
    path.vni = t.vni;
    return next_hop(entry->vtep, hop);
  }
  bool refused = false;
  for (uint16_t other = 1; other <= s_.tenants.size(); ++other) {
    if (other == me || !config::tenant_owns(*tenant(other), remote)) continue;
    if (config::tenant_may_reach(t, *tenant(other))) return here(other);
    refused = true;
  }
  if (refused) {  // another tenant's address on this host, which policy does not let us reach
    ++stats_.tenant_refusals;
    if (log_ok(LogKind::kRefusal))
      spdlog::info("context {} (tenant '{}'): {} belongs to a tenant it may not reach", ctx, t.name, ip_str(remote));
    return ECONNREFUSED;
  }
  ++stats_.switch_no_entry;
  spdlog::debug("context {} (tenant '{}'): no switch entry for {}", ctx, t.name, ip_str(remote));
  return ENETUNREACH;
}

void ControlPlane::resolve_inner(uint32_t flow, Conn& c, TimeMs now) {
  uint16_t tid = tenant_of_vni(c.tuple.vni);
  c.path.src_port = tunnel_src_port(c.tuple);
  if (auto mac = inner_arp_[tid].lookup(c.tuple.remote_ip, now)) {
    c.path.inner_mac = *mac;
    start_syn(c, now);
    return;
  }
  c.inner_arp_wait = true;
  if (inner_arp_[tid].wait_for(c.tuple.remote_ip, flow, now))
    send_inner_arp_request(tid, c.path, c.tuple.local_ip, c.tuple.remote_ip);
}

void ControlPlane::tick_inner_arp(TimeMs now) {
  for (uint16_t tid = 1; tid < inner_arp_.size(); ++tid) {
    ArpResolver& arp = inner_arp_[tid];
    if (!arp.pending()) continue;
    auto ex = arp.tick(now);
    const config::TenantConfig& t = *tenant(tid);
    for (uint32_t ip : ex.resend) {
      const config::TenantRemote* entry = config::tenant_remote_for(t, ip);
      uint32_t hop = 0;
      if (!entry || next_hop(entry->vtep, hop) != 0) continue;
      auto mac = arp_.lookup(hop, now);
      if (!mac) continue;  // the underlay forgot it meanwhile: the resolution fails below
      send_inner_arp_request(tid, PeerPath{*mac, entry->vtep, {}, 0}, config::tenant_default_ip(t), ip);
    }
    for (uint32_t flow : ex.failed) {
      Conn& c = conns_[flow];
      if (c.state != ConnState::kSynSent || !c.inner_arp_wait) continue;
      c.inner_arp_wait = false;
      ++stats_.arp_failures;
      connect_failed(flow, EHOSTUNREACH);
    }
  }
}

}  // namespace virtuoso::slowpath

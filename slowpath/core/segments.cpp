// Building the slow path's own frames, plain or inside VXLAN.
#include "segments.hpp"

#include <cstring>

#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::slowpath {

wire::MacAddr tenant_mac(uint32_t vni) {
  return wire::MacAddr{0x02, 0x76, 0x74, uint8_t(vni >> 16), uint8_t(vni >> 8), uint8_t(vni)};
}

uint16_t tunnel_src_port(const FourTuple& t) {
  return wire::vxlan_source_port(
      wire::vxlan_flow_hash(t.local_ip, t.remote_ip, t.local_port, t.remote_port, wire::kIpProtoTcp));
}

uint32_t vni_of_tenant_mac(const wire::MacAddr& mac) {
  if (mac[0] != 0x02 || mac[1] != 0x76 || mac[2] != 0x74) return 0;
  return uint32_t(mac[3]) << 16 | uint32_t(mac[4]) << 8 | mac[5];
}

FrameBuf build_segment(const Underlay& self, const SegmentSpec& s) {
  FrameBuf out;
  bool tunnel = s.tuple.vni != 0;
  size_t at = tunnel ? wire::kVxlanOverhead : 0;
  wire::TcpFrameOut f{};
  f.eth_src = tunnel ? tenant_mac(s.tuple.vni) : self.mac;
  f.eth_dst = tunnel ? s.path.inner_mac : s.path.mac;
  f.ip_src = s.tuple.local_ip;
  f.ip_dst = s.tuple.remote_ip;
  f.ip_id = 0;  // DF is set: the id identifies no fragments
  f.tcp = wire::TcpSegmentOut{s.tuple.local_port, s.tuple.remote_port, s.seq, s.ack, s.flags, s.window, s.opts};
  size_t len = wire::build_tcp_frame(out.data.data() + at, f, 0);
  if (tunnel) {
    uint32_t vni = s.path.vni ? s.path.vni : s.tuple.vni;
    wire::VxlanOuter o{self.mac, s.path.mac, self.ip, s.path.vtep, s.path.src_port, vni, 0, 0};
    len = wire::build_vxlan_outer(out.data.data(), o, len);
  }
  out.len = len < kMinFrameLen ? kMinFrameLen : len;
  return out;
}

bool encapsulate(FrameBuf& out, const uint8_t* inner, size_t inner_len, const Underlay& self, uint32_t vni,
                 const PeerPath& peer) {
  if (inner_len + wire::kVxlanOverhead > out.data.size()) return false;
  std::memmove(out.data.data() + wire::kVxlanOverhead, inner, inner_len);
  wire::VxlanOuter o{self.mac, peer.mac, self.ip, peer.vtep, peer.src_port, vni, 0, 0};
  out.len = wire::build_vxlan_outer(out.data.data(), o, inner_len);
  return true;
}

FrameBuf build_arp_request(const wire::MacAddr& src_mac, uint32_t local_ip, uint32_t target_ip) {
  FrameBuf out;
  wire::ArpPacket a{wire::kArpRequest, src_mac, local_ip, wire::MacAddr{}, target_ip};
  out.len = wire::build_arp_frame(out.data.data(), wire::kBroadcastMac, src_mac, a);
  return out;
}

}  // namespace virtuoso::slowpath

// VXLAN receive (RFC 7348): outer and VNI checks, then the inner segment to TCP input or a punt.
#include "datapath.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::fastpath {

namespace {

using wire::VxlanError;

// Whether a datagram parse_vxlan_frame refused was meant for the tunnel, so that its loss counts
// as drop_vxlan_outer. Other UDP ports, fragments (a later one carries no port to tell) and IPv4
// headers that cannot be read stay bad IP, as they were before VXLAN. Behind a wrong outer IPv4
// checksum the rest may be sound: parse again without checksums to find the port.
bool meant_for_vxlan(const uint8_t* data, uint16_t len, VxlanError err) {
  if (err == VxlanError::kIpv4) err = wire::parse_vxlan_frame(data, len, false).error;
  switch (err) {
    case VxlanError::kEth:
    case VxlanError::kNotIpv4:
    case VxlanError::kIpv4:
    case VxlanError::kFragment:
    case VxlanError::kNotUdp:
    case VxlanError::kNotVxlanPort:
      return false;
    default:
      return true;
  }
}

// An inner IPv4 datagram carrying ICMP (parse_vxlan_frame promised the Ethernet header).
bool inner_icmp(const uint8_t* inner, size_t len) {
  return wire::load_be16(inner + 12) == wire::kEtherTypeIpv4 && len > wire::kEthHeaderLen + 9 &&
         inner[wire::kEthHeaderLen + 9] == wire::kIpProtoIcmp;
}

}  // namespace

// A frame is handled here in one of these ways, each counted once:
//   drop_bad_ip       not UDP to port 4789, or not to our address (we are not that VTEP)
//   drop_vxlan_outer  UDP to port 4789 with a malformed outer IPv4/UDP/VXLAN header or checksum
//   drop_vxlan_vni    a VNI no tenant has (0 included: it stands for the host's own flows)
//   drop_vxlan_inner  an inner frame that is neither ARP, ICMP nor a sound IPv4/TCP segment
//   tcp_input         a segment of an installed flow of that VNI, from the flow's VTEP, no SYN/RST
//   punt              everything else (ARP and ICMP inside too), the WHOLE outer frame, so the
//                     slow path sees VNI and VTEP
// vxlan_rx counts every frame that reaches its inner frame (a known VNI): delivered, punted or
// dropped as drop_vxlan_inner alike.
void Datapath::vxlan_input(const uint8_t* data, uint16_t len) {
  wire::VxlanParse v = wire::parse_vxlan_frame(data, len);
  if (v.error != VxlanError::kOk) {
    ++(meant_for_vxlan(data, len, v.error) ? stats_->drop_vxlan_outer : stats_->drop_bad_ip);
    return;
  }
  if (v.f.outer_dst_ip != cfg_.local_ip) {
    ++stats_->drop_bad_ip;
    return;
  }
  uint32_t tenant = v.f.vni ? ctrl_.header()->tenants.tenant_of(v.f.vni) : 0;
  if (tenant == 0 || tenant > abi::kMaxTenants) {
    ++stats_->drop_vxlan_vni;
    return;
  }
  ++stats_->vxlan_rx;
  // parse_vxlan_frame promises an inner Ethernet header.
  if (wire::load_be16(v.f.inner + 12) == wire::kEtherTypeArp || inner_icmp(v.f.inner, v.f.inner_len)) {
    punt(data, len);  // the slow path answers ARP and pings inside virtual networks
    return;
  }
  auto inner = wire::parse_tcp_frame(v.f.inner, v.f.inner_len);
  if (inner.error != wire::FrameError::kOk) {
    ++stats_->drop_vxlan_inner;
    ++tenant_stats_[tenant].drop_vxlan_inner;
    return;
  }
  wire::TcpFrame& f = inner.f;
  // RFC 6040 4.2: CE on the outer header of an ECN-capable inner packet is congestion it met.
  if (v.f.outer_ecn == wire::kEcnCe && (f.ip.tos & wire::kEcnMask) != wire::kEcnNotEct) f.ip.tos |= wire::kEcnCe;
  uint32_t flow = table_.find({v.f.vni, f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port});
  // Is this a segment of an installed flow, through the tunnel the flow was set up with, without
  // connection-control flags? Otherwise the slow path decides (handshakes, resets, a sender its
  // switch does not know).
  if (flow == FlowTable::kNone || ctrl_.flow(flow)->vtep_ip != v.f.outer_src_ip ||
      (f.tcp.flags & (wire::kTcpSyn | wire::kTcpRst))) {
    punt(data, len);
    return;
  }
  tcp_input(flow, f);
}

}  // namespace virtuoso::fastpath

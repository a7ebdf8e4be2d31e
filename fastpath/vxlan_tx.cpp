// VXLAN transmit (RFC 7348): outer headers written in front of a tunnelled flow's segment.
#include <cstring>

#include "datapath.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::fastpath {

// Where a flow's segment starts in its frame buffer: a tunnelled one leaves room in front for the
// outer headers, so encapsulation writes them in place instead of moving the segment.
size_t Datapath::segment_offset(const abi::FlowEntry& e) {
  return e.vni ? wire::kVxlanOverhead : 0;
}

// Writes outer Ethernet/IPv4/UDP/VXLAN in front of the `inner_len`-byte segment at
// frame + segment_offset(e), towards the flow's VTEP through its underlay next hop (remote_mac).
// Returns the whole frame's length.
size_t Datapath::vxlan_encap(const abi::FlowEntry& e, uint8_t* frame, size_t inner_len) {
  wire::VxlanOuter o{};
  o.src_mac = cfg_.local_mac;
  std::memcpy(o.dst_mac.data(), e.remote_mac, 6);
  o.src_ip = cfg_.local_ip;
  o.dst_ip = e.vtep_ip;
  o.src_port = e.vxlan_src_port;  // the slow path hashed the inner 4-tuple into it once
  // The peer's network: the flow's own through a remote VTEP, another tenant's for an app of that
  // tenant on this host (the frame then comes round through local delivery).
  o.vni = e.peer_vni ? e.peer_vni : e.vni;
  o.ip_id = ip_id_++;
  // RFC 6040 normal mode: the outer header carries the inner ECN field, so a congested underlay
  // can mark it (the receiving end copies a CE mark back in).
  o.ecn = frame[segment_offset(e) + wire::kEthHeaderLen + 1] & wire::kEcnMask;
  ++stats_->vxlan_tx;
  return wire::build_vxlan_outer(frame, o, inner_len);
}

}  // namespace virtuoso::fastpath

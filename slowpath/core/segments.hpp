// The frames the slow path originates (SYN, SYN-ACK, ACK, RST, ARP request), built with the wire
// helpers into a fixed buffer. No state: the control plane decides every field.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "types.hpp"
#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/tcp.hpp"

namespace virtuoso::slowpath {

inline constexpr size_t kMinFrameLen = 60;  // Ethernet minimum without FCS: shorter frames are zero-padded

struct FrameBuf {
  std::array<uint8_t, 192> data{};  // the largest: a SYN with every option inside VXLAN (144 bytes)
  size_t len = 0;
};

// Where a connection's frames go. Plain: `mac` is the next hop. A tenant's flow (its tuple has a
// VNI): the frame travels inside VXLAN with VNI `vni` (the peer's network) to `vtep`, `mac` is the
// underlay next hop towards it, `inner_mac` the peer's MAC inside the virtual network. `vtep` may
// be this host: the peer is an app of a tenant here (then `vni` is that tenant's).
struct PeerPath {
  wire::MacAddr mac{};
  uint32_t vtep = 0;
  wire::MacAddr inner_mac{};
  uint16_t src_port = 0;  // outer UDP source port, from the inner flow hash
  uint32_t vni = 0;
};

// Our MAC inside virtual network `vni`: locally administered, one per VNI on this host.
wire::MacAddr tenant_mac(uint32_t vni);
// The VNI a tenant_mac() names, or 0 if `mac` is not one.
uint32_t vni_of_tenant_mac(const wire::MacAddr& mac);

// The outer UDP source port of a tenant's connection: a hash of its inner addresses and ports,
// so the underlay's ECMP and RSS spread tunnelled flows (RFC 7348 section 5).
uint16_t tunnel_src_port(const FourTuple& t);

// This host on the underlay: the outer source of every VXLAN frame it sends.
struct Underlay {
  wire::MacAddr mac{};
  uint32_t ip = 0;
};

struct SegmentSpec {
  FourTuple tuple;        // local = source
  PeerPath path;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  wire::TcpOptionsOut opts{};
};

// A tenant's segment (tuple.vni != 0) comes out encapsulated, from `self` to peer.vtep.
FrameBuf build_segment(const Underlay& self, const SegmentSpec& s);

// Wraps the inner frame `inner` in outer Ethernet/IPv4/UDP/VXLAN headers; false if it does not fit.
bool encapsulate(FrameBuf& out, const uint8_t* inner, size_t inner_len, const Underlay& self, uint32_t vni,
                 const PeerPath& peer);

// Broadcast "who has target_ip, tell local_ip".
FrameBuf build_arp_request(const wire::MacAddr& src_mac, uint32_t local_ip, uint32_t target_ip);

}  // namespace virtuoso::slowpath

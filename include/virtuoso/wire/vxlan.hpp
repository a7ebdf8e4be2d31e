// VXLAN over IPv4 (RFC 7348): decapsulate to the inner frame, build outer headers, pick the port.
#pragma once
#include <cstddef>
#include <cstdint>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/ipv4.hpp"
#include "virtuoso/wire/udp.hpp"

namespace virtuoso::wire {

inline constexpr uint16_t kVxlanPort = 4789;  // IANA-assigned destination port (RFC 7348 section 5)
inline constexpr size_t kVxlanHeaderLen = 8;
inline constexpr size_t kVxlanOverhead =
    kEthHeaderLen + kIpv4MinHeaderLen + kUdpHeaderLen + kVxlanHeaderLen;
static_assert(kVxlanOverhead == 50);
// "VNI valid", the one flag defined (RFC 7348 section 5).
inline constexpr uint8_t kVxlanFlagI = 0x08;
inline constexpr uint32_t kVxlanMaxVni = 0xffffff;  // 24 bits
// Outer UDP source ports come from the dynamic range 49152-65535 (RFC 7348 section 5, RFC 6335).
inline constexpr uint16_t kVxlanSrcPortMin = 49152;

// Why parse_vxlan_frame refused a frame: one reason per check, so each can have its own counter.
enum class VxlanError {
  kOk,
  kEth,             // shorter than an Ethernet header
  kNotIpv4,         // outer ethertype is not IPv4
  kIpv4,            // outer IPv4 header malformed or its checksum wrong
  kFragment,        // outer datagram is a fragment (not reassembled)
  kNotUdp,          // outer protocol is not UDP
  kUdp,             // UDP header truncated or its length inconsistent with the IPv4 length
  kNotVxlanPort,    // UDP destination port is not 4789
  kUdpChecksum,     // nonzero UDP checksum that does not verify
  kVxlanTruncated,  // UDP payload shorter than the VXLAN header
  kVxlanFlags,      // I flag clear: the VNI is not valid
  kInnerTooShort,   // inner frame shorter than an Ethernet header
  kCount,
};

// Counter name of each reason; -Wswitch (an error here) catches a reason added without one.
inline constexpr const char* vxlan_error_name(VxlanError e) {
  switch (e) {
    case VxlanError::kOk:
      return "ok";
    case VxlanError::kEth:
      return "eth";
    case VxlanError::kNotIpv4:
      return "not_ipv4";
    case VxlanError::kIpv4:
      return "ipv4";
    case VxlanError::kFragment:
      return "fragment";
    case VxlanError::kNotUdp:
      return "not_udp";
    case VxlanError::kUdp:
      return "udp";
    case VxlanError::kNotVxlanPort:
      return "not_vxlan_port";
    case VxlanError::kUdpChecksum:
      return "udp_checksum";
    case VxlanError::kVxlanTruncated:
      return "vxlan_truncated";
    case VxlanError::kVxlanFlags:
      return "vxlan_flags";
    case VxlanError::kInnerTooShort:
      return "inner_too_short";
    case VxlanError::kCount:
      break;
  }
  return "?";
}

struct VxlanFrame {
  MacAddr outer_src_mac;
  MacAddr outer_dst_mac;
  uint32_t outer_src_ip;  // host order: the remote VTEP
  uint32_t outer_dst_ip;
  uint16_t udp_src_port;
  uint8_t outer_ecn;     // the outer IPv4 header's ECN field (RFC 6040: a CE mark there reaches the inner)
  uint32_t vni;          // 24 bits
  const uint8_t* inner;  // the inner Ethernet frame
  size_t inner_len;
};

struct VxlanParse {
  VxlanError error;
  VxlanFrame f;
};

// Checks every outer layer and returns the inner frame's span. Reserved VXLAN bits are ignored, as
// RFC 7348 section 5 asks of receivers. A zero UDP checksum is accepted (the RFC says it MUST be);
// a nonzero one is verified when `verify_checksums` is set, as is the outer IPv4 checksum. The
// inner frame ends where the UDP length says; Ethernet padding after it is not part of it.
inline VxlanParse parse_vxlan_frame(const uint8_t* p, size_t len, bool verify_checksums = true) {
  VxlanParse r{VxlanError::kOk, {}};
  auto eth = parse_eth(p, len);
  if (!eth) return {VxlanError::kEth, {}};
  if (eth->ethertype != kEtherTypeIpv4) return {VxlanError::kNotIpv4, {}};
  auto ip = parse_ipv4(p + kEthHeaderLen, len - kEthHeaderLen, verify_checksums);
  if (ip.error == Ipv4Error::kFragment) return {VxlanError::kFragment, {}};
  if (ip.error != Ipv4Error::kOk) return {VxlanError::kIpv4, {}};
  if (ip.hdr.proto != kIpProtoUdp) return {VxlanError::kNotUdp, {}};
  const uint8_t* u = p + kEthHeaderLen + ip.hdr.ihl_bytes;
  auto udp = parse_udp(u, ip.hdr.total_len - ip.hdr.ihl_bytes, ip.hdr.src, ip.hdr.dst, false);
  if (udp.error != UdpError::kOk) return {VxlanError::kUdp, {}};
  if (udp.hdr.dst_port != kVxlanPort) return {VxlanError::kNotVxlanPort, {}};
  if (verify_checksums && !udp_checksum_ok(u, udp.hdr, ip.hdr.src, ip.hdr.dst))
    return {VxlanError::kUdpChecksum, {}};
  size_t vx_len = udp.hdr.length - kUdpHeaderLen;
  if (vx_len < kVxlanHeaderLen) return {VxlanError::kVxlanTruncated, {}};
  const uint8_t* vx = u + kUdpHeaderLen;
  if (!(vx[0] & kVxlanFlagI)) return {VxlanError::kVxlanFlags, {}};
  if (vx_len - kVxlanHeaderLen < kEthHeaderLen) return {VxlanError::kInnerTooShort, {}};
  r.f.outer_src_mac = eth->src;
  r.f.outer_dst_mac = eth->dst;
  r.f.outer_src_ip = ip.hdr.src;
  r.f.outer_dst_ip = ip.hdr.dst;
  r.f.udp_src_port = udp.hdr.src_port;
  r.f.outer_ecn = ip.hdr.tos & kEcnMask;
  r.f.vni = load_be32(vx + 4) >> 8;
  r.f.inner = vx + kVxlanHeaderLen;
  r.f.inner_len = vx_len - kVxlanHeaderLen;
  return r;
}

// The 8-byte VXLAN header: I flag, reserved bits zero (RFC 7348 section 5).
inline void build_vxlan_header(uint8_t* p, uint32_t vni) {
  store_be32(p, uint32_t(kVxlanFlagI) << 24);
  store_be32(p + 4, (vni & kVxlanMaxVni) << 8);
}

struct VxlanOuter {
  MacAddr src_mac;
  MacAddr dst_mac;    // next hop towards the remote VTEP
  uint32_t src_ip;    // host order: the local VTEP
  uint32_t dst_ip;    // the remote VTEP
  uint16_t src_port;  // from vxlan_source_port
  uint32_t vni;
  uint16_t ip_id;
  uint8_t ecn;  // the inner header's ECN field, copied out (RFC 6040 normal mode)
};

// Writes the outer Ethernet, IPv4 (TTL 64, DF set), UDP (checksum 0, which RFC 7348 section 5
// allows over IPv4) and VXLAN headers in front of an inner frame already at out + kVxlanOverhead.
// `inner_len` <= 65535 - 36 so the outer IPv4 length fits. Returns the whole frame's length.
inline size_t build_vxlan_outer(uint8_t* out, const VxlanOuter& o, size_t inner_len) {
  size_t udp_payload = kVxlanHeaderLen + inner_len;
  build_eth(out, {o.dst_mac, o.src_mac, kEtherTypeIpv4});
  build_ipv4(out + kEthHeaderLen, o.src_ip, o.dst_ip, kIpProtoUdp,
             uint16_t(kUdpHeaderLen + udp_payload), o.ip_id, 64, uint8_t(o.ecn & kEcnMask));
  uint8_t* u = out + kEthHeaderLen + kIpv4MinHeaderLen;
  build_udp(u, o.src_port, kVxlanPort, udp_payload, o.src_ip, o.dst_ip, false);
  build_vxlan_header(u + kUdpHeaderLen, o.vni);
  return kVxlanOverhead + inner_len;
}

// Maps a flow hash onto 49152-65535 using its top 14 bits, so that routers hashing the outer
// headers (ECMP) and NICs hashing them (RSS) spread the tunnelled flows (RFC 7348 section 5).
constexpr uint16_t vxlan_source_port(uint32_t flow_hash) {
  return uint16_t(kVxlanSrcPortMin + (flow_hash >> 18));
}

// A xorshift-multiply finalizer: every input bit affects every output bit.
constexpr uint32_t flow_mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  h ^= h >> 16;
  return h;
}

// Hash of an inner flow: the same addresses, ports and protocol always give the same value.
constexpr uint32_t vxlan_flow_hash(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
                                   uint16_t dst_port, uint8_t proto) {
  uint32_t h = flow_mix32(src_ip ^ 0x9e3779b9U);
  h = flow_mix32(h ^ dst_ip);
  h = flow_mix32(h ^ (uint32_t(src_port) << 16 | dst_port));
  return flow_mix32(h ^ proto);
}

// vxlan_flow_hash of an inner Ethernet frame. IPv4 TCP/UDP: addresses, ports and protocol; other
// IPv4, and every fragment (only the first carries ports): addresses and protocol, ports 0, so all
// pieces of a datagram take one path; anything else: the MAC addresses and ethertype.
// Reads only within `len`; checksums are not looked at.
inline uint32_t vxlan_inner_flow_hash(const uint8_t* inner, size_t len) {
  if (len < kEthHeaderLen) return 0;
  uint16_t type = load_be16(inner + 12);
  const uint8_t* ip = inner + kEthHeaderLen;
  size_t ip_len = len - kEthHeaderLen;
  size_t ihl = ip_len ? size_t(ip[0] & 0x0f) * 4 : 0;
  if (type != kEtherTypeIpv4 || ip_len < kIpv4MinHeaderLen || ihl < kIpv4MinHeaderLen) {
    return vxlan_flow_hash(load_be32(inner), load_be32(inner + 6), load_be16(inner + 4),
                           load_be16(inner + 10), uint8_t(type ^ (type >> 8)));
  }
  uint8_t proto = ip[9];
  bool fragment = (load_be16(ip + 6) & 0x3fff) != 0;
  bool ports = (proto == kIpProtoTcp || proto == kIpProtoUdp) && !fragment && ihl + 4 <= ip_len;
  return vxlan_flow_hash(load_be32(ip + 12), load_be32(ip + 16), ports ? load_be16(ip + ihl) : 0,
                         ports ? load_be16(ip + ihl + 2) : 0, proto);
}

// The VNI a frame names if it looks like VXLAN: Ethernet/IPv4 (first or only fragment), UDP to
// port 4789, the I flag set; 0 otherwise. A glance, not a parse: no length or checksum checks
// past the bytes it reads, so it can tell whose work a frame is before anyone pays to check it.
inline uint32_t peek_vni(const uint8_t* p, size_t len) {
  constexpr size_t kIp = kEthHeaderLen;
  if (len < kIp + 20 || load_be16(p + 12) != kEtherTypeIpv4 || (p[kIp] >> 4) != 4) return 0;
  size_t ihl = size_t(p[kIp] & 0x0f) * 4;
  if (ihl < 20 || p[kIp + 9] != kIpProtoUdp || (load_be16(p + kIp + 6) & 0x1fff) != 0) return 0;
  size_t udp = kIp + ihl;
  if (len < udp + kUdpHeaderLen + kVxlanHeaderLen || load_be16(p + udp + 2) != kVxlanPort) return 0;
  const uint8_t* vx = p + udp + kUdpHeaderLen;
  return (vx[0] & kVxlanFlagI) ? load_be32(vx + 4) >> 8 : 0;
}

}  // namespace virtuoso::wire

// ICMPv6 (RFC 4443) as the stack needs it: echo, packet too big (path MTU, RFC 8201), and the
// neighbour solicitations and advertisements of neighbour discovery (RFC 4861) with their
// link-layer address options. Pure parse (validated as RFC 4861 7.1 says) and build on bytes; the
// checksum covers the IPv6 pseudo-header, so every call takes the packet's addresses.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/ipv6.hpp"

namespace virtuoso::wire {

inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6NeighborSolicit = 135;
inline constexpr uint8_t kIcmpv6NeighborAdvert = 136;
inline constexpr uint8_t kNdHopLimit = 255;  // RFC 4861 7.1: ND from anywhere but the link is forged
inline constexpr uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdOptTargetLinkAddr = 2;
inline constexpr size_t kNdMessageLen = 24;  // type, code, checksum, 4 bytes, target address
inline constexpr size_t kNdLinkAddrOptLen = 8;  // Ethernet: type, length 1 (x8 bytes), 6 bytes
// Neighbour advertisement flags, the first byte after the checksum.
inline constexpr uint8_t kNaRouter = 0x80;
inline constexpr uint8_t kNaSolicited = 0x40;
inline constexpr uint8_t kNaOverride = 0x20;

enum class Icmpv6Error { kOk, kTruncated, kChecksum, kMalformed };

struct Icmpv6 {
  uint8_t type;
  uint8_t code;
  const uint8_t* body;  // after type, code and checksum
  size_t body_len;
};
struct Icmpv6Parse {
  Icmpv6Error error;
  Icmpv6 msg;
};

// `p`/`len`: the ICMPv6 message (the IPv6 payload); `ip`: the header it came in.
inline Icmpv6Parse parse_icmpv6(const Ipv6Header& ip, const uint8_t* p, size_t len, bool verify_checksum = true) {
  if (len < 4) return {Icmpv6Error::kTruncated, {}};
  if (verify_checksum && upper_layer_checksum_v6(ip.src, ip.dst, kIpProtoIcmpv6, p, len) != 0)
    return {Icmpv6Error::kChecksum, {}};
  return {Icmpv6Error::kOk, {p[0], p[1], p + 4, len - 4}};
}

// Fills in the checksum of the `len`-byte message at `p` (its checksum field is overwritten).
inline void set_icmpv6_checksum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t* p, size_t len) {
  store_be16(p + 2, 0);
  store_be16(p + 2, upper_layer_checksum_v6(src, dst, kIpProtoIcmpv6, p, len));
}

// Echo request or reply (RFC 4443 4): identifier, sequence number, data.
struct Icmpv6Echo {
  uint16_t id;
  uint16_t seq;
  const uint8_t* data;
  size_t data_len;
};
inline std::optional<Icmpv6Echo> echo_of(const Icmpv6& m) {
  if ((m.type != kIcmpv6EchoRequest && m.type != kIcmpv6EchoReply) || m.code != 0 || m.body_len < 4) return {};
  return Icmpv6Echo{load_be16(m.body), load_be16(m.body + 2), m.body + 4, m.body_len - 4};
}
// The reply to `req` from `src` to `dst`, at `out` (room for 8 + data bytes); returns its length.
inline size_t build_icmpv6_echo_reply(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst, const Icmpv6Echo& req) {
  out[0] = kIcmpv6EchoReply;
  out[1] = 0;
  store_be16(out + 4, req.id);
  store_be16(out + 6, req.seq);
  std::memmove(out + 8, req.data, req.data_len);
  set_icmpv6_checksum(src, dst, out, 8 + req.data_len);
  return 8 + req.data_len;
}

// Packet too big (RFC 4443 3.2): the next hop's MTU and the start of the packet that did not fit,
// enough to find its flow: the quoted IPv6 header and, for TCP, the ports and sequence number.
struct PacketTooBig {
  uint32_t mtu;
  Ipv6Header quoted;
  uint8_t quoted_l4[8];  // the first 8 bytes after the quoted header
};
inline std::optional<PacketTooBig> packet_too_big_of(const Icmpv6& m) {
  if (m.type != kIcmpv6PacketTooBig || m.code != 0 || m.body_len < 4 + kIpv6HeaderLen + 8) return {};
  PacketTooBig t{};
  t.mtu = load_be32(m.body);
  const uint8_t* q = m.body + 4;
  if ((q[0] >> 4) != 6) return {};
  uint32_t first = load_be32(q);
  t.quoted = {uint8_t(first >> 20), first & 0xfffff, load_be16(q + 4), q[6], q[7], load_ipv6(q + 8), load_ipv6(q + 24)};
  std::memcpy(t.quoted_l4, q + kIpv6HeaderLen, 8);
  return t;
}

// A neighbour solicitation or advertisement (RFC 4861 4.3, 4.4), validated as 7.1.1 / 7.1.2 say
// (the caller checks the IPv6 hop limit is 255).
struct NeighborMsg {
  bool advert;        // an advertisement (else a solicitation)
  uint8_t flags;      // kNa* (advertisements)
  Ipv6Addr target;
  bool has_link_addr;  // a source (solicitation) or target (advertisement) link-layer address
  std::array<uint8_t, 6> link_addr;
};
inline std::optional<NeighborMsg> neighbor_msg_of(const Icmpv6& m, const Ipv6Header& ip) {
  bool advert = m.type == kIcmpv6NeighborAdvert;
  if ((!advert && m.type != kIcmpv6NeighborSolicit) || m.code != 0) return {};
  if (m.body_len + 4 < kNdMessageLen) return {};
  NeighborMsg n{};
  n.advert = advert;
  n.flags = advert ? m.body[0] : 0;
  n.target = load_ipv6(m.body + 4);
  if (is_multicast(n.target)) return {};
  if (advert && is_multicast(ip.dst) && (n.flags & kNaSolicited)) return {};
  uint8_t wanted = advert ? kNdOptTargetLinkAddr : kNdOptSourceLinkAddr;
  for (size_t off = kNdMessageLen - 4; off < m.body_len;) {
    if (m.body_len - off < 2) return {};
    size_t opt_len = size_t(m.body[off + 1]) * 8;
    if (opt_len == 0 || opt_len > m.body_len - off) return {};  // 7.1: every option's length > 0
    if (m.body[off] == wanted && opt_len >= kNdLinkAddrOptLen) {
      n.has_link_addr = true;
      std::memcpy(n.link_addr.data(), m.body + off + 2, 6);
    }
    off += opt_len;
  }
  // A solicitation from the unspecified address (duplicate address detection) carries no source
  // link-layer address.
  if (!advert && is_unspecified(ip.src) && n.has_link_addr) return {};
  return n;
}

namespace detail {
// A solicitation or advertisement (`type`, `flags`) of `target` with one link-layer address
// option (`opt`: source or target) carrying `mac`: 32 bytes at `out`, checksummed.
inline size_t build_neighbor_msg(uint8_t* out, uint8_t type, uint8_t flags, uint8_t opt, const Ipv6Addr& src,
                                 const Ipv6Addr& dst, const Ipv6Addr& target, const std::array<uint8_t, 6>& mac) {
  std::memset(out, 0, kNdMessageLen);
  out[0] = type;
  out[4] = flags;
  std::memcpy(out + 8, target.data(), 16);
  out[24] = opt;
  out[25] = 1;  // in units of 8 bytes
  std::memcpy(out + 26, mac.data(), 6);
  set_icmpv6_checksum(src, dst, out, kNdMessageLen + kNdLinkAddrOptLen);
  return kNdMessageLen + kNdLinkAddrOptLen;
}
}  // namespace detail

// A solicitation for `target` from `src` (link-layer address `mac`) to `dst` (the target's
// solicited-node group, or the target itself to re-check it); `out` has room for 32 bytes.
inline size_t build_neighbor_solicit(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                     const Ipv6Addr& target, const std::array<uint8_t, 6>& mac) {
  return detail::build_neighbor_msg(out, kIcmpv6NeighborSolicit, 0, kNdOptSourceLinkAddr, src, dst, target, mac);
}

// An advertisement of `target` at `mac` from `src` to `dst`, with `flags` (kNa*); `out` has room
// for 32 bytes.
inline size_t build_neighbor_advert(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                    const Ipv6Addr& target, const std::array<uint8_t, 6>& mac, uint8_t flags) {
  return detail::build_neighbor_msg(out, kIcmpv6NeighborAdvert, flags, kNdOptTargetLinkAddr, src, dst, target, mac);
}

}  // namespace virtuoso::wire

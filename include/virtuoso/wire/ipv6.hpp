// IPv6 header (RFC 8200): parse with validation and build; the upper-layer checksum's pseudo-header
// over 128-bit addresses (RFC 8200 8.1); addresses and their solicited-node multicast group.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"

namespace virtuoso::wire {

inline constexpr size_t kIpv6HeaderLen = 40;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpv6NoNext = 59;
inline constexpr size_t kIpv6MinMtu = 1280;  // RFC 8200 5: every link carries this much

// An address in network byte order, as it is on the wire.
using Ipv6Addr = std::array<uint8_t, 16>;

inline Ipv6Addr load_ipv6(const uint8_t* p) {
  Ipv6Addr a;
  std::memcpy(a.data(), p, 16);
  return a;
}

// ::ffff:a.b.c.d, the IPv4 address `v4` (host order) as IPv6 sockets show it (RFC 4291 2.5.5.2).
inline Ipv6Addr v4_mapped(uint32_t v4) {
  Ipv6Addr a{};
  a[10] = a[11] = 0xff;
  store_be32(a.data() + 12, v4);
  return a;
}
inline bool is_v4_mapped(const Ipv6Addr& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kPrefix, sizeof kPrefix) == 0;
}
inline bool is_multicast(const Ipv6Addr& a) { return a[0] == 0xff; }
inline bool is_unspecified(const Ipv6Addr& a) { return a == Ipv6Addr{}; }

// ff02::1:ffXX:XXXX, the group a neighbour solicitation for `a` goes to (RFC 4291 2.7.1).
inline Ipv6Addr solicited_node(const Ipv6Addr& a) {
  Ipv6Addr g{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15]};
  return g;
}
// The Ethernet address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 7).
inline std::array<uint8_t, 6> multicast_mac(const Ipv6Addr& group) {
  return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

struct Ipv6Header {
  uint8_t traffic_class;  // DSCP and ECN, as IPv4's TOS byte
  uint32_t flow_label;    // 20 bits
  uint16_t payload_len;   // bytes after the fixed header
  uint8_t next_header;
  uint8_t hop_limit;
  Ipv6Addr src;
  Ipv6Addr dst;
};

enum class Ipv6Error { kOk, kTruncated, kVersion, kPayloadLen };

struct Ipv6Parse {
  Ipv6Error error;
  Ipv6Header hdr;
};

// Validates the version and the payload length against the buffer (trailing Ethernet padding is
// allowed). Extension headers are the caller's to walk or refuse: next_header says what follows.
inline Ipv6Parse parse_ipv6(const uint8_t* p, size_t len) {
  Ipv6Parse r{Ipv6Error::kOk, {}};
  if (len < kIpv6HeaderLen) return {Ipv6Error::kTruncated, {}};
  if ((p[0] >> 4) != 6) return {Ipv6Error::kVersion, {}};
  Ipv6Header& h = r.hdr;
  uint32_t first = load_be32(p);
  h.traffic_class = uint8_t(first >> 20);
  h.flow_label = first & 0xfffff;
  h.payload_len = load_be16(p + 4);
  if (kIpv6HeaderLen + h.payload_len > len) return {Ipv6Error::kPayloadLen, {}};
  h.next_header = p[6];
  h.hop_limit = p[7];
  h.src = load_ipv6(p + 8);
  h.dst = load_ipv6(p + 24);
  return r;
}

inline void build_ipv6(uint8_t* p, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                       uint16_t payload_len, uint8_t hop_limit = 64, uint8_t traffic_class = 0,
                       uint32_t flow_label = 0) {
  store_be32(p, 6u << 28 | uint32_t(traffic_class) << 20 | (flow_label & 0xfffff));
  store_be16(p + 4, payload_len);
  p[6] = next_header;
  p[7] = hop_limit;
  std::memcpy(p + 8, src.data(), 16);
  std::memcpy(p + 24, dst.data(), 16);
}

// Sum of the IPv6 pseudo-header (RFC 8200 8.1): both addresses, the upper-layer length (32 bits)
// and the next header value. Add the upper-layer bytes with csum_add and fold.
inline uint32_t pseudo_header_sum_v6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                     uint32_t l4_len) {
  uint32_t s = csum_add(0, src.data(), 16);
  s = csum_add(s, dst.data(), 16);
  uint64_t acc = uint64_t(s) + (l4_len >> 16) + (l4_len & 0xffff) + next_header;
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return uint32_t(acc);
}

// The checksum an upper-layer header carries over `len` bytes at `l4` (its checksum field zero),
// or, over a received one, 0 when it verifies.
inline uint16_t upper_layer_checksum_v6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                        const uint8_t* l4, size_t len) {
  return csum_fold(csum_add(pseudo_header_sum_v6(src, dst, next_header, uint32_t(len)), l4, len));
}

}  // namespace virtuoso::wire

// ARP for IPv4 over Ethernet (RFC 826): parse and build the 28-byte payload.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::wire {

inline constexpr size_t kArpLen = 28;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

struct ArpPacket {
  uint16_t op;
  MacAddr sender_mac;
  uint32_t sender_ip;  // host order
  MacAddr target_mac;
  uint32_t target_ip;
};

// Accepts only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4).
inline std::optional<ArpPacket> parse_arp(const uint8_t* p, size_t len) {
  if (len < kArpLen) return std::nullopt;
  if (load_be16(p) != 1 || load_be16(p + 2) != kEtherTypeIpv4 || p[4] != 6 || p[5] != 4)
    return std::nullopt;
  ArpPacket a;
  a.op = load_be16(p + 6);
  std::memcpy(a.sender_mac.data(), p + 8, 6);
  a.sender_ip = load_be32(p + 14);
  std::memcpy(a.target_mac.data(), p + 18, 6);
  a.target_ip = load_be32(p + 24);
  return a;
}

inline void build_arp(uint8_t* p, const ArpPacket& a) {
  store_be16(p, 1);
  store_be16(p + 2, kEtherTypeIpv4);
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, a.op);
  std::memcpy(p + 8, a.sender_mac.data(), 6);
  store_be32(p + 14, a.sender_ip);
  std::memcpy(p + 18, a.target_mac.data(), 6);
  store_be32(p + 24, a.target_ip);
}

// A whole Ethernet frame carrying an ARP packet (42 bytes), zero-padded to the 60-byte Ethernet
// minimum; returns the padded length, 60. `out` holds >= 60 bytes.
inline size_t build_arp_frame(uint8_t* out, const MacAddr& eth_dst, const MacAddr& eth_src,
                              const ArpPacket& a) {
  std::memset(out, 0, 60);
  build_eth(out, {eth_dst, eth_src, kEtherTypeArp});
  build_arp(out + kEthHeaderLen, a);
  return 60;
}

}  // namespace virtuoso::wire

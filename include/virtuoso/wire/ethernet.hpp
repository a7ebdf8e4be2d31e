// Ethernet II header: parse and build.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "virtuoso/wire/bytes.hpp"

namespace virtuoso::wire {

using MacAddr = std::array<uint8_t, 6>;
inline constexpr MacAddr kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr size_t kEthHeaderLen = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

struct EthHeader {
  MacAddr dst;
  MacAddr src;
  uint16_t ethertype;
};

inline std::optional<EthHeader> parse_eth(const uint8_t* p, size_t len) {
  if (len < kEthHeaderLen) return std::nullopt;
  EthHeader h;
  std::memcpy(h.dst.data(), p, 6);
  std::memcpy(h.src.data(), p + 6, 6);
  h.ethertype = load_be16(p + 12);
  return h;
}

inline void build_eth(uint8_t* p, const EthHeader& h) {
  std::memcpy(p, h.dst.data(), 6);
  std::memcpy(p + 6, h.src.data(), 6);
  store_be16(p + 12, h.ethertype);
}

inline bool is_multicast(const MacAddr& m) { return m[0] & 1; }

}  // namespace virtuoso::wire

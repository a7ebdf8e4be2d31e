// Test helpers over the kernel VXLAN and ICMP frames: addresses, layer offsets, checksum refresh.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame_util.hpp"
#include "kernel_vxlan_frames.hpp"
#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace test_frames {

// Every captured frame has a 20-byte outer IP header right after Ethernet (kIpOff).
inline constexpr size_t kL4Off = 34;                // outer UDP, or ICMP
inline constexpr size_t kVxlanOff = 42;             // VXLAN header
inline constexpr size_t kInnerOff = 50;             // inner Ethernet frame
inline constexpr uint32_t kVtepA = 0xc0000201;      // 192.0.2.1, sends the client side
inline constexpr uint32_t kVtepB = 0xc0000202;      // 192.0.2.2, also the router to vxcap-c
inline constexpr uint32_t kFarServer = 0xc6336402;  // 198.51.100.2, behind the 1280-byte route
inline constexpr uint32_t kInnerA = 0x0a2a0001;     // 10.42.0.1
inline constexpr uint32_t kInnerB = 0x0a2a0002;     // 10.42.0.2
inline constexpr virtuoso::wire::MacAddr kMacA{0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
inline constexpr virtuoso::wire::MacAddr kMacB{0x02, 0x00, 0x00, 0x00, 0x01, 0x02};

// The IPv4 payload (bounded by the total length) of a frame, as its own buffer.
inline std::vector<uint8_t> l4_of(const std::vector<uint8_t>& f) {
  return std::vector<uint8_t>(f.begin() + kL4Off, f.begin() + kIpOff + ip_total_len(f));
}

// After deliberately changing an ICMP message, restore its checksum so a later check is what fails.
inline void refresh_icmp_checksum(std::vector<uint8_t>& m) {
  virtuoso::wire::store_be16(&m[2], 0);
  virtuoso::wire::store_be16(&m[2], virtuoso::wire::internet_checksum(m.data(), m.size()));
}

}  // namespace test_frames

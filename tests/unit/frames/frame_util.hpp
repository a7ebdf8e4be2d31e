// Test helpers over the captured kernel frames: mutable copies, layer offsets, checksum refresh.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernel_frames.hpp"
#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/ipv4.hpp"

namespace test_frames {

// Every captured IPv4 frame has a 20-byte IP header right after Ethernet.
inline constexpr size_t kIpOff = 14;
inline constexpr size_t kTcpOff = 34;
inline constexpr uint32_t kClientIp = 0xc0000201;  // 192.0.2.1
inline constexpr uint32_t kServerIp = 0xc0000202;  // 192.0.2.2
inline constexpr uint16_t kClientPortFull = 51854;
inline constexpr uint16_t kServerPortFull = 5001;

template <size_t N>
std::vector<uint8_t> copy(const uint8_t (&frame)[N]) {
  return std::vector<uint8_t>(frame, frame + N);
}

inline uint16_t ip_total_len(const std::vector<uint8_t>& f) {
  return virtuoso::wire::load_be16(&f[kIpOff + 2]);
}

// After deliberately changing a header field, restore a valid IPv4 checksum so that the parser's
// later checks (fragments, protocol) are what the test exercises.
inline void refresh_ipv4_checksum(std::vector<uint8_t>& f) {
  using namespace virtuoso::wire;
  size_t ihl = size_t(f[kIpOff] & 0x0f) * 4;
  store_be16(&f[kIpOff + 10], 0);
  store_be16(&f[kIpOff + 10], internet_checksum(&f[kIpOff], ihl));
}

// Same for the TCP checksum of a frame with a 20-byte IP header.
inline void refresh_tcp_checksum(std::vector<uint8_t>& f) {
  using namespace virtuoso::wire;
  uint16_t seg_len = uint16_t(ip_total_len(f) - 20);
  store_be16(&f[kTcpOff + 16], 0);
  uint32_t sum = pseudo_header_sum(load_be32(&f[kIpOff + 12]), load_be32(&f[kIpOff + 16]),
                                   kIpProtoTcp, seg_len);
  store_be16(&f[kTcpOff + 16], csum_fold(csum_add(sum, &f[kTcpOff], seg_len)));
}

}  // namespace test_frames

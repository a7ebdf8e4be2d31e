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
  std::array<uint8_t, 128> data{};
  size_t len = 0;
};

struct SegmentSpec {
  FourTuple tuple;        // local = source
  wire::MacAddr dst_mac;  // next hop
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  wire::TcpOptionsOut opts{};
};

FrameBuf build_segment(const wire::MacAddr& src_mac, const SegmentSpec& s);

// Broadcast "who has target_ip, tell local_ip".
FrameBuf build_arp_request(const wire::MacAddr& src_mac, uint32_t local_ip, uint32_t target_ip);

}  // namespace virtuoso::slowpath

// A whole Ethernet/IPv4/TCP frame: parse the three layers in one call, build one in one call.
#pragma once
#include <cstddef>
#include <cstdint>

#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/ipv4.hpp"
#include "virtuoso/wire/tcp.hpp"

namespace virtuoso::wire {

inline constexpr size_t kTcpFrameOverhead = kEthHeaderLen + kIpv4MinHeaderLen + kTcpMinHeaderLen;

enum class FrameError { kOk, kEth, kNotIpv4, kIpv4, kNotTcp, kTcp };

struct TcpFrame {
  EthHeader eth;
  Ipv4Header ip;
  TcpHeader tcp;
  const uint8_t* payload;
  size_t payload_len;
};

struct TcpFrameParse {
  FrameError error;
  TcpFrame f;
};

inline TcpFrameParse parse_tcp_frame(const uint8_t* p, size_t len, bool verify_checksums = true) {
  TcpFrameParse r{FrameError::kOk, {}};
  auto eth = parse_eth(p, len);
  if (!eth) return {FrameError::kEth, {}};
  if (eth->ethertype != kEtherTypeIpv4) return {FrameError::kNotIpv4, {}};
  r.f.eth = *eth;
  auto ip = parse_ipv4(p + kEthHeaderLen, len - kEthHeaderLen, verify_checksums);
  if (ip.error != Ipv4Error::kOk) return {FrameError::kIpv4, {}};
  r.f.ip = ip.hdr;
  if (ip.hdr.proto != kIpProtoTcp) return {FrameError::kNotTcp, {}};
  const uint8_t* l4 = p + kEthHeaderLen + ip.hdr.ihl_bytes;
  size_t l4_len = ip.hdr.total_len - ip.hdr.ihl_bytes;
  auto tcp = parse_tcp(l4, l4_len, ip.hdr.src, ip.hdr.dst, verify_checksums);
  if (tcp.error != TcpError::kOk) return {FrameError::kTcp, {}};
  r.f.tcp = tcp.hdr;
  r.f.payload = l4 + tcp.hdr.data_off;
  r.f.payload_len = l4_len - tcp.hdr.data_off;
  return r;
}

struct TcpFrameOut {
  MacAddr eth_src;
  MacAddr eth_dst;
  uint32_t ip_src;
  uint32_t ip_dst;
  uint16_t ip_id;
  uint8_t ip_tos = 0;  // DSCP and ECN field (RFC 3168: ECT(0) on new data of an ECN-capable flow)
  TcpSegmentOut tcp;
};

// Builds headers in front of a payload that already sits at
// out + kEthHeaderLen + 20 + tcp_options_len(f.tcp.opts). Returns the frame length.
inline size_t build_tcp_frame(uint8_t* out, const TcpFrameOut& f, size_t payload_len) {
  size_t tcp_len = kTcpMinHeaderLen + tcp_options_len(f.tcp.opts) + payload_len;
  build_eth(out, {f.eth_dst, f.eth_src, kEtherTypeIpv4});
  build_ipv4(out + kEthHeaderLen, f.ip_src, f.ip_dst, kIpProtoTcp, uint16_t(tcp_len), f.ip_id, 64, f.ip_tos);
  build_tcp(out + kEthHeaderLen + kIpv4MinHeaderLen, f.tcp, f.ip_src, f.ip_dst, payload_len);
  return kEthHeaderLen + kIpv4MinHeaderLen + tcp_len;
}

inline size_t tcp_payload_offset(const TcpOptionsOut& o) {
  return kEthHeaderLen + kIpv4MinHeaderLen + kTcpMinHeaderLen + tcp_options_len(o);
}

}  // namespace virtuoso::wire

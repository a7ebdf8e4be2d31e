// Building the slow path's own frames.
#include "segments.hpp"

#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"

namespace virtuoso::slowpath {

FrameBuf build_segment(const wire::MacAddr& src_mac, const SegmentSpec& s) {
  FrameBuf out;
  wire::TcpFrameOut f{};
  f.eth_src = src_mac;
  f.eth_dst = s.dst_mac;
  f.ip_src = s.tuple.local_ip;
  f.ip_dst = s.tuple.remote_ip;
  f.ip_id = 0;  // DF is set: the id identifies no fragments
  f.tcp = wire::TcpSegmentOut{s.tuple.local_port, s.tuple.remote_port, s.seq, s.ack, s.flags, s.window, s.opts};
  size_t len = wire::build_tcp_frame(out.data.data(), f, 0);
  out.len = len < kMinFrameLen ? kMinFrameLen : len;
  return out;
}

FrameBuf build_arp_request(const wire::MacAddr& src_mac, uint32_t local_ip, uint32_t target_ip) {
  FrameBuf out;
  wire::ArpPacket a{wire::kArpRequest, src_mac, local_ip, wire::MacAddr{}, target_ip};
  out.len = wire::build_arp_frame(out.data.data(), wire::kBroadcastMac, src_mac, a);
  return out;
}

}  // namespace virtuoso::slowpath

// ICMP to the host's own address: echo requests (ping, RFC 792) answered in the same pass, at
// most as fast as Linux answers (util::kIcmpRatePerS), destination-unreachable errors handed to
// the slow path, the rest dropped.
#include <cstring>

#include "datapath.hpp"
#include "virtuoso/wire/icmp.hpp"

namespace virtuoso::fastpath {

// An echo request to our address gets a reply with the same id, sequence number and data, to the
// MAC it came from. A destination unreachable (fragmentation needed, port unreachable...) is about
// a connection: the slow path checks its quote against the connection (RFC 5927) and acts. Anything
// else ICMP (replies, other types, malformed) is dropped as bad IP.
void Datapath::icmp_input(const uint8_t* data, uint16_t len) {
  auto eth = wire::parse_eth(data, len);
  auto ip = wire::parse_ipv4(data + wire::kEthHeaderLen, len - wire::kEthHeaderLen);
  if (!eth || ip.error != wire::Ipv4Error::kOk || ip.hdr.dst != cfg_.local_ip) {
    ++stats_->drop_bad_ip;
    return;
  }
  const uint8_t* msg = data + wire::kEthHeaderLen + ip.hdr.ihl_bytes;
  size_t msg_len = ip.hdr.total_len - ip.hdr.ihl_bytes;
  auto echo = wire::parse_icmp_echo(msg, msg_len);
  if (echo.error == wire::IcmpError::kNotEcho && msg[0] == wire::kIcmpDestUnreachable) {
    punt(data, len);  // checksum verified
    return;
  }
  if (echo.error != wire::IcmpError::kOk || !echo.echo.request) {
    ++stats_->drop_bad_ip;
    return;
  }
  if (!icmp_out_.take(now_us_)) {
    ++stats_->icmp_rate_limited;  // a ping flood costs a bounded share of the port
    return;
  }
  Frame fr;
  size_t reply_len = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen + msg_len;
  if (reply_len > kFrameCapacity || !port_.alloc(fr)) {
    ++stats_->drop_no_mbuf;
    return;
  }
  uint8_t* out = fr.data;
  wire::build_eth(out, {eth->src, cfg_.local_mac, wire::kEtherTypeIpv4});
  wire::build_ipv4(out + wire::kEthHeaderLen, cfg_.local_ip, ip.hdr.src, wire::kIpProtoIcmp, uint16_t(msg_len),
                   ip_id_++);
  wire::build_icmp_echo_reply(out + wire::kEthHeaderLen + wire::kIpv4MinHeaderLen, echo.echo);
  fr.len = uint16_t(reply_len < kMinEthFrame ? kMinEthFrame : reply_len);
  if (reply_len < kMinEthFrame) std::memset(out + reply_len, 0, kMinEthFrame - reply_len);
  ++stats_->icmp_echo_replies;
  emit_frame(fr, ip.hdr.src);
}

}  // namespace virtuoso::fastpath

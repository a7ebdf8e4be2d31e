// Fuzz target: every wire parser on arbitrary bytes (Ethernet, ARP, IPv4, TCP with options, UDP,
// VXLAN, ICMP, IPv6 and ICMPv6 with neighbour discovery), with and without checksum checks.
// Properties: no read outside the input (ASan), no undefined behaviour (UBSan), and what a parser
// accepts is consistent: the payload lies inside the frame, lengths agree with the headers, at most
// the SACK blocks there is room for. Built with VIRTUOSO_FUZZ_PLANTED_BUG it also crashes on a TCP
// timestamp of 0xdeadbeef, which proves the fuzzer reaches parsed options and that a failing
// property fails the run.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/icmp.hpp"
#include "virtuoso/wire/icmpv6.hpp"
#include "virtuoso/wire/ipv6.hpp"
#include "virtuoso/wire/vxlan.hpp"

using namespace virtuoso::wire;

namespace {

bool inside(const uint8_t* p, size_t n, const uint8_t* base, size_t len) { return p >= base && p + n <= base + len; }

void tcp_frame(const uint8_t* data, size_t size, bool verify) {
  TcpFrameParse t = parse_tcp_frame(data, size, verify);
  if (t.error != FrameError::kOk) return;
  const TcpFrame& f = t.f;
  FUZZ_CHECK(inside(f.payload, f.payload_len, data, size));
  FUZZ_CHECK(f.ip.total_len <= size - kEthHeaderLen);
  FUZZ_CHECK(f.ip.ihl_bytes >= 20 && f.tcp.data_off >= kTcpMinHeaderLen);
  FUZZ_CHECK(size_t(f.ip.ihl_bytes) + f.tcp.data_off + f.payload_len == f.ip.total_len);
  FUZZ_CHECK(f.tcp.opts.n_sack <= kMaxSackBlocks);
  FUZZ_CHECK(f.tcp.opts.wscale <= 14);
#ifdef VIRTUOSO_FUZZ_PLANTED_BUG
  if (!verify && f.tcp.opts.has_timestamps && f.tcp.opts.ts_val == 0xdeadbeef) __builtin_trap();
#endif
}

void vxlan_frame(const uint8_t* data, size_t size, bool verify) {
  VxlanParse v = parse_vxlan_frame(data, size, verify);
  if (v.error != VxlanError::kOk) return;
  FUZZ_CHECK(v.f.vni < (1u << 24));
  FUZZ_CHECK(inside(v.f.inner, v.f.inner_len, data, size));
  tcp_frame(v.f.inner, v.f.inner_len, verify);  // the inner frame goes through the same parser
}

// An Ethernet frame carrying IPv6: the header, and ICMPv6 messages of every kind it knows.
void ipv6_frame(const uint8_t* data, size_t size, bool verify) {
  if (size < kEthHeaderLen) return;
  Ipv6Parse ip = parse_ipv6(data + kEthHeaderLen, size - kEthHeaderLen);
  if (ip.error != Ipv6Error::kOk) return;
  FUZZ_CHECK(kIpv6HeaderLen + ip.hdr.payload_len <= size - kEthHeaderLen);
  if (ip.hdr.next_header != kIpProtoIcmpv6) return;
  const uint8_t* l4 = data + kEthHeaderLen + kIpv6HeaderLen;
  Icmpv6Parse m = parse_icmpv6(ip.hdr, l4, ip.hdr.payload_len, verify);
  if (m.error != Icmpv6Error::kOk) return;
  FUZZ_CHECK(inside(m.msg.body, m.msg.body_len, data, size));
  if (auto e = echo_of(m.msg)) FUZZ_CHECK(inside(e->data, e->data_len, data, size));
  if (auto n = neighbor_msg_of(m.msg, ip.hdr)) FUZZ_CHECK(!is_multicast(n->target));
  (void)packet_too_big_of(m.msg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool verify : {true, false}) {
    tcp_frame(data, size, verify);
    vxlan_frame(data, size, verify);
    ipv6_frame(data, size, verify);
    if (size > kEthHeaderLen) {
      IcmpParse icmp = parse_icmp(data + kEthHeaderLen, size - kEthHeaderLen, verify);
      (void)icmp;
      IcmpUnreachableParse u = parse_icmp_unreachable(data + kEthHeaderLen, size - kEthHeaderLen, verify);
      (void)u;
    }
  }
  if (auto eth = parse_eth(data, size); eth && size > kEthHeaderLen) {
    auto arp = parse_arp(data + kEthHeaderLen, size - kEthHeaderLen);
    (void)arp;
  }
  TcpOptions o;
  if (parse_tcp_options(data, size < 40 ? size : 40, o)) FUZZ_CHECK(o.n_sack <= kMaxSackBlocks);
  return 0;
}

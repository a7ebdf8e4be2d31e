// Unit tests: VXLAN (RFC 7348) against the kernel vxlan driver: decap, encap, drops, ports.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "frames/vxlan_frame_util.hpp"
#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/vxlan.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

VxlanParse parse(const std::vector<uint8_t>& f, bool verify = true) {
  return parse_vxlan_frame(f.data(), f.size(), verify);
}

// The VNI 42 frames: the kernel sent them with UDP checksum 0, DF set and TTL 64, as we build.
std::vector<std::vector<uint8_t>> vni42_frames() {
  using namespace kernel_vxlan_frames;
  return {copy(kVxlanArpRequest), copy(kVxlanSyn),         copy(kVxlanSynAck),
          copy(kVxlanData),       copy(kVxlanPingRequest), copy(kVxlanPingReply)};
}

// Rewrites the outer UDP length (and the IPv4 total length to match) so that the UDP payload is
// `udp_payload` bytes, keeping the IPv4 checksum valid.
void set_udp_payload_len(std::vector<uint8_t>& f, size_t udp_payload) {
  store_be16(&f[kL4Off + 4], uint16_t(8 + udp_payload));
  store_be16(&f[kIpOff + 2], uint16_t(20 + 8 + udp_payload));
  refresh_ipv4_checksum(f);
}

}  // namespace

TEST_CASE("vxlan: kernel SYN on VNI 42 -> outer addresses, source port, VNI, inner frame span",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  CHECK(r.f.outer_src_mac == kMacA);
  CHECK(r.f.outer_dst_mac == kMacB);
  CHECK(r.f.outer_src_ip == kVtepA);
  CHECK(r.f.outer_dst_ip == kVtepB);
  CHECK(r.f.udp_src_port >= 49152);  // the device was given srcport 49152 65535
  CHECK(r.f.vni == 42);
  CHECK(r.f.inner == f.data() + kInnerOff);
  CHECK(r.f.inner_len == f.size() - kVxlanOverhead);
}

TEST_CASE("vxlan: inner TCP frames the kernel tunnelled -> parse_tcp_frame with valid checksums",
          "[vxlan]") {
  using namespace kernel_vxlan_frames;
  for (auto f : {copy(kVxlanSyn), copy(kVxlanSynAck), copy(kVxlanData)}) {
    auto r = parse(f);
    REQUIRE(r.error == VxlanError::kOk);
    auto t = parse_tcp_frame(r.f.inner, r.f.inner_len);
    REQUIRE(t.error == FrameError::kOk);
    bool from_a = t.f.ip.src == kInnerA;
    CHECK(t.f.ip.dst == (from_a ? kInnerB : kInnerA));
    CHECK((from_a ? t.f.tcp.dst_port : t.f.tcp.src_port) == 5001);
    CHECK(r.f.outer_src_ip == (from_a ? kVtepA : kVtepB));
  }
}

TEST_CASE("vxlan: kernel data segment on VNI 42 -> inner payload is the bytes the client sent",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanData);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  auto t = parse_tcp_frame(r.f.inner, r.f.inner_len);
  REQUIRE(t.error == FrameError::kOk);
  CHECK(t.f.tcp.flags == (kTcpPsh | kTcpAck));
  CHECK(std::string(reinterpret_cast<const char*>(t.f.payload), t.f.payload_len) == "hello, vxlan");
}

TEST_CASE(
    "vxlan: inner ARP request the kernel flooded to its remote -> broadcast ARP for 10.42.0.2",
    "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanArpRequest);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  auto eth = parse_eth(r.f.inner, r.f.inner_len);
  REQUIRE(eth);
  CHECK(eth->dst == kBroadcastMac);
  CHECK(eth->ethertype == kEtherTypeArp);
  auto arp = parse_arp(r.f.inner + kEthHeaderLen, r.f.inner_len - kEthHeaderLen);
  REQUIRE(arp);
  CHECK(arp->op == kArpRequest);
  CHECK(arp->sender_ip == kInnerA);
  CHECK(arp->target_ip == kInnerB);
}

TEST_CASE("vxlan: VNI 43 frame with the kernel's outer UDP checksum -> verified and accepted",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanUdpCsum);
  REQUIRE(load_be16(&f[kL4Off + 6]) != 0);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  CHECK(r.f.vni == 43);
}

TEST_CASE(
    "vxlan: outer UDP checksum wrong after an inner byte flips -> kUdpChecksum, "
    "accepted unverified",
    "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanUdpCsum);
  f.back() ^= 0x01;
  CHECK(parse(f).error == VxlanError::kUdpChecksum);
  CHECK(parse(f, false).error == VxlanError::kOk);
}

TEST_CASE("vxlan: outer headers built from the kernel's fields -> kernel's 50 bytes", "[vxlan]") {
  for (auto f : vni42_frames()) {
    auto r = parse(f);
    REQUIRE(r.error == VxlanError::kOk);
    VxlanOuter o{r.f.outer_src_mac, r.f.outer_dst_mac, r.f.outer_src_ip,         r.f.outer_dst_ip,
                 r.f.udp_src_port,  r.f.vni,           load_be16(&f[kIpOff + 4]), r.f.outer_ecn};
    std::vector<uint8_t> out(f.size(), 0xaa);
    std::copy(f.begin() + kInnerOff, f.end(), out.begin() + kInnerOff);
    REQUIRE(build_vxlan_outer(out.data(), o, r.f.inner_len) == f.size());
    INFO("frame of " << f.size() << " bytes");
    CHECK(out == f);
  }
}

TEST_CASE("vxlan: outer headers built for the kernel's udpcsum frame -> same but for checksum 0",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanUdpCsum);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  VxlanOuter o{kMacA, kMacB, kVtepA, kVtepB, r.f.udp_src_port, 43, load_be16(&f[kIpOff + 4]), 0};
  std::vector<uint8_t> out(f);
  build_vxlan_outer(out.data(), o, r.f.inner_len);
  CHECK(load_be16(&out[kL4Off + 6]) == 0);
  store_be16(&out[kL4Off + 6], load_be16(&f[kL4Off + 6]));
  CHECK(out == f);
}

TEST_CASE("vxlan: build then parse an arbitrary inner frame -> same fields and inner bytes",
          "[vxlan]") {
  auto inner = copy(kernel_frames::kDataOdd);
  std::vector<uint8_t> buf(kVxlanOverhead + inner.size());
  std::copy(inner.begin(), inner.end(), buf.begin() + kVxlanOverhead);
  VxlanOuter o{kMacB, kMacA, kVtepB, kVtepA, 65535, kVxlanMaxVni, 0x1234, kEcnEct0};
  REQUIRE(build_vxlan_outer(buf.data(), o, inner.size()) == buf.size());
  auto r = parse(buf);
  CHECK(r.f.outer_ecn == kEcnEct0);  // RFC 6040: the outer header carries the inner ECN field
  REQUIRE(r.error == VxlanError::kOk);
  CHECK(r.f.outer_src_mac == kMacB);
  CHECK(r.f.outer_dst_mac == kMacA);
  CHECK(r.f.outer_src_ip == kVtepB);
  CHECK(r.f.outer_dst_ip == kVtepA);
  CHECK(r.f.udp_src_port == 65535);
  CHECK(r.f.vni == kVxlanMaxVni);
  CHECK(std::vector<uint8_t>(r.f.inner, r.f.inner + r.f.inner_len) == inner);
  auto ip = parse_ipv4(&buf[kIpOff], buf.size() - kIpOff);
  CHECK(ip.hdr.ttl == 64);
  CHECK(ip.hdr.frag == 0x4000);  // DF
}

TEST_CASE("vxlan: VNI wider than 24 bits -> only the low 24 bits are written", "[vxlan]") {
  uint8_t h[8];
  build_vxlan_header(h, 0x12345678);
  const uint8_t want[8] = {0x08, 0, 0, 0, 0x34, 0x56, 0x78, 0};
  CHECK(std::equal(h, h + 8, want));
}

TEST_CASE("vxlan: reserved flag bits and reserved fields set -> ignored, VNI unchanged",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  f[kVxlanOff] = 0xff;
  f[kVxlanOff + 1] = f[kVxlanOff + 2] = f[kVxlanOff + 3] = 0xff;
  f[kVxlanOff + 7] = 0xff;
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  CHECK(r.f.vni == 42);
}

TEST_CASE("vxlan: Ethernet padding after the datagram -> inner length from the UDP length",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanArpRequest);
  f.resize(f.size() + 8, 0);
  auto r = parse(f);
  REQUIRE(r.error == VxlanError::kOk);
  CHECK(r.f.inner_len == sizeof(kernel_vxlan_frames::kVxlanArpRequest) - kVxlanOverhead);
}

TEST_CASE("vxlan: shorter than an Ethernet header -> kEth", "[vxlan]") {
  CHECK(parse_vxlan_frame(kernel_vxlan_frames::kVxlanSyn, 13).error == VxlanError::kEth);
}

TEST_CASE("vxlan: outer ethertype ARP -> kNotIpv4", "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  store_be16(&f[12], kEtherTypeArp);
  CHECK(parse(f).error == VxlanError::kNotIpv4);
}

TEST_CASE("vxlan: outer IPv4 header checksum broken -> kIpv4, accepted unverified", "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  f[kIpOff + 8] ^= 0x01;  // TTL
  CHECK(parse(f).error == VxlanError::kIpv4);
  CHECK(parse(f, false).error == VxlanError::kOk);
}

TEST_CASE("vxlan: outer datagram is a fragment -> kFragment", "[vxlan]") {
  for (uint16_t frag : {0x2000, 0x0001, 0x3000}) {
    auto f = copy(kernel_vxlan_frames::kVxlanSyn);
    store_be16(&f[kIpOff + 6], frag);
    refresh_ipv4_checksum(f);
    INFO("flags/offset " << frag);
    CHECK(parse(f).error == VxlanError::kFragment);
  }
}

TEST_CASE("vxlan: outer protocol TCP -> kNotUdp", "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  f[kIpOff + 9] = kIpProtoTcp;
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == VxlanError::kNotUdp);
}

TEST_CASE("vxlan: UDP length beyond the IPv4 payload or below 8 -> kUdp", "[vxlan]") {
  for (uint16_t len : {0, 7}) {
    auto f = copy(kernel_vxlan_frames::kVxlanSyn);
    store_be16(&f[kL4Off + 4], len);
    INFO("udp length " << len);
    CHECK(parse(f).error == VxlanError::kUdp);
  }
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  store_be16(&f[kL4Off + 4], uint16_t(f.size() - kL4Off + 1));
  CHECK(parse(f).error == VxlanError::kUdp);
}

TEST_CASE("vxlan: UDP destination port 4790 -> kNotVxlanPort", "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  store_be16(&f[kL4Off + 2], 4790);
  CHECK(parse(f).error == VxlanError::kNotVxlanPort);
}

TEST_CASE("vxlan: kernel UDP datagram to port 9 -> kNotVxlanPort, not a checksum error",
          "[vxlan]") {
  CHECK(parse(copy(kernel_vxlan_frames::kUdpToClosedPort)).error == VxlanError::kNotVxlanPort);
}

TEST_CASE("vxlan: UDP payload shorter than the VXLAN header -> kVxlanTruncated", "[vxlan]") {
  for (size_t n : {0, 7}) {
    auto f = copy(kernel_vxlan_frames::kVxlanSyn);
    set_udp_payload_len(f, n);
    INFO("udp payload " << n);
    CHECK(parse(f).error == VxlanError::kVxlanTruncated);
  }
}

TEST_CASE("vxlan: I flag clear -> kVxlanFlags, even with every reserved bit set", "[vxlan]") {
  for (uint8_t flags : {0x00, 0xf7}) {
    auto f = copy(kernel_vxlan_frames::kVxlanSyn);
    f[kVxlanOff] = flags;
    INFO("flags " << int(flags));
    CHECK(parse(f).error == VxlanError::kVxlanFlags);
  }
}

TEST_CASE("vxlan: inner frame shorter than an Ethernet header -> kInnerTooShort", "[vxlan]") {
  for (size_t inner : {0, 13}) {
    auto f = copy(kernel_vxlan_frames::kVxlanSyn);
    set_udp_payload_len(f, kVxlanHeaderLen + inner);
    INFO("inner " << inner);
    CHECK(parse(f).error == VxlanError::kInnerTooShort);
  }
  auto f = copy(kernel_vxlan_frames::kVxlanSyn);
  set_udp_payload_len(f, kVxlanHeaderLen + 14);
  CHECK(parse(f).error == VxlanError::kOk);
}

TEST_CASE("vxlan: every prefix of a kernel frame -> an error, and no read past the prefix",
          "[vxlan]") {
  using namespace kernel_vxlan_frames;
  for (auto f : {copy(kVxlanData), copy(kVxlanUdpCsum), copy(kVxlanArpRequest)}) {
    for (size_t n = 0; n < f.size(); ++n) {
      std::vector<uint8_t> pre(f.begin(), f.begin() + long(n));  // exact size for sanitizers
      INFO("prefix " << n << " of " << f.size());
      CHECK(parse_vxlan_frame(pre.data(), n).error != VxlanError::kOk);
      CHECK(parse_vxlan_frame(pre.data(), n, false).error != VxlanError::kOk);
    }
    CHECK(parse(f).error == VxlanError::kOk);
  }
}

TEST_CASE("vxlan: every drop reason -> its own counter name", "[vxlan]") {
  std::set<std::string> names;
  for (size_t e = 0; e < size_t(VxlanError::kCount); ++e)
    names.insert(vxlan_error_name(VxlanError(e)));
  CHECK(names.size() == size_t(VxlanError::kCount));
  CHECK(std::string(vxlan_error_name(VxlanError::kNotVxlanPort)) == "not_vxlan_port");
}

TEST_CASE("vxlan: source port of the lowest and highest hash -> 49152 and 65535", "[vxlan]") {
  CHECK(vxlan_source_port(0) == 49152);
  CHECK(vxlan_source_port(0xffffffff) == 65535);
  CHECK(vxlan_source_port(0x80000000) == 49152 + 8192);
}

TEST_CASE("vxlan: inner hash of one kernel TCP flow -> equal on every frame of that direction",
          "[vxlan]") {
  using namespace kernel_vxlan_frames;
  auto syn = copy(kVxlanSyn), data = copy(kVxlanData), synack = copy(kVxlanSynAck);
  auto h = [](const std::vector<uint8_t>& f) {
    return vxlan_inner_flow_hash(f.data() + kInnerOff, f.size() - kInnerOff);
  };
  CHECK(h(syn) == h(data));
  CHECK(h(syn) != h(synack));
  CHECK(h(syn) ==
        vxlan_flow_hash(kInnerA, kInnerB, load_be16(&syn[kInnerOff + 34]), 5001, kIpProtoTcp));
  // The kernel keeps one source port per flow too: hashing is how both of us stay in order.
  CHECK(load_be16(&syn[kL4Off]) == load_be16(&data[kL4Off]));
}

TEST_CASE("vxlan: 4096 flows differing only in the client port -> ports spread over 49152-65535",
          "[vxlan]") {
  std::set<uint16_t> ports;
  size_t buckets[16] = {};
  for (uint32_t p = 0; p < 4096; ++p) {
    uint16_t port =
        vxlan_source_port(vxlan_flow_hash(kInnerA, kInnerB, uint16_t(40000 + p), 80, 6));
    REQUIRE(port >= 49152);
    ports.insert(port);
    ++buckets[(port - 49152) / 1024];
  }
  CHECK(ports.size() > 3400);  // about 3620 expected when 4096 land at random on 16384 ports
  for (size_t b : buckets) CHECK((b > 160 && b < 352));  // 256 expected in each
}

TEST_CASE("vxlan: inner hash of an IPv4 fragment -> ports left out, so all fragments agree",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanData);
  std::vector<uint8_t> inner(f.begin() + kInnerOff, f.end());
  store_be16(&inner[20], 0x2000);  // MF: the first fragment, ports present
  uint32_t first = vxlan_inner_flow_hash(inner.data(), inner.size());
  CHECK(first == vxlan_flow_hash(kInnerA, kInnerB, 0, 0, kIpProtoTcp));
  store_be16(&inner[20], 0x0010);  // a later fragment: its first bytes are data, not ports
  inner[34] ^= 0xff;
  CHECK(vxlan_inner_flow_hash(inner.data(), inner.size()) == first);
}

TEST_CASE("vxlan: inner hash of a non-IP frame -> from the MAC addresses, stable", "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanArpRequest);
  std::vector<uint8_t> inner(f.begin() + kInnerOff, f.end());
  uint32_t h = vxlan_inner_flow_hash(inner.data(), inner.size());
  inner.back() ^= 0xff;  // ARP body does not count
  CHECK(vxlan_inner_flow_hash(inner.data(), inner.size()) == h);
  inner[6] ^= 0x01;  // source MAC does
  CHECK(vxlan_inner_flow_hash(inner.data(), inner.size()) != h);
}

TEST_CASE("vxlan: inner hash over every prefix of an inner frame -> no read past the prefix",
          "[vxlan]") {
  auto f = copy(kernel_vxlan_frames::kVxlanData);
  std::vector<uint8_t> inner(f.begin() + kInnerOff, f.end());
  std::set<uint32_t> seen;
  for (size_t n = 0; n <= inner.size(); ++n) {
    std::vector<uint8_t> pre(inner.begin(), inner.begin() + long(n));
    seen.insert(vxlan_inner_flow_hash(pre.data(), n));
  }
  // Below 14 bytes: 0; up to a full IPv4 header: MACs; then addresses; from 38 bytes the ports too.
  CHECK(seen.size() == 4);
}

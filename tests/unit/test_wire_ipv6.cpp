// Unit tests: IPv6 (RFC 8200) and ICMPv6 (RFC 4443, neighbour discovery RFC 4861) parse and build
// against frames the Linux kernel sent (tests/unit/frames/capture_kernel_ipv6.sh), and malformed ones.
#include <catch2/catch.hpp>

#include <vector>

#include "frames/kernel_ipv6_frames.hpp"
#include "virtuoso/wire/icmpv6.hpp"
#include "virtuoso/wire/ipv6.hpp"

using namespace virtuoso::wire;
namespace kf = kernel_ipv6_frames;

namespace {
constexpr size_t kIpOff = 14;
constexpr size_t kL4Off = kIpOff + kIpv6HeaderLen;
const Ipv6Addr kClient{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // fd00:1::1
const Ipv6Addr kRouter{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // fd00:1::2
const Ipv6Addr kFar{0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};     // fd00:2::2
constexpr std::array<uint8_t, 6> kClientMac{2, 0, 0, 0, 0, 1};
constexpr std::array<uint8_t, 6> kRouterMac{2, 0, 0, 0, 0, 2};

template <size_t N>
Ipv6Header ip_of(const uint8_t (&f)[N]) {
  Ipv6Parse p = parse_ipv6(f + kIpOff, N - kIpOff);
  REQUIRE(p.error == Ipv6Error::kOk);
  return p.hdr;
}
template <size_t N>
Icmpv6 icmp_of(const uint8_t (&f)[N]) {
  Ipv6Header ip = ip_of(f);
  REQUIRE(ip.next_header == kIpProtoIcmpv6);
  Icmpv6Parse p = parse_icmpv6(ip, f + kL4Off, ip.payload_len);
  REQUIRE(p.error == Icmpv6Error::kOk);
  return p.msg;
}
}  // namespace

TEST_CASE("ipv6: the kernel's header -> version, lengths, addresses, hop limit, and built back the same") {
  Ipv6Header ip = ip_of(kf::kData);
  CHECK(ip.src == kClient);
  CHECK(ip.dst == kRouter);
  CHECK(ip.next_header == 6);
  CHECK(ip.hop_limit == 64);
  CHECK(kL4Off + ip.payload_len == sizeof kf::kData);
  uint8_t built[kIpv6HeaderLen];
  build_ipv6(built, ip.src, ip.dst, ip.next_header, ip.payload_len, ip.hop_limit, ip.traffic_class, ip.flow_label);
  CHECK(std::equal(built, built + kIpv6HeaderLen, kf::kData + kIpOff));
}

TEST_CASE("ipv6: TCP checksums of the kernel's segments verify over the IPv6 pseudo-header") {
  for (auto [f, n] : {std::pair{kf::kSyn, sizeof kf::kSyn}, std::pair{kf::kData, sizeof kf::kData}}) {
    Ipv6Parse p = parse_ipv6(f + kIpOff, n - kIpOff);
    REQUIRE(p.error == Ipv6Error::kOk);
    CHECK(upper_layer_checksum_v6(p.hdr.src, p.hdr.dst, 6, f + kL4Off, p.hdr.payload_len) == 0);
    // One bit flipped anywhere in the segment, or another address, and it no longer verifies.
    std::vector<uint8_t> bad(f + kL4Off, f + kL4Off + p.hdr.payload_len);
    bad.back() ^= 0x01;
    CHECK(upper_layer_checksum_v6(p.hdr.src, p.hdr.dst, 6, bad.data(), bad.size()) != 0);
    CHECK(upper_layer_checksum_v6(p.hdr.src, kFar, 6, f + kL4Off, p.hdr.payload_len) != 0);
  }
}

TEST_CASE("ipv6: truncated, not version 6, payload beyond the buffer -> refused") {
  CHECK(parse_ipv6(kf::kData + kIpOff, kIpv6HeaderLen - 1).error == Ipv6Error::kTruncated);
  std::vector<uint8_t> f(kf::kData + kIpOff, kf::kData + sizeof kf::kData);
  CHECK(parse_ipv6(f.data(), f.size() - 1).error == Ipv6Error::kPayloadLen);
  f[0] = 0x45;
  CHECK(parse_ipv6(f.data(), f.size()).error == Ipv6Error::kVersion);
}

TEST_CASE("ipv6: v4-mapped addresses, solicited-node groups and their Ethernet addresses") {
  Ipv6Addr m = v4_mapped(0xc0000201);
  CHECK(is_v4_mapped(m));
  CHECK(load_be32(m.data() + 12) == 0xc0000201);
  CHECK_FALSE(is_v4_mapped(kClient));
  // The kernel's solicitation for the router went to the router's group, at its Ethernet address.
  Ipv6Header ip = ip_of(kf::kNeighborSolicit);
  CHECK(ip.dst == solicited_node(kRouter));
  auto mac = multicast_mac(ip.dst);
  CHECK(std::equal(mac.begin(), mac.end(), kf::kNeighborSolicit));
}

TEST_CASE("icmpv6: the kernel's neighbour solicitation -> target and source link address, built back the same") {
  Ipv6Header ip = ip_of(kf::kNeighborSolicit);
  CHECK(ip.hop_limit == kNdHopLimit);
  auto ns = neighbor_msg_of(icmp_of(kf::kNeighborSolicit), ip);
  REQUIRE(ns);
  CHECK_FALSE(ns->advert);
  CHECK(ns->target == kRouter);
  REQUIRE(ns->has_link_addr);
  CHECK(ns->link_addr == kClientMac);
  uint8_t built[32];
  REQUIRE(build_neighbor_solicit(built, ip.src, ip.dst, kRouter, kClientMac) == ip.payload_len);
  CHECK(std::equal(built, built + 32, kf::kNeighborSolicit + kL4Off));
}

TEST_CASE("icmpv6: the kernel's neighbour advertisement -> flags, target link address, built back the same") {
  Ipv6Header ip = ip_of(kf::kNeighborAdvert);
  auto na = neighbor_msg_of(icmp_of(kf::kNeighborAdvert), ip);
  REQUIRE(na);
  CHECK(na->advert);
  CHECK(na->target == kRouter);
  CHECK((na->flags & kNaSolicited) != 0);
  CHECK((na->flags & kNaOverride) != 0);
  CHECK((na->flags & kNaRouter) != 0);  // it forwards
  REQUIRE(na->has_link_addr);
  CHECK(na->link_addr == kRouterMac);
  uint8_t built[32];
  REQUIRE(build_neighbor_advert(built, ip.src, ip.dst, kRouter, kRouterMac, na->flags) == ip.payload_len);
  CHECK(std::equal(built, built + 32, kf::kNeighborAdvert + kL4Off));
}

TEST_CASE("icmpv6: malformed neighbour discovery -> refused (RFC 4861 7.1)") {
  Ipv6Header ip = ip_of(kf::kNeighborSolicit);
  std::vector<uint8_t> m(kf::kNeighborSolicit + kL4Off, kf::kNeighborSolicit + sizeof kf::kNeighborSolicit);
  auto parse = [&](const std::vector<uint8_t>& b, const Ipv6Header& h) {
    Icmpv6Parse p = parse_icmpv6(h, b.data(), b.size(), false);
    REQUIRE(p.error == Icmpv6Error::kOk);
    return neighbor_msg_of(p.msg, h);
  };
  CHECK(parse(m, ip));
  auto multicast_target = m;
  multicast_target[8] = 0xff;
  CHECK_FALSE(parse(multicast_target, ip));
  auto zero_option = m;
  zero_option[25] = 0;  // an option of length 0 would loop forever
  CHECK_FALSE(parse(zero_option, ip));
  auto long_option = m;
  long_option[25] = 2;  // runs past the message
  CHECK_FALSE(parse(long_option, ip));
  auto code = m;
  code[1] = 1;
  CHECK_FALSE(parse(code, ip));
  std::vector<uint8_t> short_msg(m.begin(), m.begin() + 20);
  CHECK_FALSE(parse(short_msg, ip));
  Ipv6Header from_nowhere = ip;
  from_nowhere.src = Ipv6Addr{};  // duplicate address detection carries no source link address
  CHECK_FALSE(parse(m, from_nowhere));
  // An advertisement to a multicast group may not claim to be solicited.
  Ipv6Header na_ip = ip_of(kf::kNeighborAdvert);
  std::vector<uint8_t> na(kf::kNeighborAdvert + kL4Off, kf::kNeighborAdvert + sizeof kf::kNeighborAdvert);
  na_ip.dst = solicited_node(kClient);
  CHECK_FALSE(parse(na, na_ip));
  // A corrupted message fails its checksum.
  m[10] ^= 0x40;
  CHECK(parse_icmpv6(ip, m.data(), m.size()).error == Icmpv6Error::kChecksum);
}

TEST_CASE("icmpv6: the kernel's echo request -> id, sequence, data, and our reply equals the kernel's") {
  Ipv6Header ip = ip_of(kf::kEchoRequest);
  auto req = echo_of(icmp_of(kf::kEchoRequest));
  REQUIRE(req);
  CHECK(req->seq == 1);
  CHECK(req->data_len == 56);
  auto rep = echo_of(icmp_of(kf::kEchoReply));
  REQUIRE(rep);
  CHECK(rep->id == req->id);
  std::vector<uint8_t> built(8 + req->data_len);
  REQUIRE(build_icmpv6_echo_reply(built.data(), ip.dst, ip.src, *req) == built.size());
  Ipv6Header rep_ip = ip_of(kf::kEchoReply);
  REQUIRE(rep_ip.payload_len == built.size());
  CHECK(std::equal(built.begin(), built.end(), kf::kEchoReply + kL4Off));
}

TEST_CASE("icmpv6: the kernel's packet too big -> the next hop's MTU and the packet it quotes") {
  auto ptb = packet_too_big_of(icmp_of(kf::kPacketTooBig));
  REQUIRE(ptb);
  CHECK(ptb->mtu == 1280);
  CHECK(ptb->quoted.src == kClient);
  CHECK(ptb->quoted.dst == kFar);
  CHECK(ptb->quoted.next_header == kIpProtoIcmpv6);
  CHECK(ptb->quoted.payload_len == 1308);  // 1,300 bytes of data and the echo header
  CHECK(ptb->quoted_l4[0] == kIcmpv6EchoRequest);
  // Cut short of the quoted header and 8 bytes, it is refused.
  Icmpv6 m = icmp_of(kf::kPacketTooBig);
  m.body_len = 4 + kIpv6HeaderLen + 7;
  CHECK_FALSE(packet_too_big_of(m));
}

// Unit tests: ICMP (RFC 792, RFC 1191) echo and destination unreachable against kernel messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "frames/vxlan_frame_util.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/icmp.hpp"
#include "virtuoso/wire/vxlan.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

std::string text(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

// The IPv4 datagram of a frame (header on), as the router saw it.
std::vector<uint8_t> datagram_of(const std::vector<uint8_t>& f) {
  return std::vector<uint8_t>(f.begin() + kIpOff, f.begin() + kIpOff + ip_total_len(f));
}

}  // namespace

TEST_CASE("icmp: kernel frames carrying ICMP -> IPv4 protocol 1", "[icmp]") {
  auto f = copy(kernel_vxlan_frames::kPingRequest);
  auto ip = parse_ipv4(&f[kIpOff], f.size() - kIpOff);
  REQUIRE(ip.error == Ipv4Error::kOk);
  CHECK(ip.hdr.proto == kIpProtoIcmp);
}

TEST_CASE("icmp: kernel echo request from a ping socket -> id, seq 7 and the data sent", "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  auto r = parse_icmp_echo(m.data(), m.size());
  REQUIRE(r.error == IcmpError::kOk);
  CHECK(r.echo.request);
  CHECK(r.echo.id != 0);  // the kernel picks the ping socket's id
  CHECK(r.echo.seq == 7);
  CHECK(text(r.echo.data, r.echo.data_len) == "virtuoso ping");
}

TEST_CASE("icmp: kernel echo reply -> a reply with the request's id, seq and data", "[icmp]") {
  auto req = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  auto rep = l4_of(copy(kernel_vxlan_frames::kPingReply));
  auto q = parse_icmp_echo(req.data(), req.size());
  auto r = parse_icmp_echo(rep.data(), rep.size());
  REQUIRE(q.error == IcmpError::kOk);
  REQUIRE(r.error == IcmpError::kOk);
  CHECK_FALSE(r.echo.request);
  CHECK(r.echo.id == q.echo.id);
  CHECK(r.echo.seq == q.echo.seq);
  CHECK(text(r.echo.data, r.echo.data_len) == text(q.echo.data, q.echo.data_len));
}

TEST_CASE("icmp: echo reply built from the kernel's request -> the kernel's reply bytes",
          "[icmp]") {
  auto req = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  auto want = l4_of(copy(kernel_vxlan_frames::kPingReply));
  auto q = parse_icmp_echo(req.data(), req.size());
  REQUIRE(q.error == IcmpError::kOk);
  std::vector<uint8_t> out(req.size(), 0xaa);
  REQUIRE(build_icmp_echo_reply(out.data(), q.echo) == want.size());
  CHECK(out == want);
}

TEST_CASE("icmp: echo reply built in place over the kernel's request -> the kernel's reply bytes",
          "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  auto q = parse_icmp_echo(m.data(), m.size());
  REQUIRE(q.error == IcmpError::kOk);
  build_icmp_echo_reply(m.data(), q.echo);
  CHECK(m == l4_of(copy(kernel_vxlan_frames::kPingReply)));
}

TEST_CASE("icmp: kernel echo over VXLAN -> inner request and reply parse, reply rebuilt exactly",
          "[icmp]") {
  auto f = copy(kernel_vxlan_frames::kVxlanPingRequest);
  auto g = copy(kernel_vxlan_frames::kVxlanPingReply);
  auto inner = [](const std::vector<uint8_t>& v) {
    auto r = parse_vxlan_frame(v.data(), v.size());
    REQUIRE(r.error == VxlanError::kOk);
    std::vector<uint8_t> in(r.f.inner, r.f.inner + r.f.inner_len);
    return l4_of(in);
  };
  auto req = inner(f), rep = inner(g);
  auto q = parse_icmp_echo(req.data(), req.size());
  REQUIRE(q.error == IcmpError::kOk);
  CHECK(text(q.echo.data, q.echo.data_len) == "over vni 42");
  std::vector<uint8_t> out(req.size());
  build_icmp_echo_reply(out.data(), q.echo);
  CHECK(out == rep);
}

TEST_CASE("icmp: echo request built then parsed -> same id, seq and data", "[icmp]") {
  std::vector<uint8_t> m(8 + 5);
  std::copy_n("abcde", 5, m.begin() + 8);
  REQUIRE(build_icmp_echo(m.data(), true, 0xbeef, 0xffff, 5) == m.size());
  CHECK(internet_checksum(m.data(), m.size()) == 0);
  auto r = parse_icmp_echo(m.data(), m.size());
  REQUIRE(r.error == IcmpError::kOk);
  CHECK(r.echo.request);
  CHECK(r.echo.id == 0xbeef);
  CHECK(r.echo.seq == 0xffff);
  CHECK(text(r.echo.data, r.echo.data_len) == "abcde");
}

TEST_CASE("icmp: any byte of a kernel message flipped -> kChecksum, accepted unverified",
          "[icmp]") {
  auto orig = l4_of(copy(kernel_vxlan_frames::kPingReply));
  for (size_t off = 0; off < orig.size(); ++off) {
    auto m = orig;
    m[off] ^= 0x01;
    INFO("offset " << off);
    CHECK(parse_icmp(m.data(), m.size()).error == IcmpError::kChecksum);
    CHECK(parse_icmp(m.data(), m.size(), false).error == IcmpError::kOk);
  }
}

TEST_CASE("icmp: echo parser given a kernel port unreachable -> kNotEcho", "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  CHECK(parse_icmp_echo(m.data(), m.size()).error == IcmpError::kNotEcho);
}

TEST_CASE("icmp: echo request with a nonzero code -> kNotEcho", "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  m[1] = 1;
  refresh_icmp_checksum(m);
  CHECK(parse_icmp_echo(m.data(), m.size()).error == IcmpError::kNotEcho);
}

TEST_CASE("icmp: every prefix of a kernel echo -> kTruncated below 8 bytes, no read past it",
          "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPingRequest));
  for (size_t n = 0; n <= m.size(); ++n) {
    std::vector<uint8_t> pre(m.begin(), m.begin() + long(n));  // exact size for sanitizers
    auto r = parse_icmp_echo(pre.data(), n, false);
    INFO("prefix " << n);
    REQUIRE(r.error == (n < 8 ? IcmpError::kTruncated : IcmpError::kOk));
    if (n >= 8) CHECK(r.echo.data_len == n - 8);
    if (n < 8) CHECK(parse_icmp_echo(pre.data(), n).error == IcmpError::kTruncated);
  }
}

TEST_CASE("icmp: kernel port unreachable -> code 3 quoting the UDP datagram's addresses and ports",
          "[icmp]") {
  auto sent = copy(kernel_vxlan_frames::kUdpToClosedPort);
  auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  auto r = parse_icmp_unreachable(m.data(), m.size());
  REQUIRE(r.error == IcmpError::kOk);
  CHECK(r.u.code == kIcmpPortUnreachable);
  CHECK(r.u.next_hop_mtu == 0);
  CHECK(r.u.quoted_ip.src == kVtepA);
  CHECK(r.u.quoted_ip.dst == kVtepB);
  CHECK(r.u.quoted_ip.proto == kIpProtoUdp);
  CHECK(r.u.quoted_ip.id == load_be16(&sent[kIpOff + 4]));
  CHECK(r.u.quoted_ip.total_len == ip_total_len(sent));
  CHECK(quoted_src_port(r.u) == load_be16(&sent[kL4Off]));
  CHECK(quoted_dst_port(r.u) == 9);
  // A short datagram is quoted whole: UDP header and all 13 bytes of data.
  CHECK(r.u.quoted_l4_len == 8 + 13);
}

TEST_CASE("icmp: port unreachable rebuilt from the datagram it quotes -> the kernel's bytes",
          "[icmp]") {
  auto d = datagram_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  auto want = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  std::vector<uint8_t> out(8 + d.size(), 0xaa);
  REQUIRE(build_icmp_unreachable(out.data(), kIcmpPortUnreachable, 0, d.data(), d.size()) ==
          want.size());
  CHECK(out == want);
}

TEST_CASE("icmp: kernel fragmentation needed -> code 4, next-hop MTU 1280 (RFC 1191)", "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kFragNeeded));
  auto r = parse_icmp_unreachable(m.data(), m.size());
  REQUIRE(r.error == IcmpError::kOk);
  CHECK(r.u.code == kIcmpFragNeeded);
  CHECK(r.u.next_hop_mtu == 1280);
}

TEST_CASE(
    "icmp: kernel fragmentation needed -> quoted TCP 4-tuple and sequence number are the "
    "segment's (RFC 5927)",
    "[icmp]") {
  auto seg = copy(kernel_vxlan_frames::kTcpTooBig);
  auto t = parse_tcp_frame(seg.data(), seg.size());
  REQUIRE(t.error == FrameError::kOk);
  auto m = l4_of(copy(kernel_vxlan_frames::kFragNeeded));
  auto r = parse_icmp_unreachable(m.data(), m.size());
  REQUIRE(r.error == IcmpError::kOk);
  CHECK(r.u.quoted_ip.src == kVtepA);
  CHECK(r.u.quoted_ip.dst == kFarServer);
  CHECK(r.u.quoted_ip.proto == kIpProtoTcp);
  CHECK(r.u.quoted_ip.frag == 0x4000);  // DF, which is why the router could not fragment
  CHECK(r.u.quoted_ip.total_len == 1500);
  CHECK(quoted_src_port(r.u) == t.f.tcp.src_port);
  CHECK(quoted_dst_port(r.u) == 5003);
  CHECK(quoted_tcp_seq(r.u) == t.f.tcp.seq);
  CHECK(r.u.quoted_l4_len == kIcmpMaxQuote - 20);  // the kernel fills 576 bytes
}

TEST_CASE("icmp: fragmentation needed rebuilt from the segment it quotes -> the kernel's bytes",
          "[icmp]") {
  auto d = datagram_of(copy(kernel_vxlan_frames::kTcpTooBig));
  auto want = l4_of(copy(kernel_vxlan_frames::kFragNeeded));
  std::vector<uint8_t> out(8 + kIcmpMaxQuote);
  REQUIRE(build_icmp_unreachable(out.data(), kIcmpFragNeeded, 1280, d.data(), kIcmpMaxQuote) ==
          want.size());
  CHECK(out == want);
}

TEST_CASE("icmp: unreachable codes other than 4 -> next-hop MTU 0 whatever the unused word holds",
          "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  for (uint8_t code : {kIcmpNetUnreachable, kIcmpHostUnreachable, kIcmpPortUnreachable}) {
    m[1] = code;
    store_be32(&m[4], 0x000005dc);
    refresh_icmp_checksum(m);
    auto r = parse_icmp_unreachable(m.data(), m.size());
    INFO("code " << int(code));
    REQUIRE(r.error == IcmpError::kOk);
    CHECK(r.u.code == code);
    CHECK(r.u.next_hop_mtu == 0);
  }
}

TEST_CASE("icmp: unreachable parser given a kernel echo reply -> kNotUnreachable", "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPingReply));
  CHECK(parse_icmp_unreachable(m.data(), m.size()).error == IcmpError::kNotUnreachable);
}

TEST_CASE("icmp: quote of the IP header plus 7 bytes -> kQuoteTooShort (RFC 792 asks for 8)",
          "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  m.resize(8 + 20 + 7);
  refresh_icmp_checksum(m);
  CHECK(parse_icmp_unreachable(m.data(), m.size()).error == IcmpError::kQuoteTooShort);
  m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  m.resize(8 + 20 + 8);
  refresh_icmp_checksum(m);
  CHECK(parse_icmp_unreachable(m.data(), m.size()).error == IcmpError::kOk);
}

TEST_CASE("icmp: quoted header with options and only 8 bytes after 20 -> kQuoteTooShort",
          "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
  m.resize(8 + 20 + 8);
  m[8] = 0x46;  // a 24-byte quoted header leaves only 4 bytes of its payload
  refresh_icmp_checksum(m);
  CHECK(parse_icmp_unreachable(m.data(), m.size()).error == IcmpError::kQuoteTooShort);
}

TEST_CASE("icmp: quoted header not IPv4 (version 6, or IHL below 5) -> kQuoteNotIpv4", "[icmp]") {
  for (uint8_t b0 : {0x65, 0x44, 0x40}) {
    auto m = l4_of(copy(kernel_vxlan_frames::kPortUnreachable));
    m[8] = b0;
    refresh_icmp_checksum(m);
    INFO("first quoted byte " << int(b0));
    CHECK(parse_icmp_unreachable(m.data(), m.size()).error == IcmpError::kQuoteNotIpv4);
  }
}

TEST_CASE(
    "icmp: every prefix of a kernel fragmentation needed -> truncated or short quote, no read "
    "past it",
    "[icmp]") {
  auto m = l4_of(copy(kernel_vxlan_frames::kFragNeeded));
  for (size_t n = 0; n <= m.size(); ++n) {
    std::vector<uint8_t> pre(m.begin(), m.begin() + long(n));  // exact size for sanitizers
    auto r = parse_icmp_unreachable(pre.data(), n, false);
    INFO("prefix " << n);
    IcmpError want = n < 8            ? IcmpError::kTruncated
                     : n < 8 + 20 + 8 ? IcmpError::kQuoteTooShort
                                      : IcmpError::kOk;
    REQUIRE(r.error == want);
    if (want == IcmpError::kOk) CHECK(r.u.quoted_l4_len == n - 28);
    // Verified, a cut message fails its checksum (or is too short) but is never read past its end.
    bool cut_ok = parse_icmp_unreachable(pre.data(), n).error == IcmpError::kOk;
    CHECK(cut_ok == (n == m.size()));
  }
}

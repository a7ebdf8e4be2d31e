// Unit tests: UDP (RFC 768) against kernel datagrams: fields, optional checksum, bad lengths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "frames/vxlan_frame_util.hpp"
#include "virtuoso/wire/udp.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

UdpParse parse(const std::vector<uint8_t>& d, uint32_t src = kVtepA, uint32_t dst = kVtepB,
               bool verify = true) {
  return parse_udp(d.data(), d.size(), src, dst, verify);
}

}  // namespace

TEST_CASE("udp: kernel datagram to a closed port -> ports, length 21, checksum verifies", "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  auto r = parse(d);
  REQUIRE(r.error == UdpError::kOk);
  CHECK(r.hdr.dst_port == 9);
  CHECK(r.hdr.src_port >= 32768);  // the kernel's ephemeral range
  CHECK(r.hdr.length == 21);
  CHECK(r.hdr.checksum != 0);
}

TEST_CASE("udp: build from the parsed kernel datagram -> kernel's 8 bytes including checksum",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  auto r = parse(d);
  REQUIRE(r.error == UdpError::kOk);
  std::vector<uint8_t> out(d);
  std::fill(out.begin(), out.begin() + 8, 0xaa);
  size_t n = build_udp(out.data(), r.hdr.src_port, r.hdr.dst_port, d.size() - 8, kVtepA, kVtepB);
  CHECK(n == d.size());
  CHECK(out == d);
}

TEST_CASE("udp: kernel VXLAN datagram sent with checksum 0 -> accepted, nothing verified",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kVxlanData));
  auto r = parse(d);
  REQUIRE(r.error == UdpError::kOk);
  CHECK(r.hdr.checksum == 0);
  CHECK(r.hdr.dst_port == 4789);
  d.back() ^= 0x01;  // nothing protects the payload, so a flipped byte goes unnoticed
  CHECK(parse(d).error == UdpError::kOk);
}

TEST_CASE("udp: kernel VXLAN datagram with udpcsum -> checksum over the whole inner frame verifies",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kVxlanUdpCsum));
  auto r = parse(d);
  REQUIRE(r.error == UdpError::kOk);
  CHECK(r.hdr.checksum != 0);
  std::vector<uint8_t> out(d);
  std::fill(out.begin(), out.begin() + 8, 0);
  build_udp(out.data(), r.hdr.src_port, r.hdr.dst_port, d.size() - 8, kVtepA, kVtepB);
  CHECK(out == d);
}

TEST_CASE("udp: build without checksum -> field 0, still parses", "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  build_udp(d.data(), 1234, 9, d.size() - 8, kVtepA, kVtepB, false);
  CHECK(load_be16(&d[6]) == 0);
  auto r = parse(d);
  CHECK(r.error == UdpError::kOk);
  CHECK(r.hdr.src_port == 1234);
}

TEST_CASE(
    "udp: any byte of a checksummed kernel datagram flipped -> kChecksum, accepted unverified",
    "[udp]") {
  auto orig = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  for (size_t off = 0; off < orig.size(); ++off) {
    if (off == 4 || off == 5) continue;  // the length field fails its own check first
    auto d = orig;
    d[off] ^= 0x01;
    INFO("offset " << off);
    CHECK(parse(d).error == UdpError::kChecksum);
    CHECK(parse(d, kVtepA, kVtepB, false).error == UdpError::kOk);
  }
}

TEST_CASE("udp: kernel datagram checked against other IP addresses -> kChecksum (pseudo header)",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  CHECK(parse(d, kVtepA, kFarServer).error == UdpError::kChecksum);
}

TEST_CASE("udp: sum that folds to 0 -> sent as 0xffff, which verifies", "[udp]") {
  std::vector<uint8_t> d(10, 0);
  build_udp(d.data(), 1000, 2000, 2, kVtepA, kVtepB);
  // Putting the checksum itself in the payload makes the new sum all ones, so its complement is 0.
  uint16_t c = load_be16(&d[6]);
  store_be16(&d[8], c);
  build_udp(d.data(), 1000, 2000, 2, kVtepA, kVtepB);
  CHECK(load_be16(&d[6]) == 0xffff);
  CHECK(parse(d).error == UdpError::kOk);
}

TEST_CASE("udp: length field below the 8-byte header -> kLength", "[udp]") {
  for (uint16_t len : {0, 1, 7}) {
    auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
    store_be16(&d[4], len);
    INFO("length " << len);
    CHECK(parse(d, kVtepA, kVtepB, false).error == UdpError::kLength);
  }
}

TEST_CASE("udp: length field beyond the IP payload -> kLength", "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  store_be16(&d[4], uint16_t(d.size() + 1));
  CHECK(parse(d, kVtepA, kVtepB, false).error == UdpError::kLength);
}

TEST_CASE("udp: bytes after the UDP length -> ignored, checksum over the UDP length only",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  d.insert(d.end(), {0xde, 0xad, 0xbe});
  auto r = parse(d);
  CHECK(r.error == UdpError::kOk);
  CHECK(r.hdr.length == 21);
}

TEST_CASE("udp: every prefix of a kernel datagram -> truncated or bad length, no read past it",
          "[udp]") {
  auto d = l4_of(copy(kernel_vxlan_frames::kUdpToClosedPort));
  for (size_t n = 0; n <= d.size(); ++n) {
    std::vector<uint8_t> pre(d.begin(),
                             d.begin() + long(n));  // exact size: a sanitizer sees overreads
    auto e = parse_udp(pre.data(), n, kVtepA, kVtepB).error;
    INFO("prefix " << n);
    CHECK(e == (n < 8 ? UdpError::kTruncated : n < d.size() ? UdpError::kLength : UdpError::kOk));
  }
}

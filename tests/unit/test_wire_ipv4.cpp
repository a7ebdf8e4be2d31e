// Unit tests: IPv4 (RFC 791) parse/build against kernel-made frames, and malformed headers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/ipv4.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

Ipv4Parse parse(const std::vector<uint8_t>& f) {
  return parse_ipv4(f.data() + kIpOff, f.size() - kIpOff);
}

// Builds the header the kernel sent, from the fields we parsed, into a fresh buffer.
std::vector<uint8_t> rebuild(const Ipv4Header& h) {
  std::vector<uint8_t> out(20, 0xaa);
  build_ipv4(out.data(), h.src, h.dst, h.proto, uint16_t(h.total_len - 20), h.id, h.ttl, h.tos);
  return out;
}

}  // namespace

TEST_CASE("ipv4: kernel SYN -> fields as sent, DF set, no error") {
  auto f = copy(kernel_frames::kSynFull);
  auto r = parse(f);
  REQUIRE(r.error == Ipv4Error::kOk);
  CHECK(r.hdr.ihl_bytes == 20);
  CHECK(r.hdr.tos == 0);
  CHECK(r.hdr.total_len == 60);
  CHECK(r.hdr.id == 0x12ad);
  CHECK(r.hdr.frag == 0x4000);
  CHECK(r.hdr.ttl == 64);
  CHECK(r.hdr.proto == kIpProtoTcp);
  CHECK(r.hdr.src == kClientIp);
  CHECK(r.hdr.dst == kServerIp);
}

TEST_CASE("ipv4: build from the parsed kernel header -> kernel's 20 bytes including checksum") {
  using namespace kernel_frames;
  for (auto f : {copy(kSynFull), copy(kSynAckFull), copy(kDataOdd), copy(kDataEcho),
                 copy(kFinClient), copy(kSynPlain)}) {
    auto r = parse(f);
    REQUIRE(r.error == Ipv4Error::kOk);
    auto out = rebuild(r.hdr);
    CHECK(std::equal(out.begin(), out.end(), f.begin() + kIpOff));
  }
}

TEST_CASE("ipv4: any single header byte flipped (not version, IHL or length) -> kChecksum") {
  for (size_t off : {1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}) {
    auto f = copy(kernel_frames::kDataOdd);
    f[kIpOff + off] ^= 0x01;
    INFO("offset " << off);
    CHECK(parse(f).error == Ipv4Error::kChecksum);
  }
}

TEST_CASE("ipv4: corrupted checksum with verification off -> accepted") {
  auto f = copy(kernel_frames::kDataOdd);
  f[kIpOff + 10] ^= 0xff;
  CHECK(parse_ipv4(f.data() + kIpOff, f.size() - kIpOff, false).error == Ipv4Error::kOk);
}

TEST_CASE("ipv4: fewer than 20 bytes -> kTruncated") {
  auto f = copy(kernel_frames::kSynFull);
  CHECK(parse_ipv4(f.data() + kIpOff, 19).error == Ipv4Error::kTruncated);
  CHECK(parse_ipv4(f.data() + kIpOff, 0).error == Ipv4Error::kTruncated);
}

TEST_CASE("ipv4: version 6 in the first nibble -> kVersion") {
  auto f = copy(kernel_frames::kSynFull);
  f[kIpOff] = 0x65;
  CHECK(parse(f).error == Ipv4Error::kVersion);
}

TEST_CASE("ipv4: IHL below 5 -> kHeaderLen") {
  for (uint8_t ihl : {0, 1, 4}) {
    auto f = copy(kernel_frames::kSynFull);
    f[kIpOff] = uint8_t(0x40 | ihl);
    INFO("ihl " << int(ihl));
    CHECK(parse(f).error == Ipv4Error::kHeaderLen);
  }
}

TEST_CASE("ipv4: IHL longer than the buffer -> kHeaderLen") {
  auto f = copy(kernel_frames::kSynFull);
  f[kIpOff] = 0x4f;  // 60-byte header
  CHECK(parse_ipv4(f.data() + kIpOff, 40).error == Ipv4Error::kHeaderLen);
}

TEST_CASE("ipv4: total length beyond the buffer -> kTotalLen") {
  auto f = copy(kernel_frames::kDataOdd);
  // The kernel's datagram is 67 bytes; a buffer that ends one byte early cannot hold it.
  CHECK(parse_ipv4(f.data() + kIpOff, 66).error == Ipv4Error::kTotalLen);
  store_be16(&f[kIpOff + 2], 0xffff);
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == Ipv4Error::kTotalLen);
}

TEST_CASE("ipv4: total length smaller than the header -> kTotalLen") {
  auto f = copy(kernel_frames::kDataOdd);
  store_be16(&f[kIpOff + 2], 19);
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == Ipv4Error::kTotalLen);
}

TEST_CASE("ipv4: more-fragments bit with a valid checksum -> kFragment") {
  auto f = copy(kernel_frames::kDataOdd);
  store_be16(&f[kIpOff + 6], 0x2000);
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == Ipv4Error::kFragment);
}

TEST_CASE("ipv4: nonzero fragment offset with a valid checksum -> kFragment") {
  auto f = copy(kernel_frames::kDataOdd);
  store_be16(&f[kIpOff + 6], 0x0001);  // last fragment, offset 8 bytes
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == Ipv4Error::kFragment);
}

TEST_CASE("ipv4: DF cleared, not a fragment -> accepted") {
  auto f = copy(kernel_frames::kDataOdd);
  store_be16(&f[kIpOff + 6], 0x0000);
  refresh_ipv4_checksum(f);
  auto r = parse(f);
  CHECK(r.error == Ipv4Error::kOk);
  CHECK(r.hdr.frag == 0);
}

TEST_CASE("ipv4: Ethernet padding after the datagram -> accepted, total length unchanged") {
  auto f = copy(kernel_frames::kSynPlain);
  f.resize(f.size() + 12, 0);
  auto r = parse(f);
  CHECK(r.error == Ipv4Error::kOk);
  CHECK(r.hdr.total_len == 48);
}

TEST_CASE("ipv4: header with 4 bytes of options -> accepted, IHL 24 bytes") {
  auto f = copy(kernel_frames::kSynPlain);
  // Insert a NOP,NOP,NOP,EOL option word after the fixed header and grow IHL and total length.
  f.insert(f.begin() + kIpOff + 20, {0x01, 0x01, 0x01, 0x00});
  f[kIpOff] = 0x46;
  store_be16(&f[kIpOff + 2], uint16_t(load_be16(&f[kIpOff + 2]) + 4));
  refresh_ipv4_checksum(f);
  auto r = parse(f);
  CHECK(r.error == Ipv4Error::kOk);
  CHECK(r.hdr.ihl_bytes == 24);
  CHECK(r.hdr.total_len == 52);
}

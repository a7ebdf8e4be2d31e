// Unit tests: the Internet checksum (RFC 1071) against known vectors and kernel-made frames.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/checksum.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

struct Named {
  const char* name;
  std::vector<uint8_t> frame;
};

std::vector<Named> kernel_tcp_frames() {
  using namespace kernel_frames;
  return {{"SYN", copy(kSynFull)},         {"SYN-ACK", copy(kSynAckFull)},
          {"ACK", copy(kAckHandshake)},    {"data", copy(kDataOdd)},
          {"echo", copy(kDataEcho)},       {"FIN", copy(kFinClient)},
          {"plain SYN", copy(kSynPlain)},  {"plain SYN-ACK", copy(kSynAckPlain)}};
}

}  // namespace

TEST_CASE("checksum: RFC 1071 section 3 example bytes -> sum 0xddf2, checksum 0x220d") {
  const std::array<uint8_t, 8> bytes{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  uint32_t sum = csum_add(0, bytes.data(), bytes.size());
  CHECK(csum_fold(sum) == 0x220d);
  CHECK(internet_checksum(bytes.data(), bytes.size()) == 0x220d);
}

TEST_CASE("checksum: odd-length buffer -> last byte counts as the high half of a zero-padded word") {
  const std::array<uint8_t, 3> odd{0x12, 0x34, 0x56};
  const std::array<uint8_t, 4> padded{0x12, 0x34, 0x56, 0x00};
  CHECK(internet_checksum(odd.data(), odd.size()) == internet_checksum(padded.data(), padded.size()));
  CHECK(internet_checksum(odd.data(), odd.size()) == uint16_t(~(0x1234 + 0x5600)));
}

TEST_CASE("checksum: sum split at even offsets -> same as one pass") {
  auto f = copy(kernel_frames::kDataOdd);
  uint32_t whole = csum_add(0, f.data(), f.size());
  uint32_t split = csum_add(csum_add(csum_add(0, f.data(), 20), f.data() + 20, 36), f.data() + 56,
                            f.size() - 56);
  CHECK(csum_fold(whole) == csum_fold(split));
}

TEST_CASE("checksum: many 0xffff words -> carries fold back without overflow") {
  std::vector<uint8_t> ones(1 << 20, 0xff);
  // One's-complement sum of all-ones words is all ones (negative zero); its complement is 0.
  CHECK(internet_checksum(ones.data(), ones.size()) == 0);
}

TEST_CASE("checksum: IPv4 header of every kernel frame -> verifies to zero") {
  for (auto& [name, f] : kernel_tcp_frames()) {
    INFO(name);
    CHECK(internet_checksum(&f[kIpOff], 20) == 0);
  }
}

TEST_CASE("checksum: recomputed IPv4 header checksum -> equals the kernel's field") {
  for (auto& [name, f] : kernel_tcp_frames()) {
    INFO(name);
    uint16_t kernel = load_be16(&f[kIpOff + 10]);
    store_be16(&f[kIpOff + 10], 0);
    CHECK(internet_checksum(&f[kIpOff], 20) == kernel);
  }
}

TEST_CASE("checksum: TCP segment plus pseudo header of every kernel frame -> verifies to zero") {
  for (auto& [name, f] : kernel_tcp_frames()) {
    INFO(name);
    uint16_t seg_len = uint16_t(ip_total_len(f) - 20);
    uint32_t sum = pseudo_header_sum(load_be32(&f[kIpOff + 12]), load_be32(&f[kIpOff + 16]),
                                     kIpProtoTcp, seg_len);
    CHECK(csum_fold(csum_add(sum, &f[kTcpOff], seg_len)) == 0);
  }
}

TEST_CASE("checksum: pseudo header with swapped addresses -> same sum (addition commutes)") {
  CHECK(pseudo_header_sum(kClientIp, kServerIp, kIpProtoTcp, 40) ==
        pseudo_header_sum(kServerIp, kClientIp, kIpProtoTcp, 40));
  CHECK(pseudo_header_sum(kClientIp, kServerIp, kIpProtoTcp, 40) !=
        pseudo_header_sum(kClientIp, kServerIp, kIpProtoTcp, 41));
}

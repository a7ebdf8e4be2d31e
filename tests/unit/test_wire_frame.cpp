// Unit tests: whole Ethernet/IPv4/TCP frames parsed and built in one call, against kernel frames.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/frame.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {
TcpFrameParse parse(const std::vector<uint8_t>& f) { return parse_tcp_frame(f.data(), f.size()); }
}  // namespace

TEST_CASE("frame: kernel data frame -> all three layers and the payload span") {
  auto f = copy(kernel_frames::kDataOdd);
  auto r = parse(f);
  REQUIRE(r.error == FrameError::kOk);
  CHECK(r.f.eth.ethertype == kEtherTypeIpv4);
  CHECK(r.f.ip.src == kClientIp);
  CHECK(r.f.tcp.dst_port == kServerPortFull);
  CHECK(r.f.payload == f.data() + kTcpOff + 32);
  REQUIRE(r.f.payload_len == 15);
  CHECK(std::memcmp(r.f.payload, "hello, virtuoso", 15) == 0);
}

TEST_CASE("frame: kernel data frame rebuilt with build_tcp_frame -> identical bytes") {
  auto f = copy(kernel_frames::kDataEcho);
  auto r = parse(f);
  REQUIRE(r.error == FrameError::kOk);
  TcpFrameOut out{r.f.eth.src, r.f.eth.dst, r.f.ip.src, r.f.ip.dst, r.f.ip.id, r.f.ip.tos,
                  {r.f.tcp.src_port, r.f.tcp.dst_port, r.f.tcp.seq, r.f.tcp.ack, r.f.tcp.flags,
                   r.f.tcp.window, {}}};
  out.tcp.opts.timestamps = true;
  out.tcp.opts.ts_val = r.f.tcp.opts.ts_val;
  out.tcp.opts.ts_ecr = r.f.tcp.opts.ts_ecr;
  std::vector<uint8_t> buf(128, 0xaa);
  size_t off = tcp_payload_offset(out.tcp.opts);
  REQUIRE(off == kTcpOff + 32);
  std::memcpy(buf.data() + off, r.f.payload, r.f.payload_len);
  size_t n = build_tcp_frame(buf.data(), out, r.f.payload_len);
  REQUIRE(n == f.size());
  CHECK(std::equal(f.begin(), f.end(), buf.begin()));
}

TEST_CASE("frame: Ethernet padding after a kernel segment -> payload length from the IP total length") {
  auto f = copy(kernel_frames::kSynPlain);
  f.resize(f.size() + 10, 0);
  auto r = parse(f);
  REQUIRE(r.error == FrameError::kOk);
  CHECK(r.f.payload_len == 0);
}

TEST_CASE("frame: shorter than an Ethernet header -> kEth") {
  CHECK(parse_tcp_frame(kernel_frames::kDataOdd, 10).error == FrameError::kEth);
}

TEST_CASE("frame: kernel ARP frame -> kNotIpv4") {
  CHECK(parse(copy(kernel_frames::kArpRequest)).error == FrameError::kNotIpv4);
}

TEST_CASE("frame: broken IPv4 header -> kIpv4") {
  auto f = copy(kernel_frames::kDataOdd);
  f[kIpOff + 8] ^= 0x01;  // TTL, so only the checksum notices
  CHECK(parse(f).error == FrameError::kIpv4);
}

TEST_CASE("frame: IPv4 protocol UDP with a valid header -> kNotTcp") {
  auto f = copy(kernel_frames::kDataOdd);
  f[kIpOff + 9] = kIpProtoUdp;
  refresh_ipv4_checksum(f);
  CHECK(parse(f).error == FrameError::kNotTcp);
}

TEST_CASE("frame: broken TCP payload byte -> kTcp, and accepted with checksums off") {
  auto f = copy(kernel_frames::kDataOdd);
  f.back() ^= 0x20;
  CHECK(parse(f).error == FrameError::kTcp);
  CHECK(parse_tcp_frame(f.data(), f.size(), false).error == FrameError::kOk);
}

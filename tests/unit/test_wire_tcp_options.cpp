// Unit tests: TCP option parsing and building (RFC 9293 3.1, RFC 7323, RFC 2018), incl. malformed lists.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/tcp.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

// Options start right after the fixed TCP header.
constexpr size_t kOptOff = kTcpOff + kTcpMinHeaderLen;

TcpParse parse(const std::vector<uint8_t>& f) {
  uint16_t seg_len = uint16_t(ip_total_len(f) - 20);
  return parse_tcp(f.data() + kTcpOff, seg_len, load_be32(&f[kIpOff + 12]),
                   load_be32(&f[kIpOff + 16]));
}

// Rewrites option bytes of a kernel segment in place and restores a valid checksum, so the
// parse result says what the option list itself is worth.
template <size_t N>
std::vector<uint8_t> with_options(std::vector<uint8_t> f, size_t at, const std::array<uint8_t, N>& b) {
  for (size_t i = 0; i < N; ++i) f[kOptOff + at + i] = b[i];
  refresh_tcp_checksum(f);
  return f;
}

}  // namespace

TEST_CASE("tcp options: length 0 -> kBadOption (not an endless loop)") {
  // kAckHandshake options: NOP NOP TS(10). Give the timestamp option length 0...
  auto f = with_options<1>(copy(kernel_frames::kAckHandshake), 3, {0x00});
  CHECK(parse(f).error == TcpError::kBadOption);
  // ...and an unknown kind, which no per-kind length check would catch.
  auto g = with_options<2>(copy(kernel_frames::kAckHandshake), 0, {0xfd, 0x00});
  CHECK(parse(g).error == TcpError::kBadOption);
}

TEST_CASE("tcp options: length 1 -> kBadOption") {
  auto f = with_options<1>(copy(kernel_frames::kAckHandshake), 3, {0x01});
  CHECK(parse(f).error == TcpError::kBadOption);
  auto g = with_options<2>(copy(kernel_frames::kAckHandshake), 0, {0xfd, 0x01});
  CHECK(parse(g).error == TcpError::kBadOption);
}

TEST_CASE("tcp options: length running past the header -> kBadOption") {
  auto f = with_options<1>(copy(kernel_frames::kAckHandshake), 3, {0x0c});
  CHECK(parse(f).error == TcpError::kBadOption);
  auto g = with_options<2>(copy(kernel_frames::kAckHandshake), 0, {0xfd, 0x0d});
  CHECK(parse(g).error == TcpError::kBadOption);
}

TEST_CASE("tcp options: kind byte with no room for its length -> kBadOption") {
  // kSynPlain options: MSS(4) NOP WS(3). Make the last byte a lone window-scale kind.
  auto f = with_options<4>(copy(kernel_frames::kSynPlain), 4, {0x01, 0x01, 0x01, 0x03});
  CHECK(parse(f).error == TcpError::kBadOption);
}

TEST_CASE("tcp options: known kinds with the wrong length -> kBadOption") {
  SECTION("MSS of length 3") {
    auto f = with_options<4>(copy(kernel_frames::kSynPlain), 0, {0x02, 0x03, 0x05, 0x01});
    CHECK(parse(f).error == TcpError::kBadOption);
  }
  SECTION("window scale of length 4") {
    auto f = with_options<4>(copy(kernel_frames::kSynPlain), 4, {0x03, 0x04, 0x0a, 0x00});
    CHECK(parse(f).error == TcpError::kBadOption);
  }
  SECTION("SACK-permitted of length 3") {
    auto f = with_options<4>(copy(kernel_frames::kSynPlain), 4, {0x04, 0x03, 0x00, 0x01});
    CHECK(parse(f).error == TcpError::kBadOption);
  }
  SECTION("timestamps of length 8") {
    auto f = with_options<4>(copy(kernel_frames::kAckHandshake), 0, {0x08, 0x08, 0x00, 0x00});
    CHECK(parse(f).error == TcpError::kBadOption);
  }
}

TEST_CASE("tcp options: unknown 2-byte kind before timestamps -> skipped, timestamps parsed") {
  auto f = with_options<2>(copy(kernel_frames::kAckHandshake), 0, {0xfd, 0x02});
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.opts.has_timestamps);
  CHECK(r.hdr.opts.ts_val == 0x3b066bdf);
  CHECK(r.hdr.opts.ts_ecr == 0xb12ba092);
}

TEST_CASE("tcp options: unknown kind in place of SACK-permitted in a SYN -> skipped, others parsed") {
  auto f = with_options<2>(copy(kernel_frames::kSynFull), 4, {0xfe, 0x02});
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  CHECK_FALSE(r.hdr.opts.sack_permitted);
  CHECK(r.hdr.opts.mss == 1460);
  CHECK(r.hdr.opts.has_timestamps);
  CHECK(r.hdr.opts.wscale == 10);
}

TEST_CASE("tcp options: unknown 6-byte kind -> skipped by its length") {
  const std::array<uint8_t, 12> o{0x1e, 0x06, 0xff, 0xff, 0xff, 0xff,  // kind 30 (MPTCP), len 6
                                  0x02, 0x04, 0x23, 0x28, 0x01, 0x01};
  TcpOptions out;
  REQUIRE(parse_tcp_options(o.data(), o.size(), out));
  CHECK(out.mss == 9000);
}

TEST_CASE("tcp options: end-of-list kind -> the bytes after it are ignored") {
  // MSS, then EOL where the kernel put NOP,WS; the trailing bytes would be a bad option.
  auto f = with_options<4>(copy(kernel_frames::kSynPlain), 4, {0x00, 0x03, 0x00, 0x00});
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.opts.mss == 1460);
  CHECK(r.hdr.opts.wscale == -1);
}

TEST_CASE("tcp options: window scale above 14 -> clamped to 14 (RFC 7323 2.3)") {
  auto f = with_options<1>(copy(kernel_frames::kSynPlain), 7, {0x0f});
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.opts.wscale == 14);
}

TEST_CASE("tcp options: empty list or only NOPs -> nothing present") {
  TcpOptions out;
  CHECK(parse_tcp_options(nullptr, 0, out));
  const std::array<uint8_t, 4> nops{0x01, 0x01, 0x01, 0x01};
  CHECK(parse_tcp_options(nops.data(), nops.size(), out));
  CHECK(out.mss == 0);
  CHECK(out.wscale == -1);
  CHECK_FALSE(out.sack_permitted);
  CHECK_FALSE(out.has_timestamps);
}

TEST_CASE("tcp options: build lengths -> padded to 4-byte words per option set") {
  TcpOptionsOut o;
  CHECK(tcp_options_len(o) == 0);
  o.timestamps = true;
  CHECK(tcp_options_len(o) == 12);
  o.sack_permitted = true;
  CHECK(tcp_options_len(o) == 12);  // SACK-permitted takes the place of the two NOPs
  o.timestamps = false;
  CHECK(tcp_options_len(o) == 4);
  o.mss = 1460;
  o.wscale = 7;
  CHECK(tcp_options_len(o) == 12);
  o.timestamps = true;
  CHECK(tcp_options_len(o) == 20);
}

TEST_CASE("tcp options: SACK-permitted without timestamps built -> NOP,NOP,SACK-perm and parsed back") {
  std::vector<uint8_t> seg(24, 0);
  TcpSegmentOut s{1, 2, 100, 0, kTcpSyn, 1000, {}};
  s.opts.sack_permitted = true;
  REQUIRE(build_tcp(seg.data(), s, kClientIp, kServerIp, 0) == 24);
  CHECK(seg[20] == 0x01);
  CHECK(seg[21] == 0x01);
  CHECK(seg[22] == 0x04);
  CHECK(seg[23] == 0x02);
  auto r = parse_tcp(seg.data(), seg.size(), kClientIp, kServerIp);
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.opts.sack_permitted);
  CHECK_FALSE(r.hdr.opts.has_timestamps);
}

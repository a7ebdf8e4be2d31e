// Unit tests: TCP header parse/build (RFC 9293) against segments the Linux kernel sent.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/tcp.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {

TcpParse parse(const std::vector<uint8_t>& f, bool verify = true) {
  uint16_t seg_len = uint16_t(ip_total_len(f) - 20);
  return parse_tcp(f.data() + kTcpOff, seg_len, load_be32(&f[kIpOff + 12]),
                   load_be32(&f[kIpOff + 16]), verify);
}

// What a sender would ask build_tcp for to produce the parsed segment.
TcpSegmentOut to_out(const TcpHeader& h) {
  TcpOptionsOut o;
  o.mss = h.opts.mss;
  o.wscale = h.opts.wscale;
  o.sack_permitted = h.opts.sack_permitted;
  o.timestamps = h.opts.has_timestamps;
  o.ts_val = h.opts.ts_val;
  o.ts_ecr = h.opts.ts_ecr;
  return {h.src_port, h.dst_port, h.seq, h.ack, h.flags, h.window, o};
}

// Rebuilds the kernel's TCP segment (header + its payload) into a fresh buffer.
std::vector<uint8_t> rebuild(const std::vector<uint8_t>& f) {
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  size_t seg_len = ip_total_len(f) - 20;
  size_t payload_len = seg_len - r.hdr.data_off;
  auto out_seg = to_out(r.hdr);
  size_t hlen = kTcpMinHeaderLen + tcp_options_len(out_seg.opts);
  std::vector<uint8_t> out(hlen + payload_len, 0xaa);
  std::memcpy(out.data() + hlen, f.data() + kTcpOff + r.hdr.data_off, payload_len);
  CHECK(build_tcp(out.data(), out_seg, load_be32(&f[kIpOff + 12]), load_be32(&f[kIpOff + 16]),
                  payload_len) == hlen);
  return out;
}

bool same_segment(const std::vector<uint8_t>& kernel_frame, const std::vector<uint8_t>& seg) {
  return seg.size() == kernel_frame.size() - kTcpOff &&
         std::equal(seg.begin(), seg.end(), kernel_frame.begin() + kTcpOff);
}

}  // namespace

TEST_CASE("tcp: kernel SYN -> ports, ISN, flags, window and all four options") {
  auto r = parse(copy(kernel_frames::kSynFull));
  REQUIRE(r.error == TcpError::kOk);
  const TcpHeader& h = r.hdr;
  CHECK(h.src_port == kClientPortFull);
  CHECK(h.dst_port == kServerPortFull);
  CHECK(h.seq == 0x6952fd04);
  CHECK(h.ack == 0);
  CHECK(h.data_off == 40);
  CHECK(h.flags == kTcpSyn);
  CHECK(h.window == 64240);
  CHECK(h.urgent == 0);
  CHECK(h.opts.mss == 1460);
  CHECK(h.opts.sack_permitted);
  CHECK(h.opts.has_timestamps);
  CHECK(h.opts.ts_val == 0x3b066bdf);
  CHECK(h.opts.ts_ecr == 0);
  CHECK(h.opts.wscale == 10);
  CHECK(seg_len(h, 0) == 1);
}

TEST_CASE("tcp: kernel SYN-ACK -> acknowledges ISN+1 and echoes the SYN's timestamp") {
  auto r = parse(copy(kernel_frames::kSynAckFull));
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.flags == (kTcpSyn | kTcpAck));
  CHECK(r.hdr.ack == 0x6952fd05);
  CHECK(r.hdr.seq == 0x6be22c42);
  CHECK(r.hdr.window == 65160);
  CHECK(r.hdr.opts.mss == 1460);
  CHECK(r.hdr.opts.wscale == 10);
  CHECK(r.hdr.opts.sack_permitted);
  CHECK(r.hdr.opts.ts_val == 0xb12ba092);
  CHECK(r.hdr.opts.ts_ecr == 0x3b066bdf);
}

TEST_CASE("tcp: kernel data segment -> PSH|ACK, unscaled window, timestamps, 15-byte payload") {
  auto f = copy(kernel_frames::kDataOdd);
  auto r = parse(f);
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.flags == (kTcpPsh | kTcpAck));
  CHECK(r.hdr.seq == 0x6952fd05);
  CHECK(r.hdr.ack == 0x6be22c43);
  CHECK(r.hdr.window == 63);  // scaled by 2^10 after the handshake: the raw field is kept
  CHECK(r.hdr.data_off == 32);
  CHECK(r.hdr.opts.mss == 0);
  CHECK(r.hdr.opts.wscale == -1);
  CHECK_FALSE(r.hdr.opts.sack_permitted);
  CHECK(r.hdr.opts.has_timestamps);
  size_t payload = ip_total_len(f) - 20 - r.hdr.data_off;
  CHECK(payload == 15);
  CHECK(std::memcmp(f.data() + kTcpOff + r.hdr.data_off, "hello, virtuoso", 15) == 0);
  CHECK(seg_len(r.hdr, payload) == 15);
}

TEST_CASE("tcp: kernel FIN -> FIN|ACK occupying one sequence number") {
  auto r = parse(copy(kernel_frames::kFinClient));
  REQUIRE(r.error == TcpError::kOk);
  CHECK(r.hdr.flags == (kTcpFin | kTcpAck));
  CHECK(r.hdr.seq == 0x6952fd05 + 15);  // right after the data segment's payload
  CHECK(seg_len(r.hdr, 0) == 1);
}

TEST_CASE("tcp: kernel segments with NOP,NOP,timestamps -> rebuilt byte for byte incl. checksum") {
  using namespace kernel_frames;
  for (auto f : {copy(kAckHandshake), copy(kDataOdd), copy(kDataEcho), copy(kFinClient)}) {
    CHECK(same_segment(f, rebuild(f)));
  }
}

TEST_CASE("tcp: kernel SYN and SYN-ACK with MSS,NOP,wscale -> rebuilt byte for byte incl. checksum") {
  CHECK(same_segment(copy(kernel_frames::kSynPlain), rebuild(copy(kernel_frames::kSynPlain))));
  CHECK(same_segment(copy(kernel_frames::kSynAckPlain), rebuild(copy(kernel_frames::kSynAckPlain))));
}

TEST_CASE("tcp: kernel SYN with four options rebuilt -> same fields, our option order, valid checksum") {
  // Linux orders MSS,SACK-permitted,timestamps,NOP,wscale; we write MSS,NOP,wscale,SACK-perm,ts.
  // Both are 20 bytes of options, so everything outside the option bytes and checksum must match.
  auto f = copy(kernel_frames::kSynFull);
  auto seg = rebuild(f);
  REQUIRE(seg.size() == f.size() - kTcpOff);
  CHECK(std::equal(seg.begin(), seg.begin() + 16, f.begin() + kTcpOff));
  CHECK(std::equal(seg.begin() + 18, seg.begin() + 20, f.begin() + kTcpOff + 18));
  auto again = parse_tcp(seg.data(), seg.size(), kClientIp, kServerIp);
  REQUIRE(again.error == TcpError::kOk);
  auto orig = parse(f);
  CHECK(again.hdr.opts.mss == orig.hdr.opts.mss);
  CHECK(again.hdr.opts.wscale == orig.hdr.opts.wscale);
  CHECK(again.hdr.opts.sack_permitted == orig.hdr.opts.sack_permitted);
  CHECK(again.hdr.opts.ts_val == orig.hdr.opts.ts_val);
  CHECK(again.hdr.opts.ts_ecr == orig.hdr.opts.ts_ecr);
}

TEST_CASE("tcp: any single bit-0 flip in a kernel segment (header, options, payload) -> kChecksum") {
  auto base = copy(kernel_frames::kDataOdd);
  size_t seg_len = ip_total_len(base) - 20;
  for (size_t off = 0; off < seg_len; ++off) {
    auto f = base;
    f[kTcpOff + off] ^= 0x01;
    INFO("offset " << off);
    CHECK(parse(f).error == TcpError::kChecksum);
  }
}

TEST_CASE("tcp: pseudo header with the wrong source address -> kChecksum") {
  auto f = copy(kernel_frames::kDataOdd);
  CHECK(parse_tcp(f.data() + kTcpOff, f.size() - kTcpOff, kClientIp + 1, kServerIp).error ==
        TcpError::kChecksum);
}

TEST_CASE("tcp: corrupted checksum with verification off -> accepted") {
  auto f = copy(kernel_frames::kDataOdd);
  f[kTcpOff + 16] ^= 0xff;
  CHECK(parse(f, false).error == TcpError::kOk);
}

TEST_CASE("tcp: segment shorter than 20 bytes -> kTruncated") {
  auto f = copy(kernel_frames::kAckHandshake);
  CHECK(parse_tcp(f.data() + kTcpOff, 19, kClientIp, kServerIp).error == TcpError::kTruncated);
}

TEST_CASE("tcp: data offset below 5 words -> kHeaderLen") {
  for (uint8_t words : {0, 4}) {
    auto f = copy(kernel_frames::kDataOdd);
    f[kTcpOff + 12] = uint8_t(words << 4);
    refresh_tcp_checksum(f);
    INFO("data offset " << int(words));
    CHECK(parse(f).error == TcpError::kHeaderLen);
  }
}

TEST_CASE("tcp: data offset beyond the segment -> kHeaderLen") {
  auto f = copy(kernel_frames::kAckHandshake);  // 32-byte segment, no payload
  f[kTcpOff + 12] = 0x90;                        // 36-byte header
  refresh_tcp_checksum(f);
  CHECK(parse(f).error == TcpError::kHeaderLen);
  // The header may end exactly at the end of the segment.
  auto g = copy(kernel_frames::kDataOdd);  // 47-byte segment
  CHECK(parse_tcp(g.data() + kTcpOff, 32, kClientIp, kServerIp, false).error == TcpError::kOk);
  CHECK(parse_tcp(g.data() + kTcpOff, 31, kClientIp, kServerIp, false).error == TcpError::kHeaderLen);
}

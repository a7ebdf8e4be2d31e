// Fast-path handling of the options agreed in the handshake: timestamps and PAWS, window
// scaling, ECN echo; and the delayed-ACK and receive-window rules.
#include <catch2/catch.hpp>

#include "support/fake_fastpath.hpp"
#include "virtuoso/wire/checksum.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using test::with_ecn;
using wire::kTcpAck;

namespace {
wire::TcpOptionsOut ts(uint32_t val, uint32_t ecr) {
  wire::TcpOptionsOut o;
  o.timestamps = true;
  o.ts_val = val;
  o.ts_ecr = ecr;
  return o;
}
}  // namespace

TEST_CASE("ESTABLISHED with timestamps: every segment carries our clock and echoes ts_recent") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.peer_ts = 777;
  h.ts_offset = 100000;
  h.establish();
  h.app_send("data");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.opts.has_timestamps);
  CHECK(out[0].f.tcp.opts.ts_val == uint32_t(h.clock.now_us() / 1000) + 100000);
  CHECK(out[0].f.tcp.opts.ts_ecr == 777);
}

TEST_CASE("ESTABLISHED with timestamps: a segment's payload is the MSS less the 12 option bytes") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.establish(1000, 5000, 65535, 1000);
  h.app_send(std::string(2000, 'm'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 3);
  CHECK(out[0].payload.size() == 988);
  CHECK(h.slot().snd_mss == 988);
}

TEST_CASE("ESTABLISHED with timestamps: segment with an older TSval -> dropped by PAWS and ACKed") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.peer_ts = 5000;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck, "stale", 65535, ts(4000, 0));
  CHECK(h.slot().rx_head == 0);
  CHECK(h.dp->stats().paws_dropped == 1);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5000);
  h.from_peer(5000, 1000, kTcpAck, "fresh", 65535, ts(5001, 0));
  CHECK(h.app_read_all() == "fresh");
}

TEST_CASE("ESTABLISHED with timestamps: TSval of a segment beyond the last ACK -> not remembered") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.peer_ts = 10;
  h.establish();
  h.from_peer(5010, 1000, kTcpAck, "later", 65535, ts(50, 0));  // out of order: seq > last ACK sent
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.opts.ts_ecr == 10);
  h.from_peer(5000, 1000, kTcpAck, "0123456789", 65535, ts(40, 0));  // fills the gap
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.opts.ts_ecr == 40);
}

TEST_CASE("ESTABLISHED with window scaling: the peer's window is shifted, ours is scaled down") {
  FastpathHarness h;
  h.establish();
  h.flow().snd_wscale = 3;
  h.flow().rcv_wscale = 2;
  h.from_peer(5000, 1000, kTcpAck, "", 100);
  CHECK(h.flow().snd_wnd == 800);
  h.app_send("x");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.window == h.alayout.rx_size >> 2);
}

TEST_CASE("ESTABLISHED with ECN: CE-marked segment -> ECE on our segments until the peer's CWR") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn;
  h.establish();
  h.burst_from_peer({with_ecn(h.peer_frame(5000, 1000, kTcpAck, "ce"), 3)});
  CHECK(h.dp->stats().ce_received == 1);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);  // the echo is not delayed
  CHECK((out[0].f.tcp.flags & wire::kTcpEce) != 0);
  h.from_peer(5002, 1000, kTcpAck | wire::kTcpCwr, "x");
  h.advance_us(h.cfg.delayed_ack_us);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK((out[0].f.tcp.flags & wire::kTcpEce) == 0);
}

TEST_CASE("ESTABLISHED with ECN: ECE from the peer -> CWR on our next data segment, once") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck | wire::kTcpEce);
  h.app_send("a");
  h.app_send("b");
  auto out = h.take_sent();
  REQUIRE(out.size() == 2);
  CHECK((out[0].f.tcp.flags & wire::kTcpCwr) != 0);
  CHECK((out[1].f.tcp.flags & wire::kTcpCwr) == 0);
}

TEST_CASE("ESTABLISHED: one small segment then the app replies -> the reply carries the ACK, none alone") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck, "request");
  h.app_read_all();
  h.app_send("reply");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload.size() == 5);
  CHECK(out[0].f.tcp.ack == 5007);
  h.advance_us(h.cfg.delayed_ack_us * 2);
  CHECK(h.take_sent().empty());
  CHECK(h.dp->stats().delayed_acks == 0);
}

TEST_CASE("ESTABLISHED: two full segments in one burst -> one ACK at once, not delayed") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);
  h.burst_from_peer({h.peer_frame(5000, 1000, kTcpAck, std::string(1000, 'a')),
                     h.peer_frame(6000, 1000, kTcpAck, std::string(1000, 'b'))});
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 7000);
}

TEST_CASE("ESTABLISHED: app frees less than a segment of a shut window -> no window update (receiver SWS)") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);
  uint32_t size = h.alayout.rx_size;
  for (uint32_t off = 0; off < size; off += 1000)
    h.from_peer(5000 + off, 1000, kTcpAck, std::string(std::min<uint32_t>(1000, size - off), 'z'));
  h.advance_us(h.cfg.delayed_ack_us);
  auto out = h.take_sent();
  REQUIRE(!out.empty());
  CHECK(out.back().f.tcp.window == 0);
  h.slot().rx_tail += 500;  // the app read 500 bytes
  h.app_cmd(abi::AppCmdKind::kRxConsumed);
  CHECK(h.take_sent().empty());
  h.slot().rx_tail += 1500;
  h.app_cmd(abi::AppCmdKind::kRxConsumed);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.window == 2000);
}

TEST_CASE("ESTABLISHED with timestamps: older TSval after 24 days without a segment -> accepted (RFC 7323 5.5)") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.peer_ts = 5000;
  h.establish();
  h.clock.advance_us(25ull * 24 * 3600 * 1'000'000);
  h.from_peer(5000, 1000, kTcpAck, "after", 65535, ts(4000, 0));
  CHECK(h.app_read_all() == "after");
  CHECK(h.dp->stats().paws_dropped == 0);
}

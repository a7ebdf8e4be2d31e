// Slow path: TCP options agreed in the handshake (timestamps, SACK, ECN) and handed to the fast path.
#include <catch2/catch.hpp>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
PeerSeg full_syn(uint16_t peer_port = 40000) {
  PeerSeg s{wire::kTcpSyn | wire::kTcpEce | wire::kTcpCwr, 1000, 0, 65535, 1460, 7, {}, kPeerIp, peer_port, 80};
  s.sack_permitted = true;
  s.timestamps = true;
  s.ts_val = 123456;
  return s;
}
}  // namespace

TEST_CASE("LISTEN: SYN offering timestamps, SACK and ECN -> SYN-ACK agrees to all three") {
  Harness h;
  h.listen(h.add_app(), 80);
  h.rx(full_syn());
  auto f = h.out.frames.at(0).tcp();
  CHECK(f.tcp.flags == (wire::kTcpSyn | wire::kTcpAck | wire::kTcpEce));
  CHECK(f.tcp.opts.sack_permitted);
  REQUIRE(f.tcp.opts.has_timestamps);
  CHECK(f.tcp.opts.ts_ecr == 123456);
}

TEST_CASE("SYN-RECEIVED: completing ACK with a timestamp -> installed with the options and its TSval") {
  Harness h;
  h.listen(h.add_app(), 80);
  h.rx(full_syn());
  auto synack = h.out.frames.at(0).tcp();
  PeerSeg ack{wire::kTcpAck, 1001, synack.tcp.seq + 1, 1000, 0, -1, {}, kPeerIp, 40000, 80};
  ack.timestamps = true;
  ack.ts_val = 123460;
  ack.ts_ecr = synack.tcp.opts.ts_val;
  h.rx(ack);
  auto inst = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(inst);
  const abi::FlowEntry& e = h.flow(inst->flow);
  // ECN agreed under congestion control (CUBIC, the default): new data goes out ECT(0).
  CHECK(e.tcp_opts == (abi::kFlowOptTimestamps | abi::kFlowOptSack | abi::kFlowOptEcn | abi::kFlowOptEct));
  CHECK(e.init_ts_recent == 123460);
  CHECK(synack.tcp.opts.ts_val - e.ts_offset == uint32_t(h.now));  // our clock, offset per connection
  CHECK(e.init_rto_us >= 1000u * h.settings.min_rto_ms);
}

TEST_CASE("LISTEN: SYN without options, or options switched off -> none agreed, none offered") {
  Settings no_ts = test_settings();
  no_ts.timestamps = false;
  Harness h(no_ts);
  h.listen(h.add_app(), 80);
  h.rx(full_syn());
  auto f = h.out.frames.at(0).tcp();
  CHECK_FALSE(f.tcp.opts.has_timestamps);
  CHECK(f.tcp.opts.sack_permitted);
  Harness h2;
  h2.listen(h2.add_app(), 80);
  h2.rx(PeerSeg{wire::kTcpSyn, 1000, 0, 65535, 1460, 7, {}, kPeerIp, 40000, 80});
  auto g = h2.out.frames.at(0).tcp();
  CHECK(g.tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
  CHECK_FALSE(g.tcp.opts.sack_permitted);
  CHECK_FALSE(g.tcp.opts.has_timestamps);
}

TEST_CASE("LISTEN: SYN with ECE alone (not an ECN setup) -> no ECE in the SYN-ACK") {
  Harness h;
  h.listen(h.add_app(), 80);
  PeerSeg s = full_syn();
  s.flags = wire::kTcpSyn | wire::kTcpEce;
  h.rx(s);
  CHECK((h.out.frames.at(0).tcp().tcp.flags & wire::kTcpEce) == 0);
}

TEST_CASE("SYN-SENT: SYN-ACK agreeing to timestamps and SACK, not ECN -> installed with those two") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));  // the peer is known
  h.connect(ctx, kPeerIp, 80);
  auto syn = h.out.frames.back().tcp();
  REQUIRE(syn.tcp.opts.has_timestamps);
  PeerSeg sa{wire::kTcpSyn | wire::kTcpAck, 9000, syn.tcp.seq + 1, 65535, 1460, 7, {}, kPeerIp, 80, syn.tcp.src_port};
  sa.sack_permitted = true;
  sa.timestamps = true;
  sa.ts_val = 555;
  sa.ts_ecr = syn.tcp.opts.ts_val;
  h.rx(sa);
  auto inst = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(inst);
  CHECK(h.flow(inst->flow).tcp_opts == (abi::kFlowOptTimestamps | abi::kFlowOptSack));
  auto ack = h.out.frames.back().tcp();
  REQUIRE(ack.tcp.opts.has_timestamps);  // RFC 7323 3.2: every segment once agreed
  CHECK(ack.tcp.opts.ts_ecr == 555);
}

TEST_CASE("SYN-RECEIVED: SYN sent again with a newer TSval -> SYN-ACK echoes the newer one") {
  Harness h;
  h.listen(h.add_app(), 80);
  h.rx(full_syn());
  PeerSeg again = full_syn();
  again.ts_val = 124456;
  h.rx(again);
  REQUIRE(h.out.frames.size() == 2);
  CHECK(h.out.frames[1].tcp().tcp.opts.ts_ecr == 124456);  // else the peer times the handshake from the first SYN
}

TEST_CASE("SYN-RECEIVED: RST in the window but not at irs+1 -> challenge ACK, the half-open connection stays") {
  Harness h;
  h.listen(h.add_app(), 80);
  h.rx(PeerSeg{wire::kTcpSyn, 1000, 0, 65535, 1460, 7, {}, kPeerIp, 40000, 80});
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  h.rx(PeerSeg{wire::kTcpRst, 1500, 0, 0, 0, -1, {}, kPeerIp, 40000, 80});
  REQUIRE(h.out.frames.size() == 2);
  auto ack = h.out.frames[1].tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.seq == iss + 1);
  CHECK(ack.tcp.ack == 1001);
  CHECK(h.cp.half_open() == 1);
  CHECK(h.cp.stats().challenge_acks == 1);
}

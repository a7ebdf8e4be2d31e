// Slow path, installed flows: retransmission timer, window probes, resets, SYN on a connection.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

// Plays the fast path having sent `bytes` that are not acknowledged yet.
void send_unacked(Harness& h, uint32_t flow, uint32_t bytes) { h.flow(flow).snd_nxt = h.flow(flow).snd_una + bytes; }

PeerSeg from_peer(uint8_t flags, uint32_t seq, uint32_t ack) { return seg(flags, seq, ack, 1000); }
}  // namespace

TEST_CASE("ESTABLISHED: no ACK progress for RTO -> retransmit command with back-off") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  // The handshake took no time: RTO = max(min_rto, R + max(10 ms, 2R)) = 200 ms.
  send_unacked(h, flow, 100);
  h.advance(10);  // arms the timer
  h.advance(190);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 0);
  h.advance(10);
  REQUIRE(h.count_commands(abi::FpCommandKind::kRetransmit) == 1);
  CHECK(h.last_command(abi::FpCommandKind::kRetransmit)->flow == flow);
  h.advance(390);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 1);
  h.advance(10);  // doubled: 400 ms
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 2);
  h.advance(800);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 3);
  CHECK(h.cp.stats().retransmit_timeouts == 3);
}

TEST_CASE("SYN-RCVD: ACK after a 300 ms handshake -> RTO from that round trip (RFC 6298 2.2)") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(seg(wire::kTcpSyn, 1000, 0, 65535, 1460, 7));
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  h.now += 300;
  h.rx(seg(wire::kTcpAck, 1001, iss + 1, 1000));
  uint32_t flow = h.last_command(abi::FpCommandKind::kInstall)->flow;
  send_unacked(h, flow, 100);
  h.advance(10);
  h.advance(890);  // RTO = R + max(G, 4 * R/2) = 900 ms
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 0);
  h.advance(10);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 1);
}

TEST_CASE("SYN-RCVD: ACK after a retransmitted SYN-ACK -> initial RTO (Karn)") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(seg(wire::kTcpSyn, 1000, 0, 65535, 1460, 7));
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  h.advance(1000);  // the SYN-ACK goes out again
  h.rx(seg(wire::kTcpAck, 1001, iss + 1, 1000));
  uint32_t flow = h.last_command(abi::FpCommandKind::kInstall)->flow;
  send_unacked(h, flow, 100);
  h.advance(10);
  h.advance(990);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 0);
  h.advance(10);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 1);
}

TEST_CASE("ESTABLISHED: ACK progress -> RTO timer restarts from the base value") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  send_unacked(h, flow, 100);
  h.advance(10);
  h.advance(200);
  h.advance(400);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 2);
  h.flow(flow).acked_bytes = 50;  // some data acknowledged, more outstanding
  h.flow(flow).snd_una += 50;
  h.advance(190);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 2);
  h.advance(20);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 3);
}

TEST_CASE("ESTABLISHED: nothing outstanding -> no retransmission") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one();
  h.advance(5000);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 0);
}

TEST_CASE("ESTABLISHED: retries exhausted -> RST, removal and ETIMEDOUT") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  send_unacked(h, flow, 100);
  uint32_t snd_nxt = h.flow(flow).snd_nxt;
  h.advance(10 + 200 + 400 + 800);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 3);
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kRemove));
  h.advance(1600);  // max_rto caps the fourth wait
  REQUIRE(h.last_command(abi::FpCommandKind::kRemove));
  CHECK(h.last_command(abi::FpCommandKind::kRemove)->flow == flow);
  auto rst = h.out.frames.back().tcp();
  CHECK((rst.tcp.flags & wire::kTcpRst));
  CHECK(rst.tcp.seq == snd_nxt);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kReset);
  REQUIRE(ev);
  CHECK(ev->error == ETIMEDOUT);
  CHECK(h.slot(ctx, ev->slot).error == uint32_t(ETIMEDOUT));
  CHECK(h.cp.stats().aborts_timeout == 1);
  CHECK(h.cp.conn_state(flow) == ConnState::kRemoving);
}

TEST_CASE("ESTABLISHED: zero window with unsent data -> window probe") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  abi::FlowSlot& fs = h.slot(ctx, h.flow(flow).slot);
  fs.tx_head = 500;  // the app queued bytes the fast path cannot send
  h.flow(flow).snd_wnd = 0;
  h.advance(10);
  h.advance(200);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 1);
  CHECK(h.cp.stats().window_probes == 1);
  // The peer answers every probe (still a zero window): never given up.
  for (int i = 0; i < 10; ++i) {
    h.flow(flow).segs_in += 1;
    h.advance(1600);
  }
  CHECK(h.count_commands(abi::FpCommandKind::kRemove) == 0);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) >= 10);
}

TEST_CASE("ESTABLISHED: zero window probes never answered -> ETIMEDOUT") {
  Harness h(rto_settings());
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.slot(ctx, h.flow(flow).slot).tx_head = 500;
  h.flow(flow).snd_wnd = 0;
  h.advance(10 + 200 + 400 + 800 + 1600);
  CHECK(h.count_commands(abi::FpCommandKind::kRetransmit) == 3);
  REQUIRE(h.last_event(abi::CtlEventKind::kReset));
  CHECK(h.last_event(abi::CtlEventKind::kReset)->error == ETIMEDOUT);
}

TEST_CASE("ESTABLISHED: RST at rcv_nxt -> flow removed and reset event ECONNRESET") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  size_t frames = h.out.frames.size();
  h.rx(from_peer(wire::kTcpRst, 1001, 0));
  REQUIRE(h.last_command(abi::FpCommandKind::kRemove));
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kReset);
  REQUIRE(ev);
  CHECK(ev->error == ECONNRESET);
  CHECK(h.slot(ctx, ev->slot).error == uint32_t(ECONNRESET));
  CHECK(h.out.frames.size() == frames);  // nothing sent back
  CHECK(h.cp.conn_state(flow) == ConnState::kRemoving);
}

TEST_CASE("ESTABLISHED: RST in the window but not at rcv_nxt -> challenge ACK") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.rx(from_peer(wire::kTcpRst, 1500, 0));
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kRemove));
  auto ack = h.out.frames.back().tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.seq == h.flow(flow).snd_nxt);
  CHECK(ack.tcp.ack == 1001);
  CHECK(h.cp.stats().challenge_acks == 1);
}

TEST_CASE("ESTABLISHED: RST outside the window -> ignored") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one();
  size_t frames = h.out.frames.size();
  h.rx(from_peer(wire::kTcpRst, 1001 + 10000000, 0));
  CHECK(h.out.frames.size() == frames);
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kRemove));
  CHECK(h.cp.stats().rsts_ignored == 1);
}

TEST_CASE("ESTABLISHED: SYN-ACK again (our ACK was lost) -> ACK again") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));
  h.connect(ctx, kPeerIp, 80);
  auto syn = h.out.frames.back().tcp();
  PeerSeg synack = seg(wire::kTcpSyn | wire::kTcpAck, 5000, syn.tcp.seq + 1, 29200, 1460, 2);
  synack.src_port = 80;
  synack.dst_port = syn.tcp.src_port;
  h.rx(synack);
  h.rx(synack);
  auto ack = h.out.frames.back().tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.seq == syn.tcp.seq + 1);
  CHECK(ack.tcp.ack == 5001);
  CHECK(h.count_commands(abi::FpCommandKind::kInstall) == 1);
}

TEST_CASE("ESTABLISHED: SYN from the peer (RFC 5961 4.2) -> challenge ACK, connection kept") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.rx(seg(wire::kTcpSyn, 777, 0, 65535, 1460));
  auto ack = h.out.frames.back().tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.ack == 1001);
  CHECK(h.cp.conn_state(flow) == ConnState::kEstablished);
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("ESTABLISHED: plain segment punted before the install took effect -> replayed as received") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one();
  PeerSeg data = from_peer(wire::kTcpAck, 1001, 0);
  data.ack = h.out.frames.back().tcp().tcp.seq + 1;
  data.payload = {9, 9, 9};
  auto bytes = peer_frame(data);
  h.rx(bytes);
  CHECK(h.out.frames.back().flags == abi::kPacketProcessAsRx);
  CHECK(h.out.frames.back().bytes == bytes);
  h.advance(3000);  // long after the install: the fast path must have failed the flow
  size_t frames = h.out.frames.size();
  h.rx(bytes);
  CHECK(h.out.frames.size() == frames);
}

TEST_CASE("ESTABLISHED: fast path flow error -> RST, removal, reset event with its errno") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.event(abi::FpEventKind::kFlowError, flow, EIO, ctx);
  CHECK(h.last_command(abi::FpCommandKind::kRemove));
  REQUIRE(h.last_event(abi::CtlEventKind::kReset));
  CHECK(h.last_event(abi::CtlEventKind::kReset)->error == EIO);
  CHECK((h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
}

TEST_CASE("ESTABLISHED: context fault -> every flow of the context fails") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one(80, 40000);
  h.accept_one(80, 40001);
  h.event(abi::FpEventKind::kCtxFault, 0, EPROTO, ctx);
  CHECK(h.count_commands(abi::FpCommandKind::kRemove) == 2);
  CHECK(h.cp.stats().ctx_faults == 1);
}

// Slow path, TIME_WAIT records: slot and flow entry given back at once, 4-tuple kept, the peer answered.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// A passive connection closed by us first, played up to TIME_WAIT with the sequence numbers the
// fast path would leave in the entry: our FIN took iss+1, the peer's FIN took 1001.
struct TimeWaitConn {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  uint32_t slot;
  uint32_t gen;
  uint32_t snd_nxt;
  explicit TimeWaitConn(Settings s = test_settings(), bool ack_remove = true) : h(s), ctx(h.add_app()) {
    h.listen(ctx, 80);
    flow = h.accept_one();
    slot = h.flow(flow).slot;
    gen = h.flow(flow).gen;
    abi::FlowEntry& e = h.flow(flow);
    e.snd_nxt = e.snd_una = e.snd_nxt + 1;
    snd_nxt = e.snd_nxt;
    h.event(abi::FpEventKind::kFinAcked, flow, 0, ctx);
    e.rcv_nxt = 1002;
    h.event(abi::FpEventKind::kPeerFin, flow, 0, ctx);
    if (ack_remove) h.ack_remove(flow);
    h.out.clear();
  }
  abi::AppResponse app_close() {
    abi::AppRequest r{};
    r.slot = slot;
    r.gen = gen;
    return h.request(ctx, abi::AppRequestKind::kClose, r);
  }
};

Settings one_slot() {
  Settings s = test_settings();
  s.app_layout = app_layout(1, 65536, 65536);
  s.app_layout.ctl_capacity = 16;
  return s;
}
}  // namespace

TEST_CASE("TIME_WAIT: kRemoved and the app's close -> slot free for a new connection at once") {
  TimeWaitConn t(one_slot());
  CHECK(t.h.cp.time_wait() == 1);
  CHECK(t.h.cp.flows() == 0);
  CHECK(t.h.connect(t.ctx, kLocalIp, 81).error == EAGAIN);  // the app has not closed yet
  CHECK(t.app_close().error == 0);
  CHECK(t.h.connect(t.ctx, kLocalIp, 81).error == 0);
  CHECK(t.h.cp.time_wait() == 1);  // the record is independent of the slot
}

TEST_CASE("TIME_WAIT: app closes before kRemoved -> slot freed when kRemoved arrives") {
  TimeWaitConn t(one_slot(), false);
  CHECK(t.app_close().error == 0);
  CHECK(t.h.connect(t.ctx, kLocalIp, 81).error == EAGAIN);  // the fast path may still write the slot
  t.h.ack_remove(t.flow);
  CHECK(t.h.connect(t.ctx, kLocalIp, 81).error == 0);
}

TEST_CASE("FIN_WAIT_2: peer FIN -> kClosed reported to the app that still holds the slot") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.event(abi::FpEventKind::kFinAcked, flow, 0, ctx);
  h.event(abi::FpEventKind::kPeerFin, flow, 0, ctx);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kClosed);
  REQUIRE(ev);
  CHECK(ev->slot == h.flow(flow).slot);
  CHECK(ev->gen == h.flow(flow).gen);
}

TEST_CASE("TIME_WAIT: retransmitted FIN -> ACK from the slow path, 2MSL restarted") {
  Settings s = test_settings();
  s.time_wait_ms = 1000;
  TimeWaitConn t(s);
  t.h.advance(600);
  t.h.rx(seg(wire::kTcpFin | wire::kTcpAck, 1001, t.snd_nxt));
  REQUIRE(t.h.out.frames.size() == 1);
  auto ack = t.h.out.frames[0].tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.seq == t.snd_nxt);
  CHECK(ack.tcp.ack == 1002);
  CHECK(ack.eth.dst == kPeerMac);
  CHECK(ack.tcp.src_port == 80);
  CHECK(ack.tcp.dst_port == 40000);
  t.h.advance(600);  // past the first deadline, not the restarted one
  CHECK(t.h.cp.time_wait() == 1);
  t.h.advance(400);
  CHECK(t.h.cp.time_wait() == 0);
  CHECK(t.h.cp.stats().time_wait_expired == 1);
}

TEST_CASE("TIME_WAIT: FIN punted before kRemoved -> answered from the record") {
  TimeWaitConn t(test_settings(), false);
  t.h.rx(seg(wire::kTcpFin | wire::kTcpAck, 1001, t.snd_nxt));
  REQUIRE(t.h.out.frames.size() == 1);
  CHECK(t.h.out.frames[0].tcp().tcp.ack == 1002);
}

TEST_CASE("TIME_WAIT: bare ACK at rcv_nxt -> dropped without an answer") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpAck, 1002, t.snd_nxt));
  CHECK(t.h.out.frames.empty());
  CHECK(t.h.cp.time_wait() == 1);
}

TEST_CASE("TIME_WAIT: data -> ACK with the record's numbers, data ignored") {
  TimeWaitConn t;
  PeerSeg p = seg(wire::kTcpAck, 1002, t.snd_nxt);
  p.payload = {1, 2, 3};
  t.h.rx(p);
  REQUIRE(t.h.out.frames.size() == 1);
  CHECK(t.h.out.frames[0].tcp().tcp.ack == 1002);
}

TEST_CASE("TIME_WAIT: RST at rcv_nxt -> record dropped, 4-tuple free") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpRst, 1002, 0));
  CHECK(t.h.out.frames.empty());
  CHECK(t.h.cp.time_wait() == 0);
  CHECK(t.h.cp.stats().rsts_received == 1);
}

TEST_CASE("TIME_WAIT: RST in the window but not at rcv_nxt -> challenge ACK, record kept") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpRst, 1500, 0));
  REQUIRE(t.h.out.frames.size() == 1);
  CHECK(t.h.out.frames[0].tcp().tcp.flags == wire::kTcpAck);
  CHECK(t.h.cp.time_wait() == 1);
}

TEST_CASE("TIME_WAIT: RST outside the window -> ignored") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpRst, 500, 0));
  CHECK(t.h.out.frames.empty());
  CHECK(t.h.cp.time_wait() == 1);
}

TEST_CASE("TIME_WAIT: new SYN above rcv_nxt with a listener -> record dropped, SYN-ACK") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpSyn, 90000, 0, 65535, 1460));
  REQUIRE(t.h.out.frames.size() == 1);
  auto synack = t.h.out.frames[0].tcp();
  CHECK(synack.tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
  CHECK(synack.tcp.ack == 90001);
  CHECK(t.h.cp.time_wait() == 0);
  CHECK(t.h.cp.half_open() == 1);
  CHECK(t.h.cp.stats().time_wait_reopened == 1);
}

TEST_CASE("TIME_WAIT: old SYN (at or below rcv_nxt) -> challenge ACK, record kept") {
  TimeWaitConn t;
  t.h.rx(seg(wire::kTcpSyn, 1000, 0, 65535, 1460));
  REQUIRE(t.h.out.frames.size() == 1);
  CHECK(t.h.out.frames[0].tcp().tcp.flags == wire::kTcpAck);
  CHECK(t.h.cp.half_open() == 0);
  CHECK(t.h.cp.time_wait() == 1);
}

TEST_CASE("TIME_WAIT: new SYN before kRemoved -> not reopened yet, the old entry is still in use") {
  TimeWaitConn t(test_settings(), false);
  t.h.rx(seg(wire::kTcpSyn, 90000, 0, 65535, 1460));
  CHECK(t.h.cp.half_open() == 0);
  CHECK(t.h.cp.time_wait() == 1);
}

TEST_CASE("TIME_WAIT: active closer -> its local port stays taken until the record expires") {
  Settings s = test_settings();
  s.time_wait_ms = 500;
  Harness h(s);
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));
  auto r = h.connect(ctx, kPeerIp, 80);
  REQUIRE(r.error == 0);
  auto syn = h.out.frames.back().tcp();
  PeerSeg synack = seg(wire::kTcpSyn | wire::kTcpAck, 5000, syn.tcp.seq + 1, 29200, 1400, 3);
  synack.src_port = 80;
  synack.dst_port = r.port;
  h.rx(synack);
  uint32_t flow = h.last_command(abi::FpCommandKind::kInstall)->flow;
  h.event(abi::FpEventKind::kFinAcked, flow, 0, ctx);
  h.event(abi::FpEventKind::kPeerFin, flow, 0, ctx);
  h.ack_remove(flow);
  abi::AppRequest close{};
  close.slot = h.flow(flow).slot;
  close.gen = h.flow(flow).gen;
  CHECK(h.request(ctx, abi::AppRequestKind::kClose, close).error == 0);

  abi::AppRequest again{};
  again.ip = kPeerIp;
  again.port = 80;
  again.local_port = r.port;
  CHECK(h.request(ctx, abi::AppRequestKind::kConnect, again).error == EADDRINUSE);
  auto other = h.connect(ctx, kPeerIp, 80);
  REQUIRE(other.error == 0);
  CHECK(other.port != r.port);
  h.advance(500);
  CHECK(h.cp.time_wait() == 0);
  CHECK(h.request(ctx, abi::AppRequestKind::kConnect, again).error == 0);
}

TEST_CASE("TIME_WAIT: more records than 4 per flow entry -> closed without a record, counted") {
  Settings s = test_settings();
  s.max_flows = 2;
  Harness h(s);
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  for (uint16_t i = 0; i < 9; ++i) {
    uint32_t flow = h.accept_one(80, uint16_t(40000 + i));
    h.event(abi::FpEventKind::kFinAcked, flow, 0, ctx);
    h.event(abi::FpEventKind::kPeerFin, flow, 0, ctx);
    h.ack_remove(flow);
    abi::AppRequest close{};
    close.slot = h.flow(flow).slot;
    close.gen = h.flow(flow).gen;
    REQUIRE(h.request(ctx, abi::AppRequestKind::kClose, close).error == 0);
  }
  CHECK(h.cp.time_wait() == 8);
  CHECK(h.cp.stats().time_wait_overflow == 1);
  CHECK(h.cp.flows() == 0);
}

TEST_CASE("FIN_WAIT_2: peer FIN with time_wait_ms 0 -> removed without a record") {
  Settings s = test_settings();
  s.time_wait_ms = 0;
  TimeWaitConn t(s);
  CHECK(t.h.cp.time_wait() == 0);
  CHECK(t.h.cp.flows() == 0);
}

// Slow path, teardown edge cases: crossing FINs, half-close, orphans, SO_LINGER 0, TIME_WAIT reuse.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// An accepted connection (peer ISN 1000) with the app holding its socket.
struct Open {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  uint32_t slot;
  uint32_t gen;
  explicit Open(Settings s = test_settings()) : h(s), ctx(h.add_app()) {
    h.listen(ctx, 80);
    flow = h.accept_one();
    slot = h.flow(flow).slot;
    gen = h.flow(flow).gen;
  }
  abi::AppResponse app(abi::AppRequestKind kind) {
    abi::AppRequest r{};
    r.slot = slot;
    r.gen = gen;
    return h.request(ctx, kind, r);
  }
  // What the fast path leaves in the entry once it sent our FIN / received the peer's.
  void our_fin_sent() {
    abi::FlowEntry& e = h.flow(flow);
    e.snd_nxt += 1;
    e.fp_flags |= abi::kFlowFinQueued | abi::kFlowFinSent;
  }
  void our_fin_acked() {
    abi::FlowEntry& e = h.flow(flow);
    e.snd_una = e.snd_nxt;
    e.fp_flags |= abi::kFlowFinAcked;
    h.event(abi::FpEventKind::kFinAcked, flow, 0, ctx);
  }
  void peer_fin() {
    h.flow(flow).rcv_nxt += 1;
    h.flow(flow).fp_flags |= abi::kFlowPeerFin;
    h.event(abi::FpEventKind::kPeerFin, flow, 0, ctx);
  }
  size_t closed_events() const {
    size_t n = 0;
    for (const auto& [c, ev] : h.out.events) n += ev.kind == uint16_t(abi::CtlEventKind::kClosed);
    return n;
  }
};
}  // namespace

TEST_CASE("Simultaneous close: FINs cross (peer FIN while ours in flight) -> CLOSING, our FIN acked -> TIME_WAIT") {
  Open o;
  o.our_fin_sent();
  o.peer_fin();
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kClosing);
  CHECK(o.closed_events() == 0);  // our FIN is not acknowledged yet
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.our_fin_acked();
  CHECK(o.h.cp.time_wait() == 1);
  CHECK(o.closed_events() == 1);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.flows() == 0);
}

TEST_CASE("Simultaneous close: the peer's FIN carries the ACK of ours -> FIN_WAIT_2 then TIME_WAIT at once") {
  Open o;
  o.our_fin_sent();
  o.our_fin_acked();  // the fast path reports the ACK before the FIN of the same segment
  o.peer_fin();
  CHECK(o.h.cp.time_wait() == 1);
  CHECK(o.closed_events() == 1);
}

TEST_CASE("CLOSING: the peer's FIN again (duplicate kPeerFin) -> stays CLOSING") {
  Open o;
  o.our_fin_sent();
  o.peer_fin();
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kClosing);
  CHECK(o.h.cp.time_wait() == 0);
}

TEST_CASE("CLOSING: app closed the socket (orphan) -> TIME_WAIT record, slot free at kRemoved") {
  Open o;
  o.our_fin_sent();
  o.peer_fin();
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  o.our_fin_acked();
  CHECK(o.closed_events() == 0);  // nobody holds the socket to be told
  CHECK(o.h.cp.time_wait() == 1);
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.table_counts().slots_in_use == 0);
  CHECK(o.h.cp.table_counts().orphans == 0);
}

TEST_CASE("Half-close: FIN_WAIT_2 while the app reads, peer sends for minutes -> kept, peer FIN -> TIME_WAIT, kClosed") {
  Open o;
  o.our_fin_sent();
  o.our_fin_acked();  // shutdown(SHUT_WR) done
  for (int i = 0; i < 30; ++i) {
    o.h.advance(10000);
    o.h.flow(o.flow).segs_in += 1;  // the peer's data, delivered by the fast path
    o.h.flow(o.flow).rcv_nxt += 100;
  }
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kFinWait2);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  uint32_t rcv_nxt = o.h.flow(o.flow).rcv_nxt;
  o.peer_fin();
  CHECK(o.closed_events() == 1);
  CHECK(o.h.cp.time_wait() == 1);
  // The record answers a retransmitted FIN with the numbers the fast path left.
  o.h.ack_remove(o.flow);
  o.h.out.clear();
  o.h.rx(seg(wire::kTcpFin | wire::kTcpAck, rcv_nxt, o.h.flow(o.flow).snd_nxt));
  REQUIRE(o.h.out.frames.size() == 1);
  CHECK(o.h.out.frames[0].tcp().tcp.ack == rcv_nxt + 1);
}

TEST_CASE("Half-close, other way: CLOSE_WAIT, app keeps sending for minutes -> kept, our FIN acked -> removed") {
  Open o;
  o.peer_fin();
  o.h.advance(300000);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kCloseWait);
  o.our_fin_sent();
  o.our_fin_acked();
  CHECK(o.closed_events() == 1);
  CHECK(o.h.cp.time_wait() == 0);  // LAST_ACK: the passive closer keeps no TIME_WAIT
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("FIN_WAIT_2 orphan: the peer keeps sending but never its FIN -> still given up after fin_wait2_timeout_ms") {
  Settings s = test_settings();
  s.fin_wait2_timeout_ms = 5000;
  Open o(s);
  o.our_fin_sent();
  o.our_fin_acked();
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  for (int i = 0; i < 4; ++i) {
    o.h.advance(1000);
    o.h.flow(o.flow).segs_in += 1;
  }
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.advance(1100);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK((o.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
  CHECK(o.h.cp.stats().fin_wait2_timeouts == 1);
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.table_counts().slots_in_use == 0);
}

TEST_CASE("CLOSE_WAIT: SO_LINGER 0 (kAbort) -> RST at snd_nxt acking rcv_nxt, slot free after kRemoved") {
  Open o;
  o.peer_fin();
  o.h.flow(o.flow).snd_nxt += 50;  // unacknowledged data is thrown away with the connection
  uint32_t snd_nxt = o.h.flow(o.flow).snd_nxt;
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  auto rst = o.h.out.frames.back().tcp();
  CHECK(rst.tcp.flags == (wire::kTcpRst | wire::kTcpAck));
  CHECK(rst.tcp.seq == snd_nxt);
  CHECK(rst.tcp.ack == 1002);
  CHECK(o.h.cp.time_wait() == 0);
  CHECK(o.h.cp.table_counts().slots_in_use == 1);  // the fast path may still write it
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.table_counts().slots_in_use == 0);
  CHECK(o.h.cp.flows() == 0);
  CHECK(o.h.cp.stats().aborts_app == 1);
}

TEST_CASE("FIN_WAIT_2: SO_LINGER 0 (kAbort) -> RST, no TIME_WAIT record") {
  Open o;
  o.our_fin_sent();
  o.our_fin_acked();
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  CHECK((o.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.time_wait() == 0);
  CHECK(o.h.cp.flows() == 0);
}

TEST_CASE("Reset by the peer, then SO_LINGER 0 close -> no RST of our own, slot freed") {
  Open o;
  o.h.rx(seg(wire::kTcpRst, 1001, 0));
  o.h.ack_remove(o.flow);
  o.h.out.clear();
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  CHECK(o.h.out.frames.empty());
  CHECK(o.h.cp.table_counts().slots_in_use == 0);
}

TEST_CASE("TIME_WAIT: new SYN above rcv_nxt and no listener any more -> record dropped, RST-ACK") {
  Open o;
  o.our_fin_sent();
  o.our_fin_acked();
  o.peer_fin();
  o.h.ack_remove(o.flow);
  abi::AppRequest r{};
  r.id = 1;  // the only listener
  REQUIRE(o.h.request(o.ctx, abi::AppRequestKind::kUnlisten, r).error == 0);
  o.h.out.clear();
  o.h.rx(seg(wire::kTcpSyn, 900000, 0, 65535, 1460));
  CHECK(o.h.cp.time_wait() == 0);
  REQUIRE(o.h.out.frames.size() == 1);
  auto rst = o.h.out.frames[0].tcp();
  CHECK(rst.tcp.flags == (wire::kTcpRst | wire::kTcpAck));
  CHECK(rst.tcp.ack == 900001);
  CHECK(o.h.cp.stats().time_wait_reopened == 1);
}

TEST_CASE("TIME_WAIT expired -> no port reference, flow, slot or record left") {
  Settings s = test_settings();
  s.time_wait_ms = 500;
  Open o(s);
  o.our_fin_sent();
  o.our_fin_acked();
  o.peer_fin();
  o.h.ack_remove(o.flow);
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  CHECK(o.h.cp.table_counts().port_refs == 1);  // the record holds port 80's 4-tuple
  o.h.advance(500);
  ControlPlane::TableCounts n = o.h.cp.table_counts();
  CHECK(n.port_refs == 0);
  CHECK(n.ports_in_use == 0);
  CHECK(n.slots_in_use == 0);
  CHECK(n.ports_listening == 1);
  CHECK(o.h.cp.time_wait() == 0);
  CHECK(o.h.cp.flows() == 0);
}

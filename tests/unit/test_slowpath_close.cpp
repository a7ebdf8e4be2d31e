// Slow path, teardown: FIN events, TIME_WAIT, orphaned FIN_WAIT_2, app close/abort/disconnect.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
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
};
}  // namespace

TEST_CASE("ESTABLISHED: peer FIN -> CLOSE_WAIT, our FIN acked -> removed and closed event") {
  Open o;
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kCloseWait);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.h.last_command(abi::FpCommandKind::kRemove)->flow == o.flow);
  const abi::CtlEvent* ev = o.h.last_event(abi::CtlEventKind::kClosed);
  REQUIRE(ev);
  CHECK(ev->slot == o.slot);
  CHECK(ev->gen == o.gen);
}

TEST_CASE("FIN_WAIT_2: peer FIN -> flow removed at once, TIME_WAIT record kept for time_wait_ms") {
  Settings s = test_settings();
  s.time_wait_ms = 2000;
  Open o(s);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kFinWait2);
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  CHECK(o.h.last_event(abi::CtlEventKind::kClosed));
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));  // the slow path answers from now on
  CHECK(o.h.last_command(abi::FpCommandKind::kRemove)->flow == o.flow);
  CHECK(o.h.cp.time_wait() == 1);
  CHECK(o.h.cp.flows() == 1);  // until the fast path hands the entry back
  o.h.ack_remove(o.flow);
  CHECK(o.h.cp.flows() == 0);
  CHECK(o.h.cp.timers_pending());
  o.h.advance(1990);
  CHECK(o.h.cp.time_wait() == 1);
  o.h.advance(10);
  CHECK(o.h.cp.time_wait() == 0);
  CHECK(o.h.cp.stats().time_wait_expired == 1);
  CHECK_FALSE(o.h.cp.timers_pending());
}

TEST_CASE("CLOSING: peer FIN while our FIN is in flight, then FIN acked -> TIME_WAIT") {
  Open o;
  o.h.flow(o.flow).fp_flags = abi::kFlowFinQueued | abi::kFlowFinSent;
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kClosing);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kRemoving);
  CHECK(o.h.cp.time_wait() == 1);
  CHECK(o.h.last_event(abi::CtlEventKind::kClosed));
}

TEST_CASE("TIME_WAIT: expiry after kRemoved -> 4-tuple and port free again") {
  Settings s = test_settings();
  s.time_wait_ms = 100;
  Open o(s);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  o.h.ack_remove(o.flow);
  o.h.advance(100);
  o.h.out.clear();
  // Same 4-tuple, a SYN below the old rcv_nxt (refused during TIME_WAIT): now a new connection.
  o.h.rx(seg(wire::kTcpSyn, 500, 0, 65535, 1460));
  REQUIRE(o.h.out.frames.size() == 1);
  CHECK(o.h.out.frames[0].tcp().tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
}

TEST_CASE("FIN_WAIT_2: app closed and the peer never sends FIN -> RST and removal after 60 s") {
  Open o;
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  o.h.advance(59000);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.advance(1100);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK((o.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
  CHECK(o.h.cp.stats().fin_wait2_timeouts == 1);
}

TEST_CASE("FIN_WAIT_2: app still holds the socket -> waits for the peer indefinitely") {
  Open o;
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  o.h.advance(120000);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("ESTABLISHED: app abort -> RST at snd_nxt and flow removed") {
  Open o;
  o.h.flow(o.flow).snd_nxt += 300;
  uint32_t snd_nxt = o.h.flow(o.flow).snd_nxt;
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  auto rst = o.h.out.frames.back().tcp();
  CHECK((rst.tcp.flags & wire::kTcpRst));
  CHECK(rst.tcp.seq == snd_nxt);
  CHECK(rst.tcp.ack == 1001);
  CHECK_FALSE(o.h.last_event(abi::CtlEventKind::kReset));  // the app asked for it
}

TEST_CASE("ESTABLISHED: app abort while the fast path still sends -> a second RST at its final snd_nxt") {
  Open o;
  uint32_t first = o.h.flow(o.flow).snd_nxt;
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  REQUIRE(o.h.out.frames.back().tcp().tcp.seq == first);
  size_t frames = o.h.out.frames.size();
  o.h.flow(o.flow).snd_nxt += 5;  // the app's last bytes went out before the kRemove was taken
  o.h.ack_remove(o.flow);
  REQUIRE(o.h.out.frames.size() == frames + 1);
  auto rst = o.h.out.frames.back().tcp();
  CHECK((rst.tcp.flags & wire::kTcpRst));
  CHECK(rst.tcp.seq == first + 5);
  CHECK(o.h.cp.stats().resets_resent == 1);
}

TEST_CASE("ESTABLISHED: app abort and nothing sent meanwhile -> one RST only") {
  Open o;
  CHECK(o.app(abi::AppRequestKind::kAbort).error == 0);
  size_t frames = o.h.out.frames.size();
  o.h.ack_remove(o.flow);
  CHECK(o.h.out.frames.size() == frames);
  CHECK(o.h.cp.stats().resets_resent == 0);
}

TEST_CASE("ESTABLISHED: app close -> slot freed only after kRemoved") {
  Settings s = test_settings();
  s.app_layout = app_layout(1, 65536, 65536);  // one slot: its reuse is visible
  s.app_layout.ctl_capacity = 16;
  Open o(s);
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  CHECK(o.h.connect(o.ctx, kLocalIp, 81).error == EAGAIN);  // the fast path may still write the slot
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  CHECK(o.h.connect(o.ctx, kLocalIp, 81).error == EAGAIN);
  o.h.ack_remove(o.flow);
  CHECK(o.h.connect(o.ctx, kLocalIp, 81).error == 0);
}

TEST_CASE("CLOSED: flow removed before the app closes -> slot freed at the app's close") {
  Settings s = test_settings();
  s.app_layout = app_layout(1, 65536, 65536);
  s.app_layout.ctl_capacity = 16;
  Open o(s);
  o.h.rx(seg(wire::kTcpRst, 1001, 0));
  o.h.ack_remove(o.flow);
  CHECK(o.h.connect(o.ctx, kLocalIp, 81).error == EAGAIN);  // the app still holds it
  CHECK(o.app(abi::AppRequestKind::kClose).error == 0);
  auto r = o.h.connect(o.ctx, kLocalIp, 81);
  CHECK(r.error == 0);
}

TEST_CASE("Any state: close with a stale generation -> EINVAL") {
  Open o;
  o.gen += 1;
  CHECK(o.app(abi::AppRequestKind::kClose).error == EINVAL);
}

TEST_CASE("ESTABLISHED: app disconnects with unread data -> RST, kRemove, then the context is detached") {
  Open o;
  o.h.slot(o.ctx, o.slot).rx_head = 100;  // received, never read
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  CHECK(o.h.count_commands(abi::FpCommandKind::kFin) == 0);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK((o.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kDetachCtx));  // not while a flow is installed
  CHECK(o.h.cp.listeners() == 0);
  o.h.ack_remove(o.flow);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
  CHECK(o.h.last_command(abi::FpCommandKind::kDetachCtx)->ctx == o.ctx);
  CHECK(o.h.cp.contexts() == 1);
  o.h.event(abi::FpEventKind::kCtxDetached, 0, 0, o.ctx);
  CHECK(o.h.out.detached == std::vector<uint16_t>{o.ctx});
  CHECK(o.h.cp.contexts() == 0);
  CHECK(o.h.cp.flows() == 0);
}

TEST_CASE("LISTEN: app disconnects with a half-open connection -> RST to the peer, listener dropped") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(seg(wire::kTcpSyn, 1000, 0, 65535, 1460));
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  h.cp.app_disconnected(ctx, h.now);
  auto rst = h.out.frames.back().tcp();
  CHECK((rst.tcp.flags & wire::kTcpRst));
  CHECK(rst.tcp.seq == iss + 1);
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.listeners() == 0);
  REQUIRE(h.last_command(abi::FpCommandKind::kDetachCtx));  // no flows: detach at once
}

TEST_CASE("SYN-SENT: app disconnects -> connection dropped without an event") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.connect(ctx, kLocalIp, 80);
  h.out.clear();
  h.cp.app_disconnected(ctx, h.now);
  CHECK(h.cp.flows() == 0);
  CHECK(h.out.events.empty());
  REQUIRE(h.last_command(abi::FpCommandKind::kDetachCtx));
}

TEST_CASE("Attaching: app disconnects before kCtxAttached -> detached right after the attach") {
  Harness h;
  Region mem(h.settings.app_layout.total_bytes());
  uint16_t ctx = *h.cp.add_context(abi::AppRegionView{mem.data(), h.settings.app_layout});
  h.cp.attach_context(ctx);
  h.cp.app_disconnected(ctx, h.now);
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kDetachCtx));
  h.event(abi::FpEventKind::kCtxAttached, 0, 0, ctx);
  REQUIRE(h.last_command(abi::FpCommandKind::kDetachCtx));
}

TEST_CASE("LISTEN: unlisten with an accepted connection not yet accept()ed -> that connection is reset") {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  abi::AppRequest r{};
  r.id = lid;
  CHECK(h.request(ctx, abi::AppRequestKind::kUnlisten, r).error == 0);
  REQUIRE(h.last_command(abi::FpCommandKind::kRemove));
  CHECK(h.last_command(abi::FpCommandKind::kRemove)->flow == flow);
  CHECK((h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
}

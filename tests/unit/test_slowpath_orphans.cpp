// Slow path, flows of an app that went away: graceful close (FIN) unless data is unread, context kept until done.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// accept() of the oldest announced connection: a connection never accepted dies with its listener.
void accept_ack(Harness& h, uint16_t ctx, uint32_t listener) {
  abi::AppRequest r{};
  r.id = listener;
  REQUIRE(h.request(ctx, abi::AppRequestKind::kAcceptAck, r).error == 0);
}

struct Open {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  uint32_t slot;
  uint32_t gen;
  explicit Open(Settings s = test_settings()) : h(s), ctx(h.add_app()) {
    uint32_t lid = h.listen(ctx, 80);
    flow = h.accept_one();
    accept_ack(h, ctx, lid);
    slot = h.flow(flow).slot;
    gen = h.flow(flow).gen;
    h.out.clear();
  }
  bool rst_sent() const {
    for (const auto& f : h.out.frames)
      if (!f.is_arp() && (f.tcp().tcp.flags & wire::kTcpRst)) return true;
    return false;
  }
};
}  // namespace

TEST_CASE("ESTABLISHED: app exits with nothing unread -> kFin to the fast path, no RST, context kept") {
  Open o;
  o.h.slot(o.ctx, o.slot).rx_head = 100;
  o.h.slot(o.ctx, o.slot).rx_tail = 100;  // all read
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  REQUIRE(o.h.count_commands(abi::FpCommandKind::kFin) == 1);
  CHECK(o.h.last_command(abi::FpCommandKind::kFin)->flow == o.flow);
  CHECK_FALSE(o.rst_sent());
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
  CHECK(o.h.cp.listeners() == 0);
  CHECK(o.h.cp.stats().orphans_closed == 1);
  CHECK(o.h.cp.stats().aborts_app == 0);
}

TEST_CASE("Orphan ESTABLISHED: FIN acked, peer FIN -> TIME_WAIT record, then the context is detached") {
  Open o;
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kFinWait2);
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.h.out.events.empty());  // nobody to tell
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
  o.h.ack_remove(o.flow);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
  o.h.event(abi::FpEventKind::kCtxDetached, 0, 0, o.ctx);
  CHECK(o.h.cp.contexts() == 0);
  CHECK(o.h.cp.time_wait() == 1);  // outlives the context
  CHECK_FALSE(o.rst_sent());
}

TEST_CASE("Orphan ESTABLISHED: peer FIN first, our FIN acked -> removed (LAST_ACK done), context detached") {
  Open o;
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  CHECK(o.h.cp.conn_state(o.flow) == ConnState::kCloseWait);
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.ack_remove(o.flow);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
  CHECK(o.h.cp.time_wait() == 0);
}

TEST_CASE("CLOSE_WAIT: app exits -> kFin for it") {
  Open o;
  o.h.event(abi::FpEventKind::kPeerFin, o.flow, 0, o.ctx);
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  REQUIRE(o.h.count_commands(abi::FpCommandKind::kFin) == 1);
  CHECK(o.h.last_command(abi::FpCommandKind::kFin)->flow == o.flow);
  CHECK_FALSE(o.rst_sent());
}

TEST_CASE("FIN_WAIT_2: app exits -> no command (our FIN is done), gives up after fin_wait2_timeout_ms") {
  Open o;
  o.h.event(abi::FpEventKind::kFinAcked, o.flow, 0, o.ctx);
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  CHECK(o.h.count_commands(abi::FpCommandKind::kFin) == 0);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.advance(59000);
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  o.h.advance(1100);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.rst_sent());
  CHECK(o.h.cp.stats().fin_wait2_timeouts == 1);
  o.h.ack_remove(o.flow);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kDetachCtx));
}

TEST_CASE("ESTABLISHED, not accept()ed: app exits -> RST with its listener, no FIN") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  uint32_t flow = h.accept_one();
  h.cp.app_disconnected(ctx, h.now);
  CHECK(h.count_commands(abi::FpCommandKind::kFin) == 0);
  REQUIRE(h.last_command(abi::FpCommandKind::kRemove));
  CHECK(h.last_command(abi::FpCommandKind::kRemove)->flow == flow);
  CHECK((h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
}

TEST_CASE("ESTABLISHED: app exits with unread data -> RST, no FIN") {
  Open o;
  o.h.slot(o.ctx, o.slot).rx_head = 10;
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  CHECK(o.h.count_commands(abi::FpCommandKind::kFin) == 0);
  CHECK(o.rst_sent());
  CHECK(o.h.cp.stats().aborts_app == 1);
}

TEST_CASE("Orphan ESTABLISHED: peer never acknowledges -> aborted after max_retries") {
  Settings s = test_settings();
  s.max_retries = 2;
  s.max_rto_ms = 1000;
  Open o(s);
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  o.h.flow(o.flow).snd_nxt += 1;  // the fast path sent our FIN
  o.h.advance(10000);
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.h.cp.stats().aborts_timeout == 1);
  CHECK(o.rst_sent());
}

TEST_CASE("Orphan ESTABLISHED: zero window answered by the peer -> probes give up after max_retries") {
  Settings s = test_settings();
  s.max_retries = 2;
  s.max_rto_ms = 1000;
  Open o(s);
  o.h.slot(o.ctx, o.slot).tx_head = 500;  // queued before the app died, never sent: window 0
  o.h.flow(o.flow).snd_wnd = 0;
  o.h.cp.app_disconnected(o.ctx, o.h.now);
  for (int i = 0; i < 100 && !o.h.last_command(abi::FpCommandKind::kRemove); ++i) {
    o.h.flow(o.flow).segs_in += 1;  // the peer answers every probe, still with window 0
    o.h.advance(100);
  }
  REQUIRE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.h.cp.stats().window_probes == 2);
}

TEST_CASE("ESTABLISHED: zero window answered by the peer, app alive -> probes go on") {
  Settings s = test_settings();
  s.max_retries = 2;
  s.max_rto_ms = 1000;
  Open o(s);
  o.h.slot(o.ctx, o.slot).tx_head = 500;
  o.h.flow(o.flow).snd_wnd = 0;
  for (int i = 0; i < 100; ++i) {
    o.h.flow(o.flow).segs_in += 1;
    o.h.advance(100);
  }
  CHECK_FALSE(o.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(o.h.cp.stats().window_probes > 3);
}

TEST_CASE("ESTABLISHED: app exits with two flows, one unread -> one RST, one orphan, detach after both") {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80);
  uint32_t a = h.accept_one(80, 40000);
  uint32_t b = h.accept_one(80, 40001);
  accept_ack(h, ctx, lid);
  accept_ack(h, ctx, lid);
  h.out.clear();
  h.slot(ctx, h.flow(b).slot).rx_head = 1;
  h.cp.app_disconnected(ctx, h.now);
  CHECK(h.count_commands(abi::FpCommandKind::kFin) == 1);
  CHECK(h.count_commands(abi::FpCommandKind::kRemove) == 1);
  CHECK(h.last_command(abi::FpCommandKind::kRemove)->flow == b);
  h.ack_remove(b);
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kDetachCtx));
  h.event(abi::FpEventKind::kPeerFin, a, 0, ctx);
  h.event(abi::FpEventKind::kFinAcked, a, 0, ctx);
  h.ack_remove(a);
  REQUIRE(h.last_command(abi::FpCommandKind::kDetachCtx));
}

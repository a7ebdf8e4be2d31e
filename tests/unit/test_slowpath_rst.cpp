// Slow path, RFC 5961 on synchronized connections: RST and SYN validation, the challenge ACK budget.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// An accepted connection; the peer's next sequence number is 1001.
struct Synced {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  explicit Synced(Settings s = test_settings()) : h(s), ctx(h.add_app()) {
    h.listen(ctx, 80);
    flow = h.accept_one();
    h.out.clear();
  }
  size_t acks() const {
    size_t n = 0;
    for (const auto& f : h.out.frames) n += f.tcp().tcp.flags == wire::kTcpAck;
    return n;
  }
};

Settings limit(unsigned n) {
  Settings s = test_settings();
  s.challenge_ack_limit = n;
  return s;
}
}  // namespace

TEST_CASE("CLOSE_WAIT: RST at rcv_nxt -> flow removed, the app sees EPIPE (its reading side had ended)") {
  Synced c;
  c.h.flow(c.flow).rcv_nxt = 1002;  // the peer's FIN took 1001
  c.h.event(abi::FpEventKind::kPeerFin, c.flow, 0, c.ctx);
  c.h.rx(seg(wire::kTcpRst, 1002, 0));
  REQUIRE(c.h.last_command(abi::FpCommandKind::kRemove));
  REQUIRE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK(c.h.last_event(abi::CtlEventKind::kReset)->error == EPIPE);
  CHECK(c.h.out.frames.empty());
}

TEST_CASE("FIN_WAIT_2: RST at rcv_nxt -> flow removed, ECONNRESET") {
  Synced c;
  c.h.event(abi::FpEventKind::kFinAcked, c.flow, 0, c.ctx);
  c.h.rx(seg(wire::kTcpRst | wire::kTcpAck, 1001, 0));
  REQUIRE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK(c.h.last_event(abi::CtlEventKind::kReset)->error == ECONNRESET);
  CHECK(c.h.cp.conn_state(c.flow) == ConnState::kRemoving);
  CHECK(c.h.cp.stats().rsts_received == 1);
}

TEST_CASE("segments to no connection: answered with resets at most rst_limit a second, the rest counted") {
  Settings s = test_settings();
  s.rst_limit = 200;  // bursts of 50
  Harness h(s);
  auto to_closed_port = [&](uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      PeerSeg p = seg(wire::kTcpAck, 1000 + i, 5000);
      p.dst_port = 9999;
      h.rx(p);
    }
  };
  to_closed_port(300);
  CHECK(h.cp.stats().rsts_sent == 50);
  CHECK(h.cp.stats().rsts_limited == 250);
  for (const auto& f : h.out.frames) CHECK(f.tcp().tcp.flags == wire::kTcpRst);
  h.now += 100;  // 20 tokens
  to_closed_port(30);
  CHECK(h.cp.stats().rsts_sent == 70);
  CHECK(h.cp.stats().rsts_limited == 260);
}

TEST_CASE("ESTABLISHED: RST at the last byte of the window -> challenge ACK, one past it -> dropped, counted") {
  Synced c;
  uint32_t window = c.h.settings.app_layout.rx_size;
  c.h.rx(seg(wire::kTcpRst, 1001 + window - 1, 0));
  CHECK(c.acks() == 1);
  c.h.rx(seg(wire::kTcpRst, 1001 + window, 0));
  CHECK(c.acks() == 1);
  CHECK(c.h.cp.stats().rsts_ignored == 1);
  c.h.rx(seg(wire::kTcpRst, 1000, 0));  // just below rcv_nxt: old, outside too
  CHECK(c.acks() == 1);
  CHECK(c.h.cp.stats().rsts_ignored == 2);
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("ESTABLISHED: challenge ACK -> the peer's exact RST then resets the connection") {
  Synced c;
  c.h.rx(seg(wire::kTcpRst, 3000, 0));
  REQUIRE(c.acks() == 1);
  CHECK(c.h.out.frames[0].tcp().tcp.ack == 1001);
  c.h.rx(seg(wire::kTcpRst, c.h.out.frames[0].tcp().tcp.ack, 0));
  REQUIRE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK(c.h.last_event(abi::CtlEventKind::kReset)->error == ECONNRESET);
}

TEST_CASE("CLOSE_WAIT: SYN (RFC 5961 4.2) -> challenge ACK, state unchanged") {
  Synced c;
  c.h.flow(c.flow).rcv_nxt = 1002;
  c.h.event(abi::FpEventKind::kPeerFin, c.flow, 0, c.ctx);
  c.h.rx(seg(wire::kTcpSyn, 5000, 0, 65535, 1460));
  REQUIRE(c.acks() == 1);
  CHECK(c.h.out.frames[0].tcp().tcp.ack == 1002);
  CHECK(c.h.cp.conn_state(c.flow) == ConnState::kCloseWait);
  CHECK(c.h.cp.stats().challenge_acks == 1);
}

TEST_CASE("ESTABLISHED: SYN in the window -> challenge ACK, no reset (RFC 5961 4.2, not RFC 793)") {
  Synced c;
  c.h.rx(seg(wire::kTcpSyn, 1001, 0, 65535, 1460));
  CHECK(c.acks() == 1);
  CHECK_FALSE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("ESTABLISHED: in-window RSTs beyond the second's challenge budget -> no ACK, counted") {
  Synced c(limit(4));
  for (int i = 0; i < 10; ++i) c.h.rx(seg(wire::kTcpRst, 2000 + uint32_t(i), 0));
  size_t acks = c.acks();
  CHECK(acks >= 2);  // the budget is drawn in [limit/2, limit/2 + limit)
  CHECK(acks <= 5);
  CHECK(c.h.cp.stats().challenge_acks == acks);
  CHECK(c.h.cp.stats().challenge_acks_limited == 10 - acks);
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kRemove));
}

TEST_CASE("ESTABLISHED: challenge ACK budget spent -> renewed one second later") {
  Synced c(limit(2));
  for (int i = 0; i < 3; ++i) c.h.rx(seg(wire::kTcpSyn, 5000, 0, 65535, 1460));
  size_t first = c.acks();
  CHECK(first >= 1);
  CHECK(first <= 2);
  c.h.now += 999;
  for (int i = 0; i < 3; ++i) c.h.rx(seg(wire::kTcpSyn, 5000, 0, 65535, 1460));
  CHECK(c.acks() == first);
  c.h.now += 1;
  c.h.rx(seg(wire::kTcpSyn, 5000, 0, 65535, 1460));
  CHECK(c.acks() == first + 1);
}

TEST_CASE("ESTABLISHED: RST at rcv_nxt with the budget spent -> still resets (the limit is for ACKs only)") {
  Synced c(limit(1));
  c.h.rx(seg(wire::kTcpRst, 2000, 0));
  c.h.rx(seg(wire::kTcpRst, 2001, 0));
  CHECK(c.h.cp.stats().challenge_acks_limited == 1);
  c.h.rx(seg(wire::kTcpRst, 1001, 0));
  REQUIRE(c.h.last_event(abi::CtlEventKind::kReset));
}

TEST_CASE("TIME_WAIT and ESTABLISHED: challenge ACKs share one stack-wide budget") {
  Synced c(limit(2));
  uint32_t flow2 = c.h.accept_one(80, 40001);
  c.h.flow(flow2).rcv_nxt = 1002;
  c.h.event(abi::FpEventKind::kFinAcked, flow2, 0, c.ctx);
  c.h.event(abi::FpEventKind::kPeerFin, flow2, 0, c.ctx);  // -> TIME_WAIT record
  c.h.ack_remove(flow2);
  REQUIRE(c.h.cp.time_wait() == 1);
  c.h.out.clear();
  c.h.rx(seg(wire::kTcpRst, 2000, 0));  // the established flow
  PeerSeg tw = seg(wire::kTcpRst, 2000, 0);
  tw.src_port = 40001;
  c.h.rx(tw);
  c.h.rx(tw);
  c.h.rx(tw);
  c.h.rx(tw);
  size_t acks = c.acks();  // budget 1 or 2, spent across both
  CHECK(acks >= 1);
  CHECK(acks <= 2);
  CHECK(c.h.cp.stats().challenge_acks_limited == 5 - acks);
}

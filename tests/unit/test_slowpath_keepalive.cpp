// Slow path, keepalive (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT): probes on an idle flow, ETIMEDOUT.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// An accepted connection (peer ISN 1000, so rcv_nxt 1001) and the app's kKeepalive requests.
struct Idle {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  uint32_t slot;
  uint32_t gen;
  explicit Idle(Settings s = test_settings()) : h(s), ctx(h.add_app()) {
    h.listen(ctx, 80);
    flow = h.accept_one();
    slot = h.flow(flow).slot;
    gen = h.flow(flow).gen;
    h.out.clear();
  }
  abi::AppResponse keepalive(uint32_t on, uint32_t idle_s, uint32_t intvl_s, uint32_t cnt) {
    abi::AppRequest r{};
    r.slot = slot;
    r.gen = gen;
    r.keep_enabled = on;
    r.keep_idle_s = idle_s;
    r.keep_intvl_s = intvl_s;
    r.keep_cnt = cnt;
    return h.request(ctx, abi::AppRequestKind::kKeepalive, r);
  }
  size_t probes() const {
    size_t n = 0;
    for (const auto& f : h.out.frames) n += !(f.tcp().tcp.flags & wire::kTcpRst);
    return n;
  }
  void peer_answers() { ++h.flow(flow).segs_in; }  // what the fast path does for any segment
};
}  // namespace

TEST_CASE("ESTABLISHED, keepalive on: idle for TCP_KEEPIDLE -> probe at snd_una-1 acking rcv_nxt") {
  Idle t;
  REQUIRE(t.keepalive(1, 5, 2, 3).error == 0);
  t.h.advance(4990);
  CHECK(t.h.out.frames.empty());
  t.h.advance(10);
  REQUIRE(t.h.out.frames.size() == 1);
  auto p = t.h.out.frames[0].tcp();
  CHECK(p.tcp.flags == wire::kTcpAck);
  CHECK(p.tcp.seq == t.h.flow(t.flow).snd_una - 1);
  CHECK(p.tcp.ack == 1001);
  CHECK(p.payload_len == 0);
  CHECK(p.eth.dst == kPeerMac);
  CHECK(p.tcp.src_port == 80);
  CHECK(p.tcp.dst_port == 40000);
  CHECK(t.h.out.frames[0].flags == 0);  // sent to the port, not replayed as received
  CHECK(t.h.cp.stats().keepalive_probes == 1);
}

TEST_CASE("ESTABLISHED, keepalive on: probes unanswered -> one per TCP_KEEPINTVL, then RST and ETIMEDOUT") {
  Idle t;
  REQUIRE(t.keepalive(1, 5, 2, 3).error == 0);
  t.h.advance(5000);
  CHECK(t.probes() == 1);
  t.h.advance(2000);
  CHECK(t.probes() == 2);
  t.h.advance(2000);
  CHECK(t.probes() == 3);
  CHECK_FALSE(t.h.last_event(abi::CtlEventKind::kReset));
  t.h.advance(1990);
  CHECK_FALSE(t.h.last_event(abi::CtlEventKind::kReset));
  t.h.advance(10);  // idle + cnt * intvl = 11 s after the last segment
  const abi::CtlEvent* ev = t.h.last_event(abi::CtlEventKind::kReset);
  REQUIRE(ev);
  CHECK(ev->error == ETIMEDOUT);
  CHECK(ev->slot == t.slot);
  CHECK(t.h.slot(t.ctx, t.slot).error == uint32_t(ETIMEDOUT));
  REQUIRE(t.h.last_command(abi::FpCommandKind::kRemove));
  CHECK((t.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst));
  CHECK(t.h.cp.stats().keepalive_timeouts == 1);
  CHECK(t.h.cp.stats().keepalive_probes == 3);
}

TEST_CASE("ESTABLISHED, keepalive timed out: kRemoved and the app's close -> flow and slot released") {
  Idle t;
  REQUIRE(t.keepalive(1, 1, 1, 1).error == 0);
  t.h.advance(2000);
  REQUIRE(t.h.last_event(abi::CtlEventKind::kReset));
  t.h.ack_remove(t.flow);
  CHECK(t.h.cp.flows() == 0);
  CHECK(t.h.cp.table_counts().slots_in_use == 1);  // the app still holds the socket
  abi::AppRequest r{};
  r.slot = t.slot;
  r.gen = t.gen;
  CHECK(t.h.request(t.ctx, abi::AppRequestKind::kClose, r).error == 0);
  CHECK(t.h.cp.table_counts().slots_in_use == 0);
  CHECK(t.h.cp.table_counts().ports_in_use == 0);
}

TEST_CASE("ESTABLISHED, probing: the peer answers -> probes stop, the idle time starts again") {
  Idle t;
  REQUIRE(t.keepalive(1, 5, 2, 3).error == 0);
  t.h.advance(5000);
  REQUIRE(t.probes() == 1);
  t.h.advance(1000);
  t.peer_answers();
  t.h.advance(4990);  // 5 s idle again counts from the tick that saw the answer
  CHECK(t.probes() == 1);
  t.h.advance(20);
  CHECK(t.probes() == 2);
  t.h.advance(5000);  // two more: the unanswered count restarted at the answer, so no give-up yet
  CHECK(t.probes() == 4);
  CHECK_FALSE(t.h.last_event(abi::CtlEventKind::kReset));
}

TEST_CASE("ESTABLISHED, keepalive on: segments keep arriving -> no probe") {
  Idle t;
  REQUIRE(t.keepalive(1, 1, 1, 1).error == 0);
  for (int i = 0; i < 30; ++i) {
    t.h.advance(500);
    t.peer_answers();
  }
  CHECK(t.h.out.frames.empty());
}

TEST_CASE("ESTABLISHED, keepalive off: idle for hours -> no probe") {
  Idle t;
  t.h.advance(3 * 3600 * 1000);
  CHECK(t.h.out.frames.empty());
  CHECK(t.h.cp.stats().keepalive_probes == 0);
}

TEST_CASE("ESTABLISHED, keepalive on without TCP_KEEP* values -> configured defaults (7200/75/9 like Linux)") {
  Settings s = test_settings();
  CHECK(s.keepalive_time_s == 7200);
  CHECK(s.keepalive_intvl_s == 75);
  CHECK(s.keepalive_probes == 9);
  s.keepalive_time_s = 60;
  s.keepalive_intvl_s = 10;
  s.keepalive_probes = 2;
  Idle t(s);
  REQUIRE(t.keepalive(1, 0, 0, 0).error == 0);
  t.h.advance(59990);
  CHECK(t.probes() == 0);
  t.h.advance(10);
  CHECK(t.probes() == 1);
  t.h.advance(10000);
  CHECK(t.probes() == 2);
  t.h.advance(10000);
  REQUIRE(t.h.last_event(abi::CtlEventKind::kReset));
  CHECK(t.h.last_event(abi::CtlEventKind::kReset)->error == ETIMEDOUT);
}

TEST_CASE("ESTABLISHED, keepalive on: data in flight -> no probe, the retransmission timer decides") {
  Idle t;
  REQUIRE(t.keepalive(1, 1, 1, 1).error == 0);
  t.h.flow(t.flow).snd_nxt += 100;
  t.h.advance(3000);
  CHECK(t.probes() == 0);
  CHECK(t.h.count_commands(abi::FpCommandKind::kRetransmit) > 0);
  CHECK(t.h.cp.stats().keepalive_timeouts == 0);
}

TEST_CASE("ESTABLISHED, probing: keepalive switched off -> no more probes, no timeout") {
  Idle t;
  REQUIRE(t.keepalive(1, 1, 1, 2).error == 0);
  t.h.advance(1000);
  REQUIRE(t.probes() == 1);
  REQUIRE(t.keepalive(0, 1, 1, 2).error == 0);
  t.h.advance(10000);
  CHECK(t.probes() == 1);
  CHECK_FALSE(t.h.last_event(abi::CtlEventKind::kReset));
}

TEST_CASE("CLOSE_WAIT, keepalive on: peer silent -> probes, then ETIMEDOUT") {
  Idle t;
  t.h.event(abi::FpEventKind::kPeerFin, t.flow, 0, t.ctx);
  REQUIRE(t.keepalive(1, 1, 1, 1).error == 0);
  t.h.advance(2000);
  CHECK(t.probes() == 1);
  REQUIRE(t.h.last_event(abi::CtlEventKind::kReset));
  CHECK(t.h.last_event(abi::CtlEventKind::kReset)->error == ETIMEDOUT);
}

TEST_CASE("Requests: keepalive with a stale generation or out-of-range values -> EINVAL") {
  Idle t;
  abi::AppRequest r{};
  r.slot = t.slot;
  r.gen = t.gen + 1;
  r.keep_enabled = 1;
  CHECK(t.h.request(t.ctx, abi::AppRequestKind::kKeepalive, r).error == EINVAL);
  CHECK(t.keepalive(1, 32768, 1, 1).error == EINVAL);
  CHECK(t.keepalive(1, 1, 32768, 1).error == EINVAL);
  CHECK(t.keepalive(1, 1, 1, 128).error == EINVAL);
  CHECK(t.keepalive(2, 1, 1, 1).error == EINVAL);
  t.h.advance(5000);
  CHECK(t.h.out.frames.empty());  // nothing was switched on
}

TEST_CASE("Requests: keepalive for a connection already removed -> accepted, nothing sent") {
  Idle t;
  t.h.rx(seg(wire::kTcpRst, 1001, 0));
  t.h.ack_remove(t.flow);
  t.h.out.clear();
  CHECK(t.keepalive(1, 1, 1, 1).error == 0);
  t.h.advance(5000);
  CHECK(t.h.out.frames.empty());
}

TEST_CASE("ESTABLISHED with timestamps agreed: keepalive probe carries a TSval (RFC 7323 3.2)") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  auto frame = [](uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval, uint32_t tsecr) {
    wire::TcpFrameOut f{};
    f.eth_src = kPeerMac;
    f.eth_dst = kLocalMac;
    f.ip_src = kPeerIp;
    f.ip_dst = kLocalIp;
    f.tcp = wire::TcpSegmentOut{40000, 80, seq, ack, flags, 65535, {}};
    f.tcp.opts.mss = flags & wire::kTcpSyn ? 1460 : 0;
    f.tcp.opts.timestamps = true;
    f.tcp.opts.ts_val = tsval;
    f.tcp.opts.ts_ecr = tsecr;
    std::vector<uint8_t> out(wire::tcp_payload_offset(f.tcp.opts) + 64, 0);
    out.resize(wire::build_tcp_frame(out.data(), f, 0));
    return out;
  };
  h.rx(frame(wire::kTcpSyn, 1000, 0, 500, 0));
  auto synack = h.out.frames.back().tcp();
  REQUIRE(synack.tcp.opts.has_timestamps);
  h.rx(frame(wire::kTcpAck, 1001, synack.tcp.seq + 1, 501, synack.tcp.opts.ts_val));
  uint32_t flow = h.last_command(abi::FpCommandKind::kInstall)->flow;
  abi::AppRequest r{};
  r.slot = h.flow(flow).slot;
  r.gen = h.flow(flow).gen;
  r.keep_enabled = 1;
  r.keep_idle_s = 1;
  REQUIRE(h.request(ctx, abi::AppRequestKind::kKeepalive, r).error == 0);
  h.out.clear();
  h.advance(1000);
  REQUIRE(h.out.frames.size() == 1);
  auto probe = h.out.frames[0].tcp();
  CHECK(probe.tcp.opts.has_timestamps);
  CHECK(probe.tcp.seq == synack.tcp.seq);  // snd_una - 1 = iss
}

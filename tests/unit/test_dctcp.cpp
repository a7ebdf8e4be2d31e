// ECN answered by congestion control: DCTCP's window arithmetic (RFC 8257) against hand-computed
// values, the slow path's ticks turning ECE counters into cuts (DCTCP's and RFC 3168's), and the
// fast path's part: ECT(0) on new data only, ECE counted per byte and per round, DCTCP's echo.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "slowpath/core/dctcp_window.hpp"
#include "support/fake_fastpath.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using slowpath::DctcpWindow;
using wire::kTcpAck;

TEST_CASE("dctcp: alpha starts at 1 and moves by g per round towards the fraction marked") {
  DctcpWindow w(1000);
  CHECK(w.alpha() == 1.0);
  w.on_tick(10'000, 0, 1, 0, 0, 0);  // one round, nothing marked: alpha = 15/16
  CHECK(w.alpha() == Approx(15.0 / 16));
  // Sixteen rounds at F = 1/4: alpha = (15/16)^16 alpha + (1 - (15/16)^16) / 4.
  double keep = std::pow(15.0 / 16, 16);
  double expect = keep * (15.0 / 16) + (1 - keep) * 0.25;
  w.on_tick(40'000, 10'000, 16, 0, 0, 0);
  CHECK(w.alpha() == Approx(expect));
  for (int i = 0; i < 100; ++i) w.on_tick(100'000, 10'000, 10, 0, 0, 0);  // long at F = 0.1
  CHECK(w.alpha() == Approx(0.1).epsilon(0.01));
}

TEST_CASE("dctcp: a round with ECE cuts the window to cwnd (1 - alpha / 2) and ends slow start") {
  DctcpWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0, 0);  // slow start: 100 segments
  REQUIRE(w.cwnd() == 100'000);
  REQUIRE(w.in_slow_start());
  // Drive alpha to 0.2 first (no marks in those rounds, then marks): use many rounds at F = 0.2.
  DctcpWindow v(1000);
  v.on_tick(90'000, 0, 0, 0, 0, 0);
  for (int i = 0; i < 200; ++i) v.on_tick(0, 0, 0, 0, 0, 0);  // no rounds: alpha unchanged
  CHECK(v.alpha() == 1.0);
  // Alpha 1 (the start): the first mark halves, as classic ECN would.
  w.on_tick(0, 0, 0, 1, 0, 0);
  CHECK(w.cwnd() == 50'000);
  CHECK(w.ssthresh() == 50'000);
  CHECK_FALSE(w.in_slow_start());
  // Alpha near 0.1: a round with marks takes 5%.
  for (int i = 0; i < 100; ++i) w.on_tick(0, 0, 0, 0, 0, 0);
  DctcpWindow u(1000);
  u.on_tick(90'000, 0, 0, 0, 0, 0);
  for (int i = 0; i < 100; ++i) u.on_tick(100'000, 10'000, 10, 0, 0, 0);  // alpha -> 0.1, grows
  double a = u.alpha();
  uint32_t before = u.cwnd();
  u.on_tick(0, 0, 0, 1, 0, 0);
  CHECK(u.cwnd() == uint32_t(double(before) * (1 - a / 2)));
  CHECK(double(u.cwnd()) / before == Approx(0.95).epsilon(0.01));
}

TEST_CASE("dctcp: two marked rounds in a tick -> two cuts, and a loss halves the flight as Reno") {
  DctcpWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0, 0);
  w.on_tick(0, 0, 0, 2, 0, 0);  // alpha 1: 100 -> 50 -> 25 segments
  CHECK(w.cwnd() == 25'000);
  DctcpWindow l(1000);
  l.on_tick(90'000, 0, 0, 0, 0, 0);
  l.on_tick(0, 0, 0, 0, 1, 60'000);
  CHECK(l.cwnd() == 30'000);
  l.on_timeout(30'000);
  CHECK(l.cwnd() == 1000);
}

TEST_CASE("dctcp: without marks the window grows as Reno's: a segment per window acknowledged") {
  DctcpWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0, 0);
  w.on_tick(0, 0, 0, 1, 0, 0);  // 50 segments, congestion avoidance
  REQUIRE(w.cwnd() == 50'000);
  w.on_tick(100'000, 0, 2, 0, 0, 0);  // two windows acknowledged
  CHECK(w.cwnd() == 52'000);
}

namespace {
using namespace virtuoso::slowpath::testing;

slowpath::Settings with_algo(config::CongestionAlgo a) {
  slowpath::Settings s = test_settings();
  s.congestion_control = a;
  return s;
}

// A passive open whose SYN asks for ECN (ECE and CWR set, RFC 3168 6.1.1).
uint32_t ecn_flow(Harness& h) {
  h.listen(h.add_app(), 80);
  PeerSeg syn{uint8_t(wire::kTcpSyn | wire::kTcpEce | wire::kTcpCwr), 1000, 0, 65535, 1000, 7, {}, kPeerIp, 40000, 80};
  h.rx(syn);
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  PeerSeg ack{kTcpAck, 1001, iss + 1, 1000, 0, -1, {}, kPeerIp, 40000, 80};
  h.rx(ack);
  return h.last_command(abi::FpCommandKind::kInstall)->flow;
}
}  // namespace

TEST_CASE("ESTABLISHED with ECN under DCTCP: ECT and DCTCP echo asked of the fast path, marked "
          "rounds cut by alpha, status shows it") {
  Harness h(with_algo(config::CongestionAlgo::kDctcp));
  uint32_t flow = ecn_flow(h);
  abi::FlowEntry& e = h.flow(flow);
  CHECK((e.tcp_opts & abi::kFlowOptEct) != 0);
  CHECK((e.tcp_opts & abi::kFlowOptDctcp) != 0);
  e.srtt_us = 1000;
  // Slow start to 100 segments of 1000 bytes, 10 rounds, nothing marked.
  uint32_t mss = e.mss;
  uint32_t grow = 100 * mss - e.cwnd;
  shm::store_relaxed(e.acked_bytes, uint64_t(grow));
  shm::store_relaxed(e.rounds, 10u);
  shm::store_relaxed(e.cwnd_limited, 1u);  // the window limits the sender: it may grow
  h.advance(10);
  REQUIRE(e.cwnd == 100 * mss);
  double alpha = std::pow(15.0 / 16, 10);  // ten unmarked rounds from 1
  // Then one round in which a quarter of the bytes acknowledged came with ECE.
  shm::store_relaxed(e.acked_bytes, uint64_t(grow) + 4 * mss);
  shm::store_relaxed(e.ece_bytes, uint64_t(mss));
  shm::store_relaxed(e.rounds, 11u);
  shm::store_relaxed(e.ece_rounds, 1u);
  shm::store_relaxed(e.cwnd_limited, 2u);
  h.advance(10);
  alpha = alpha * 15 / 16 + 0.25 / 16;
  const auto reports = h.cp.conn_reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].congestion == "dctcp");
  CHECK(reports[0].dctcp_alpha == Approx(alpha));
  CHECK(reports[0].ect);
  // Half the tick's bytes are acknowledged before the cut (still slow start: +2 segments), half
  // after it (congestion avoidance: less than a window, no whole segment).
  CHECK(e.cwnd == uint32_t(double(102 * mss) * (1 - alpha / 2)));
  CHECK(h.cp.stats().congestion_cuts == 1);
  // The app sees it too (TCP_INFO, TCP_CONGESTION): the slot's window and name, the region's default.
  const abi::FlowSlot& fs = h.slot(reports[0].ctx, reports[0].slot);
  CHECK(fs.snd_cwnd == e.cwnd);
  CHECK(fs.snd_ssthresh == e.cwnd);
  CHECK(std::string(fs.congestion) == "dctcp");
  CHECK(std::string(h.views.at(0).header()->default_congestion) == "dctcp");
}

TEST_CASE("ESTABLISHED with ECN under CUBIC or Reno: a round with ECE is a congestion event once per "
          "round trip") {
  bool reno = GENERATE(true, false);
  Harness h(with_algo(reno ? config::CongestionAlgo::kReno : config::CongestionAlgo::kCubic));
  uint32_t flow = ecn_flow(h);
  abi::FlowEntry& e = h.flow(flow);
  CHECK((e.tcp_opts & abi::kFlowOptEct) != 0);
  CHECK((e.tcp_opts & abi::kFlowOptDctcp) == 0);
  e.snd_nxt = e.snd_una + 8000;
  e.srtt_us = 50'000;
  shm::store_relaxed(e.ece_rounds, 1u);
  h.advance(10);
  CHECK(e.cwnd == std::max(reno ? 4000u : 5600u, 2u * e.mss));
  uint32_t after = e.cwnd;
  shm::store_relaxed(e.ece_rounds, 2u);  // within the round trip of the cut: the same event
  h.advance(10);
  CHECK(e.cwnd == after);
  CHECK(h.cp.stats().congestion_cuts == 1);
}

TEST_CASE("congestion_by_port: connections a listed listening port accepts get its algorithm, the "
          "others the host's") {
  slowpath::Settings s = test_settings();
  s.congestion_by_port[5201] = config::CongestionAlgo::kDctcp;
  Harness h(s);
  uint16_t app = h.add_app();
  h.listen(app, 5201);
  h.listen(app, 80);
  uint32_t on_5201 = h.accept_one(5201, 40000);
  uint32_t on_80 = h.accept_one(80, 40001);
  std::map<uint32_t, std::string> algo;
  for (const auto& r : h.cp.conn_reports()) algo[r.flow] = std::string(r.congestion);
  CHECK(algo.at(on_5201) == "dctcp");
  CHECK(algo.at(on_80) == "cubic");
}

TEST_CASE("ESTABLISHED without ECN agreed, or without congestion control: no ECT") {
  {
    Harness h(with_algo(config::CongestionAlgo::kDctcp));
    h.listen(h.add_app(), 80);
    uint32_t flow = h.accept_one(80, 40000);  // a SYN without ECE and CWR
    CHECK((h.flow(flow).tcp_opts & (abi::kFlowOptEct | abi::kFlowOptDctcp)) == 0);
  }
  Harness h(with_algo(config::CongestionAlgo::kNone));
  uint32_t flow = ecn_flow(h);
  CHECK((h.flow(flow).tcp_opts & abi::kFlowOptEcn) != 0);
  CHECK((h.flow(flow).tcp_opts & (abi::kFlowOptEct | abi::kFlowOptDctcp)) == 0);
}

namespace {
using test::FastpathHarness;

using test::with_ecn;
uint8_t ecn_of(const test::ParsedOut& o) { return o.f.ip.tos & wire::kEcnMask; }
}  // namespace

TEST_CASE("fast path with ECT: new data ECT(0), pure ACKs and resent data not ECN-capable") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn | abi::kFlowOptEct;
  h.establish();
  h.app_send("abc");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(ecn_of(out[0]) == wire::kEcnEct0);
  h.from_peer(5000, 1000, kTcpAck, "x");
  h.advance_us(h.cfg.delayed_ack_us);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload.empty());
  CHECK(ecn_of(out[0]) == wire::kEcnNotEct);
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "abc");
  CHECK(ecn_of(out[0]) == wire::kEcnNotEct);
}

TEST_CASE("fast path without ECT: data goes out Not-ECT even with ECN agreed") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn;
  h.establish();
  h.app_send("abc");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(ecn_of(out[0]) == wire::kEcnNotEct);
}

TEST_CASE("fast path: ACKs with ECE -> bytes and rounds counted for congestion control") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn | abi::kFlowOptEct;
  h.establish();
  h.app_send(std::string(3000, 'a'));  // three segments: 1000..4000
  REQUIRE(h.take_sent().size() == 3);
  // The first round began at the install (snd_nxt 1000): the first ACK ends it; the next round
  // ends when 4000, the snd_nxt then, is acknowledged.
  h.from_peer(5000, 2000, kTcpAck);
  CHECK(h.flow().rounds == 1);
  h.from_peer(5000, 3000, kTcpAck | wire::kTcpEce);
  CHECK(h.flow().ece_bytes == 1000);
  CHECK(h.flow().rounds == 1);
  h.from_peer(5000, 4000, kTcpAck);  // round 2 ends, with ECE in it
  CHECK(h.flow().rounds == 2);
  CHECK(h.flow().ece_rounds == 1);
  CHECK(h.flow().ece_bytes == 1000);
  h.app_send(std::string(1000, 'b'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK((out[0].f.tcp.flags & wire::kTcpCwr) != 0);
  h.from_peer(5000, 5000, kTcpAck);  // round 3, unmarked
  CHECK(h.flow().rounds == 3);
  CHECK(h.flow().ece_rounds == 1);
  CHECK(h.flow().acked_bytes == 4000);
}

TEST_CASE("fast path as DCTCP receiver: ECE exactly while the data carries CE, each change at once") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptEcn | abi::kFlowOptEct | abi::kFlowOptDctcp;
  h.establish();
  h.burst_from_peer({with_ecn(h.peer_frame(5000, 1000, kTcpAck, "ce"), wire::kEcnCe)});
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);  // a change: not delayed
  CHECK((out[0].f.tcp.flags & wire::kTcpEce) != 0);
  // Unmarked data, no CWR: DCTCP's echo stops at once (a classic echo would go on until CWR).
  h.burst_from_peer({with_ecn(h.peer_frame(5002, 1000, kTcpAck, "ok"), wire::kEcnEct0)});
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK((out[0].f.tcp.flags & wire::kTcpEce) == 0);
  // Unmarked again: no change, so the ACK may wait for the delayed-ACK timer.
  h.burst_from_peer({with_ecn(h.peer_frame(5004, 1000, kTcpAck, "ok"), wire::kEcnEct0)});
  h.advance_us(h.cfg.delayed_ack_us);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK((out[0].f.tcp.flags & wire::kTcpEce) == 0);
  CHECK(h.dp->stats().ce_received == 1);
}

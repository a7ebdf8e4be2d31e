// Congestion control: the Reno window arithmetic, the slow path's ticks turning fast-path counters
// into FlowEntry::cwnd, and the fast path keeping what is in flight within it.
#include <catch2/catch.hpp>

#include <cmath>

#include "slowpath/core/cubic_window.hpp"
#include "slowpath/core/reno_window.hpp"
#include "support/fake_fastpath.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using slowpath::CubicWindow;
using slowpath::RenoWindow;

TEST_CASE("reno: slow start grows by the bytes acknowledged") {
  RenoWindow w(1000);
  CHECK(w.cwnd() == 10'000);
  w.on_acked(4000);
  CHECK(w.cwnd() == 14'000);
  w.on_acked(100'000);
  CHECK(w.cwnd() == 114'000);
}

TEST_CASE("reno: loss halves what was in flight, avoidance then adds a segment per window") {
  RenoWindow w(1000);
  w.on_acked(90'000);
  w.on_loss(40'000);
  CHECK(w.cwnd() == 20'000);
  CHECK_FALSE(w.in_slow_start());
  w.on_acked(10'000);
  CHECK(w.cwnd() == 20'000);
  w.on_acked(10'000);
  CHECK(w.cwnd() == 21'000);
}

TEST_CASE("reno: timeout -> one segment, slow start up to half the flight") {
  RenoWindow w(1000);
  w.on_acked(20'000);
  w.on_timeout(30'000);
  CHECK(w.cwnd() == 1000);
  CHECK(w.ssthresh() == 15'000);
  CHECK(w.in_slow_start());
  w.on_loss(1000);
  CHECK(w.cwnd() == 2000);  // never below two segments after a cut
}

TEST_CASE("reno: SACKed data above a hole makes the flight far larger than the window -> the cut "
          "halves the window, never raises it") {
  RenoWindow w(1000);
  w.on_acked(10'000);  // 20 segments
  w.on_loss(900'000);
  CHECK(w.cwnd() == 10'000);
  w.on_timeout(900'000);
  CHECK(w.ssthresh() == 5000);
}

TEST_CASE("reno: a tick with congestion events -> growth and cuts interleaved, as per ACK") {
  RenoWindow w(1000);
  w.on_acked(30'000);
  w.on_loss(40'000);  // congestion avoidance at 20 segments
  REQUIRE(w.cwnd() == 20'000);
  SECTION("no event: growth only") {
    w.on_tick(40'000, 0, 20'000);
    CHECK(w.cwnd() == 22'000);
  }
  SECTION("one event: half the bytes grow it, the cut halves the flight, the rest grows it") {
    // 20'000 acked at 20 segments: 21; the cut: 10 (half the 20'000 in flight); 20'000 acked at
    // 10 segments: 12.
    w.on_tick(40'000, 1, 20'000);
    CHECK(w.cwnd() == 12'000);
  }
  SECTION("three events: later cuts halve the window of the moment") {
    // 30'000 at 20'000: 21'000; cut to 10'000. 30'000 at 10'000: 13'000; cut to 6'500.
    // 30'000 at 6'500: 10'500; cut to 5'250. 30'000 at 5'250: 10'250.
    w.on_tick(120'000, 3, 20'000);
    CHECK(w.cwnd() == 10'250);
    CHECK_FALSE(w.in_slow_start());
  }
  SECTION("events never cut below two segments") {
    w.on_tick(0, 10, 20'000);
    CHECK(w.cwnd() == 2000);
  }
}

TEST_CASE("cubic: a loss -> 0.7 of the window, W_max the window before, K from RFC 9438 eq. 2") {
  CubicWindow w(1000);
  w.on_tick(90'000, 0, 0, 1'000'000, 10'000);  // slow start: 100 segments
  REQUIRE(w.cwnd() == 100'000);
  w.on_tick(0, 1, 100'000, 1'010'000, 10'000);
  CHECK(w.cwnd() == 70'000);
  CHECK(w.ssthresh() == 70'000);
  CHECK(w.w_max() == 100'000);
  // K = cbrt((100 - 70) / 0.4) = cbrt(75) = 4.2172 s
  CHECK(w.k_seconds() == Approx(4.2172).epsilon(1e-4));
  // The curve: 70 segments at the cut, W_max at K, concave before, convex after.
  CHECK(w.cubic_at(0) == Approx(70'000).epsilon(1e-9));
  CHECK(w.cubic_at(4'217'163) == Approx(100'000).epsilon(1e-5));
  CHECK(w.cubic_at(2'000'000) == Approx(0.4 * std::pow(2 - 4.2172, 3) * 1000 + 100'000).epsilon(1e-4));
  CHECK(w.cubic_at(6'000'000) == Approx(0.4 * std::pow(6 - 4.2172, 3) * 1000 + 100'000).epsilon(1e-4));
}

TEST_CASE("cubic: on a long round trip the window follows the curve, never faster than the ACKs") {
  CubicWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0);
  w.on_tick(0, 1, 100'000, 1'000'000, 10'000);  // the cut: epoch at 1 s (one event, the span's end)
  REQUIRE(w.cwnd() == 70'000);
  // Two seconds later with plenty acknowledged: W(2 s) = 0.4 (2 - 4.2172)^3 + 100 = 95.64 segments.
  // The Reno-friendly estimate would be 70 + 0.53 * 1000 * 2'000'000 / 70'000 = 85.1: below.
  w.on_tick(2'000'000, 0, 70'000, 3'000'000, 2'000'000);
  CHECK(w.cwnd() == Approx(95'640).epsilon(1e-3));
  // Plateau near W_max, then convex: at 7 s after the cut, 0.4 (7 - 4.2172)^3 + 100 = 108.6
  // (ten windows acknowledged in 5 s: the estimate, 85.1 + 0.53 * 10.5 = 90.7, stays below).
  w.on_tick(1'000'000, 0, 95'000, 8'000'000, 5'000'000);
  CHECK(w.cwnd() == Approx(108'620).epsilon(1e-3));
  SECTION("few bytes acknowledged: grows by at most those bytes") {
    uint32_t before = w.cwnd();
    w.on_tick(500, 0, before, 60'000'000, 52'000'000);
    CHECK(w.cwnd() == before + 500);
  }
}

TEST_CASE("cubic: on a short round trip the Reno-friendly estimate leads (RFC 9438 4.3)") {
  CubicWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0);
  w.on_tick(0, 1, 100'000, 1'000'000, 10'000);
  // 10 ms later, 70 windows acknowledged: the curve has barely moved (70.0x segments), the
  // estimate grew by 0.53 segments per window: 70 + 0.5294 * 70 = 107.06 segments.
  w.on_tick(70 * 70'000, 0, 70'000, 1'010'000, 10'000);
  CHECK(w.cwnd() == Approx(70'000 + CubicWindow::kAlpha * 1000 * 70).epsilon(1e-3));
}

TEST_CASE("cubic: a second loss below W_max -> fast convergence lowers W_max further") {
  CubicWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0);
  w.on_tick(0, 1, 100'000, 1'000'000, 10'000);  // W_max 100, cwnd 70
  w.on_tick(0, 1, 70'000, 1'100'000, 10'000);   // 70 < 100: W_max = 70 * 1.7 / 2 = 59.5
  CHECK(w.w_max() == 59'500);
  CHECK(w.cwnd() == 49'000);
}

TEST_CASE("cubic: timeout -> one segment, slow start to 0.7 of the flight, then a new epoch") {
  CubicWindow w(1000);
  w.on_tick(90'000, 0, 0, 0, 0);
  w.on_timeout(100'000, 1'000'000);
  CHECK(w.cwnd() == 1000);
  CHECK(w.ssthresh() == 70'000);
  CHECK(w.in_slow_start());
  w.on_tick(69'000, 0, 1000, 1'100'000, 100'000);
  CHECK(w.cwnd() == 70'000);
  CHECK_FALSE(w.in_slow_start());
  w.on_tick(70'000, 0, 70'000, 1'200'000, 100'000);  // the epoch starts here, W_max = 70
  CHECK(w.w_max() == 70'000);
  CHECK(w.cwnd() > 70'000);
}

namespace {
using namespace virtuoso::slowpath::testing;
slowpath::Settings reno_settings() {
  slowpath::Settings s = test_settings();
  s.congestion_control = config::CongestionAlgo::kReno;
  return s;
}
}  // namespace

TEST_CASE("ESTABLISHED: installed to a remote peer -> initial window of ten segments") {
  Harness h;
  uint32_t flow = h.installed_flow();
  CHECK(h.flow(flow).cwnd == 10u * h.flow(flow).mss);
}

TEST_CASE("ESTABLISHED: installed -> the fast path's PRR aims at the algorithm's cut (loss_beta)") {
  auto [algo, beta] = GENERATE(std::pair{config::CongestionAlgo::kReno, 512},
                               std::pair{config::CongestionAlgo::kCubic, 716},
                               std::pair{config::CongestionAlgo::kDctcp, 512},
                               std::pair{config::CongestionAlgo::kTimely, 0},
                               std::pair{config::CongestionAlgo::kNone, 0});
  slowpath::Settings s = test_settings();
  s.congestion_control = algo;
  Harness h(s);
  uint32_t flow = h.installed_flow();
  CHECK(h.flow(flow).loss_beta == beta);
}

TEST_CASE("ESTABLISHED: ticks with bytes acknowledged -> the window grows") {
  Harness h;
  uint32_t flow = h.installed_flow();
  uint32_t before = h.flow(flow).cwnd;
  shm::store_relaxed(h.flow(flow).acked_bytes, uint64_t{5000});
  shm::store_relaxed(h.flow(flow).cwnd_limited, 1u);  // the fast path found the window full
  h.advance(10);
  CHECK(h.flow(flow).cwnd == before + 5000);
}

TEST_CASE("ESTABLISHED: bytes acknowledged while the window did not limit the sender -> the window "
          "is kept (RFC 7661)") {
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  uint32_t before = e.cwnd;
  // An app that writes little: 5000 bytes acknowledged, never more than a segment in flight.
  shm::store_relaxed(e.acked_bytes, uint64_t{5000});
  e.snd_nxt = e.snd_una + 1000;
  h.advance(10);
  CHECK(e.cwnd == before);
  // Half the window in flight counts as limited (Linux's tcp_is_cwnd_limited in slow start).
  e.snd_nxt = e.snd_una + before / 2;
  shm::store_relaxed(e.acked_bytes, uint64_t{8000});
  h.advance(10);
  CHECK(e.cwnd == before + 3000);
}

TEST_CASE("ESTABLISHED: recoveries reported -> one cut per round trip: Reno to half of the flight, "
          "CUBIC (the default) to 0.7, status names the algorithm") {
  bool reno = GENERATE(true, false);
  Harness h(reno ? reno_settings() : test_settings());
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 8000;
  e.srtt_us = 50'000;
  e.recoveries = 1;
  h.advance(10);
  CHECK(e.cwnd == std::max(reno ? 4000u : 5600u, 2u * e.mss));  // of the 8000 bytes in flight
  uint32_t after_cut = e.cwnd;
  e.recoveries = 2;  // the same loss event: within one round trip of the cut
  h.advance(10);
  CHECK(e.cwnd == after_cut);
  CHECK(h.cp.stats().congestion_cuts == 1);
  const auto reports = h.cp.conn_reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].congestion == (reno ? "reno" : "cubic"));
  CHECK(reports[0].cwnd == after_cut);
  CHECK(reports[0].ssthresh == after_cut);
}

TEST_CASE("ESTABLISHED: a recovery the fast path's PRR already shrank -> cut from the window at the "
          "loss, not from the flight now") {
  bool reno = GENERATE(true, false);
  Harness h(reno ? reno_settings() : test_settings());
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 5000;  // by the tick, PRR has brought the flight down
  e.loss_window = 12'000;        // the window when the recovery began (cwnd 14600, flight 12000)
  e.srtt_us = 50'000;
  e.recoveries = 1;
  h.advance(10);
  CHECK(e.cwnd == (reno ? 6000u : 8400u));
}

TEST_CASE("ESTABLISHED: a recovery the fast path found needless (D-SACK) -> its cut undone, or never "
          "made if it was not yet") {
  bool reno = GENERATE(true, false);
  bool cut_first = GENERATE(true, false);
  Harness h(reno ? reno_settings() : test_settings());
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 8000;
  e.srtt_us = 5'000;
  uint32_t before = e.cwnd;
  e.recoveries = 1;
  if (cut_first) {
    h.advance(10);
    CHECK(e.cwnd < before);
  }
  e.spurious_recoveries = 1;
  h.advance(10);
  CHECK(e.cwnd == before);
  CHECK(h.cp.stats().congestion_undos == (cut_first ? 1u : 0u));
  CHECK(h.cp.stats().congestion_cuts == (cut_first ? 1u : 0u));
  // A later recovery that is real cuts as usual; its undo needs its own D-SACKs.
  e.recoveries = 2;
  h.advance(10);
  uint32_t cut = e.cwnd;
  CHECK(cut < before);
  h.advance(10);
  CHECK(e.cwnd == cut);
}

TEST_CASE("ESTABLISHED: needless recoveries reported after their tick -> the last cut taken back only "
          "if it was for them alone, and once") {
  bool shared_cut = GENERATE(true, false);
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 8000;
  e.srtt_us = 50'000;
  uint32_t before = e.cwnd;
  e.recoveries = 1;
  h.advance(10);
  uint32_t cut = e.cwnd;
  REQUIRE(cut < before);
  if (shared_cut) {
    e.recoveries = 3;  // two more within the cut's round trip: the same congestion event
    h.advance(10);
    REQUIRE(e.cwnd == cut);
  }
  e.spurious_recoveries = 1;  // one was needless
  h.advance(10);
  CHECK(e.cwnd == (shared_cut ? cut : before));  // a cut for three is not undone for one of them
  e.spurious_recoveries = 3;  // more reports: nothing more to take back
  h.advance(10);
  CHECK(e.cwnd == (shared_cut ? cut : before));
  CHECK(h.cp.stats().congestion_undos == (shared_cut ? 0u : 1u));
}

TEST_CASE("ESTABLISHED: steady random loss on a short path -> the window holds, not pinned at two "
          "segments") {
  bool reno = GENERATE(true, false);  // then CUBIC, the default
  Harness h(reno ? reno_settings() : test_settings());
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  uint32_t mss = e.mss;
  e.srtt_us = 50;  // a LAN: 200 round trips per 10 ms tick
  uint64_t acked = 0;
  uint32_t recoveries = 0;
  // Each tick: 1% of the segments lost, each loss its own recovery, as the fast path reports
  // them; the peer acknowledges a window per round trip.
  for (int tick = 0; tick < 50; ++tick) {
    uint32_t window = e.cwnd;
    uint64_t segments = uint64_t(window) / mss * 200;
    acked += segments * mss;
    recoveries += uint32_t(segments / 100);
    e.snd_nxt = e.snd_una + window;
    shm::store_relaxed(e.acked_bytes, acked);
    shm::store_relaxed(e.recoveries, recoveries);
    h.advance(10);
  }
  // Reno's 1.22 / sqrt(p) segments at p = 1%: about 12. Dropping the growth of every tick that saw
  // a loss would leave 2.
  CHECK(e.cwnd >= 6 * mss);
  CHECK(e.cwnd <= 40 * mss);
}

TEST_CASE("ESTABLISHED: retransmission timeout -> window of one segment before the resend") {
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 5000;
  h.advance(3000);  // more than the initial RTO: the timer fires
  REQUIRE(h.last_command(abi::FpCommandKind::kRetransmit));
  CHECK(e.cwnd == e.mss);
}

TEST_CASE("ESTABLISHED: congestion window smaller than the peer's -> in flight stays within it") {
  test::FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);
  h.flow().cwnd = 3000;
  h.app_send(std::string(8000, 'c'));
  CHECK(h.take_sent().size() == 3);
  CHECK(h.flow().cwnd_limited > 0);  // told to the slow path: the window may grow
  h.from_peer(5000, 3000, wire::kTcpAck, "", 65535);
  CHECK(h.take_sent().size() == 2);
  CHECK(h.flow().snd_nxt == 6000);
}

TEST_CASE("ESTABLISHED: the peer's window, not the congestion window, stops the sender -> not counted as "
          "congestion-window limited") {
  test::FastpathHarness h;
  h.establish(1000, 5000, 3000, 1000);
  h.flow().cwnd = 100'000;
  h.app_send(std::string(8000, 'c'));
  CHECK(h.take_sent().size() == 3);
  CHECK(h.flow().cwnd_limited == 0);
}

TEST_CASE("ESTABLISHED with SACK: SACKed bytes above a hole -> not counted against the congestion window") {
  test::FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish(1000, 5000, 65535, 1000);
  h.flow().cwnd = 3000;
  h.app_send(std::string(8000, 'c'));
  REQUIRE(h.take_sent().size() == 3);  // 1000..4000
  wire::TcpOptionsOut o;
  o.sack[o.n_sack++] = {2000, 4000};
  h.from_peer(5000, 1000, wire::kTcpAck, "", 65535, o);
  auto out = h.take_sent();  // two SACKed segments left the network: two new ones may go
  size_t fresh = 0;
  for (auto& s : out) fresh += s.f.tcp.seq >= 4000;
  CHECK(fresh == 2);
}

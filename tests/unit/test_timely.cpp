// TIMELY's rate against hand-computed traces: the first sample's start, additive increase below
// T_low, the cut above T_high, the gradient's cut and hyperactive increase, losses and timeouts;
// and a TIMELY flow in the slow path: paced at its rate from the fast path's samples.
#include <catch2/catch.hpp>

#include <cstdint>

#include "slowpath/core/timely_rate.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using slowpath::TimelyRate;

TEST_CASE("TIMELY: the first sample starts at the initial window per round trip") {
  TimelyRate t(1000);
  CHECK(t.rate() == 0);
  CHECK(t.cwnd() == 10'000);  // RFC 6928's initial window until then
  t.on_tick(100, 100, 100, 0);
  CHECK(t.rate() == 100'000'000);  // 10 segments of 1000 bytes per 100 us
  CHECK(t.cwnd() == 20'000);       // two round trips of the rate
}

TEST_CASE("TIMELY: below T_low each sample adds delta, above T_high the rate is cut by b (1 - T_high / rtt), "
          "both thresholds are queueing delay above the lowest round trip") {
  TimelyRate t(1000);
  t.on_tick(100, 40, 100, 0);  // 100 MB/s
  t.on_tick(80, 40, 100, 0);   // 80 us < T_low = 40 + 50
  CHECK(t.rate() == 101'250'000);
  // 2 ms, less the pacing gap of a segment (1000 B at 101.25 MB/s: 9.9 us, the receiver's delayed
  // ACK): 1990 us > T_high = 40 + 1000 us: * (1 - 0.8 (1 - 1040 / 1990))
  t.on_tick(2000, 40, 100, 0);
  CHECK(double(t.rate()) == Approx(101.25e6 * (1 - 0.8 * (1 - 1040.0 / 1990))).epsilon(1e-6));
}

TEST_CASE("TIMELY: a 10 ms path grows below min_rtt + T_low and is cut only above min_rtt + T_high") {
  TimelyRate t(1000);
  t.on_tick(10'000, 10'000, 10'000, 0);  // 1 MB/s, the floor: 1.25 MB/s
  CHECK(t.rate() == uint64_t(TimelyRate::kMinRate));
  // Each sample 10,030 us after the 800 us pacing gap is clamped to the lowest round trip: the
  // path is idle, + delta each time (absolute thresholds would have cut every one: > 1 ms).
  for (int i = 0; i < 8; ++i) t.on_tick(10'030, 10'000, 10'000, 0);
  CHECK(t.rate() == uint64_t(TimelyRate::kMinRate + 8 * TimelyRate::kDelta));
  // 12,000 us less the gap (1000 B at 11.25 MB/s: 88.9 us): 11,911 > T_high = 11,000.
  double before = double(t.rate());
  t.on_tick(12'000, 10'000, 10'500, 0);
  CHECK(double(t.rate()) == Approx(before * (1 - 0.8 * (1 - 11'000.0 / 11'911))).epsilon(1e-6));
}

TEST_CASE("TIMELY: a rising round trip cuts by b times the normalised gradient, a falling one adds "
          "delta, five times delta after five in a row") {
  TimelyRate t(1000);
  t.on_tick(100, 100, 100, 0);  // 100 MB/s, prev 100
  // 610 us less a 10 us pacing gap: +500 us, rtt_diff = 0.25 * 500 = 125, gradient 125 / 100 =
  // 1.25: the cut stops at * (1 - 0.8)
  t.on_tick(610, 100, 300, 0);
  CHECK(t.gradient() == Approx(1.25));
  CHECK(double(t.rate()) == Approx(20'000'000).epsilon(1e-6));
  // 250 us less the 50 us gap: 200 (>= T_low = 150), -400 us: rtt_diff = 0.75 * 125 - 100 =
  // -6.25, gradient -0.0625 <= 0: + delta
  t.on_tick(250, 100, 300, 0);
  CHECK(t.gradient() == Approx(-0.0625));
  CHECK(double(t.rate()) == Approx(21'250'000).epsilon(1e-6));
  // Near 200 us after each gap (199, 200, 200): rtt_diff decays towards 0 from below, + delta.
  for (uint32_t rtt : {247u, 245u, 243u}) t.on_tick(rtt, 100, 300, 0);
  CHECK(t.gradient() < 0);
  CHECK(double(t.rate()) == Approx(25'000'000).epsilon(1e-6));
  t.on_tick(241, 100, 300, 0);  // 201 us, still a gradient <= 0: the fifth in a row, + 5 delta
  CHECK(double(t.rate()) == Approx(31'250'000).epsilon(1e-6));
}

TEST_CASE("TIMELY: the delay a delayed ACK adds at a slow paced rate is not taken for a queue") {
  TimelyRate t(1448);
  t.on_tick(300, 40, 300, 0);
  t.on_timeout();  // at the floor: 1.25 MB/s, a segment every 1158 us
  // The receiver held the ACK for the next segment: 1400 us, of which 1158 the pacing gap. Taken
  // whole it is past T_high (a cut); less the gap, 242 us, shorter than the last: + delta.
  t.on_tick(1400, 40, 1400, 0);
  CHECK(t.rate() == uint64_t(TimelyRate::kMinRate + TimelyRate::kDelta));
}

TEST_CASE("TIMELY: a loss cuts by b / 8, a timeout drops to the floor, the rate never leaves its bounds") {
  TimelyRate t(1000);
  t.on_tick(100, 100, 100, 0);
  t.on_tick(0, 100, 100, 1);  // no new sample, one loss: * 0.9
  CHECK(t.rate() == 90'000'000);
  t.on_tick(900, 100, 900, 0);  // +788 us after the gap: gradient 1.97, the cut stops at * (1 - b)
  CHECK(double(t.rate()) == Approx(90e6 * 0.2));
  t.on_timeout();
  CHECK(t.rate() == uint64_t(TimelyRate::kMinRate));
  CHECK(t.cwnd() >= TimelyRate::kMinWindowSegments * 1000);
}

TEST_CASE("slow path: a TIMELY flow is paced at its rate from the fast path's samples, pacing "
          "off or not") {
  using namespace slowpath::testing;
  slowpath::Settings s = test_settings();
  s.congestion_control = config::CongestionAlgo::kTimely;
  s.pacing = false;
  Harness h(s);
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  CHECK(e.pacing_rate == 0);
  shm::store_relaxed(e.srtt_us, 200u);
  shm::store_relaxed(e.rtt_round_us, 200u);
  shm::store_relaxed(e.rtt_min_us, 200u);
  shm::store_relaxed(e.rtt_rounds, 1u);
  h.now += 1;
  h.cp.pace_congestion(h.now);
  uint64_t first = uint64_t(10) * e.mss * 1'000'000 / 200;
  CHECK(e.pacing_rate == first);
  CHECK(e.cwnd == uint32_t(first * 2 * 200 / 1'000'000));
  shm::store_relaxed(e.rtt_round_us, 40u);  // under T_low
  shm::store_relaxed(e.rtt_rounds, 2u);
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK(e.pacing_rate == first + uint64_t(TimelyRate::kDelta));
  h.now += 1;
  h.cp.pace_congestion(h.now);  // no new sample: no change
  CHECK(e.pacing_rate == first + uint64_t(TimelyRate::kDelta));
}

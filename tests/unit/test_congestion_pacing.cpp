// Congestion control between the slow path's 10 ms ticks: flows whose round trip is shorter than a
// tick get their window once per round trip (at most once a millisecond) from pace_congestion,
// and the daemon's millisecond timer is wanted only while such flows move.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath::testing;

TEST_CASE("pacing: a new flow is paced at once, its window grows between ticks") {
  Harness h;
  uint32_t flow = h.installed_flow();
  CHECK(h.cp.congestion_pacing_wanted());  // slow start moves fastest
  abi::FlowEntry& e = h.flow(flow);
  uint32_t before = e.cwnd;
  shm::store_relaxed(e.srtt_us, 200u);
  shm::store_relaxed(e.acked_bytes, uint64_t{3000});
  shm::store_relaxed(e.cwnd_limited, 1u);  // the window limits the sender: it may grow
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK(e.cwnd == before + 3000);
  shm::store_relaxed(e.acked_bytes, uint64_t{5000});
  shm::store_relaxed(e.cwnd_limited, 2u);
  h.cp.pace_congestion(h.now);  // the same millisecond: not again
  CHECK(e.cwnd == before + 3000);
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK(e.cwnd == before + 5000);
}

TEST_CASE("pacing: a flow with a 3 ms round trip gets its window every 3 ms, not every millisecond") {
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  shm::store_relaxed(e.srtt_us, 3000u);
  h.now += 1;
  h.cp.pace_congestion(h.now);  // the first time: at once
  uint32_t before = e.cwnd;
  shm::store_relaxed(e.acked_bytes, uint64_t{1000});
  shm::store_relaxed(e.cwnd_limited, 1u);
  for (int i = 0; i < 2; ++i) {
    h.now += 1;
    h.cp.pace_congestion(h.now);
    CHECK(e.cwnd == before);
  }
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK(e.cwnd == before + 1000);
}

TEST_CASE("pacing: after a tick, only moving flows with round trips under a tick stay paced") {
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  shm::store_relaxed(e.srtt_us, 200u);
  h.advance(10);  // nothing in flight, nothing acknowledged: idle
  CHECK_FALSE(h.cp.congestion_pacing_wanted());
  e.snd_nxt = e.snd_una + 5000;  // moving again
  h.advance(10);
  CHECK(h.cp.congestion_pacing_wanted());
  shm::store_relaxed(e.srtt_us, 40'000u);  // a long path: the tick is often enough
  h.advance(10);
  CHECK_FALSE(h.cp.congestion_pacing_wanted());
}

TEST_CASE("pacing: a DCTCP mark is answered within the millisecond, not at the next tick") {
  slowpath::Settings s = test_settings();
  s.congestion_control = config::CongestionAlgo::kDctcp;
  Harness h(s);
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  shm::store_relaxed(e.srtt_us, 300u);
  uint32_t before = e.cwnd;
  shm::store_relaxed(e.rounds, 1u);
  shm::store_relaxed(e.ece_rounds, 1u);
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK(e.cwnd < before);  // alpha starts at 1: halved
  CHECK(e.cwnd == std::max(before / 2, 2u * e.mss));
}

TEST_CASE("pacing: a flow reset between ticks leaves the list at the next pace, and the timer stops") {
  Harness h;
  uint32_t flow = h.installed_flow();
  REQUIRE(h.cp.congestion_pacing_wanted());
  // The peer's reset at exactly RCV.NXT ends the connection outside any tick.
  PeerSeg rst{wire::kTcpRst, 1001, 0, 0, 0, -1, {}, kPeerIp, 40000, 80};
  h.rx(rst);
  auto reports = h.cp.conn_reports();
  CHECK(std::none_of(reports.begin(), reports.end(),
                     [&](const auto& r) { return r.flow == flow && std::string(r.state) == "ESTABLISHED"; }));
  h.now += 1;
  h.cp.pace_congestion(h.now);
  CHECK_FALSE(h.cp.congestion_pacing_wanted());
}

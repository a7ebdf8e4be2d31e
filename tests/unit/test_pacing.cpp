// Pacing: the fast path's wheel of waiting flows, a paced flow's segments spread at its rate
// (fake port and clock), and the rate the slow path sets from the window, the round trip and the
// app's SO_MAX_PACING_RATE.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "pacing_wheel.hpp"
#include "slowpath/core/pacing_rate.hpp"
#include "support/fake_fastpath.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using fastpath::PacingWheel;

namespace {

std::vector<uint32_t> expire(PacingWheel& w, uint64_t now_us) {
  std::vector<uint32_t> due;
  w.expire(now_us, [&](uint32_t id) { due.push_back(id); });
  std::sort(due.begin(), due.end());
  return due;
}

// Data segments the harness's port carried since the last look.
size_t data_segments(test::FastpathHarness& h) {
  auto sent = h.take_sent();
  return size_t(std::count_if(sent.begin(), sent.end(), [](const auto& o) { return !o.payload.empty(); }));
}

// The app's slot of a slow-path harness's flow.
abi::FlowSlot& flow_slot(slowpath::testing::Harness& h, uint32_t flow) {
  for (const auto& r : h.cp.conn_reports())
    if (r.flow == flow) return h.slot(r.ctx, r.slot);
  FAIL("no such flow");
  throw;
}

// An ACK of `ack` from the peer echoing the timestamp we sent `ms_ago` milliseconds ago.
void ack_with_echo(test::FastpathHarness& h, uint32_t ack, uint32_t ms_ago) {
  wire::TcpOptionsOut o;
  o.timestamps = true;
  o.ts_val = 1;
  o.ts_ecr = uint32_t(h.clock.now_us() / 1000) + h.ts_offset - ms_ago;
  h.from_peer(5000, ack, wire::kTcpAck, "", 65535, o);
}

}  // namespace

TEST_CASE("pacing wheel: flows come due at their time, not before, each once") {
  PacingWheel w(16);
  uint64_t t0 = 1'000'000;
  w.arm(3, t0 + 10, t0);
  w.arm(5, t0 + 25, t0);
  w.arm(7, t0 + 25, t0);
  w.arm(3, t0 + 1, t0);  // armed already: stays at its first time
  CHECK(w.size() == 3);
  CHECK(expire(w, t0 + 9).empty());
  CHECK(expire(w, t0 + 10) == std::vector<uint32_t>{3});
  CHECK_FALSE(w.armed(3));
  CHECK(expire(w, t0 + 24).empty());
  CHECK(expire(w, t0 + 40) == std::vector<uint32_t>{5, 7});
  CHECK(w.empty());
}

TEST_CASE("pacing wheel: a time beyond the horizon waits its laps, a late loop finds everything due") {
  PacingWheel w(8);
  uint64_t t0 = 5'000'000;
  uint64_t horizon = PacingWheel::kSlots * PacingWheel::kTickUs;
  w.arm(1, t0 + 3 * horizon + 7, t0);
  w.arm(2, t0 + 100, t0);
  for (uint64_t t = t0 + 50; t < t0 + 3 * horizon + 7; t += 997) {
    auto due = expire(w, t);
    CHECK((due.empty() || (due == std::vector<uint32_t>{2} && t >= t0 + 100)));
  }
  CHECK(w.armed(1));
  CHECK(expire(w, t0 + 3 * horizon + 7) == std::vector<uint32_t>{1});
  // Armed, then the loop comes back only much later: one pass finds all of them.
  w.arm(4, t0 + 4 * horizon, t0 + 3 * horizon);
  w.arm(6, t0 + 3 * horizon + 2, t0 + 3 * horizon);
  CHECK(expire(w, t0 + 20 * horizon) == std::vector<uint32_t>{4, 6});
}

TEST_CASE("pacing wheel: ten thousand flows at random times each come due once, never early, at "
          "most one loop late") {
  constexpr uint32_t kFlows = 10'000;
  PacingWheel w(kFlows);
  uint64_t now = 3'000'000;
  uint64_t seed = 12345;
  auto rnd = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  std::vector<uint64_t> due(kFlows);
  for (uint32_t id = 0; id < kFlows; ++id) {
    due[id] = now + rnd() % 20'000;  // up to 20 ms: beyond the horizon for some
    w.arm(id, due[id], now);
  }
  std::vector<uint64_t> came(kFlows, 0);
  uint64_t last = now;
  while (!w.empty()) {
    now += 1 + rnd() % 7;  // loops of 1 to 7 us
    w.expire(now, [&](uint32_t id) {
      CHECK(came[id] == 0);
      came[id] = now;
    });
    last = now;
  }
  size_t early = 0, late = 0;
  for (uint32_t id = 0; id < kFlows; ++id) {
    early += came[id] < due[id];
    late += came[id] > due[id] + 7;  // the loop after it came due
  }
  CHECK(early == 0);
  CHECK(late == 0);
  CHECK(last >= 3'000'000 + 19'000);
}

TEST_CASE("pacing wheel: a flow armed again from its own expiry goes to a later slot") {
  PacingWheel w(4);
  uint64_t t = 2'000'000;
  w.arm(0, t + 4, t);
  int calls = 0;
  w.expire(t + 4, [&](uint32_t id) {
    ++calls;
    w.arm(id, t + 8, t + 4);
  });
  CHECK(calls == 1);
  CHECK(w.armed(0));
  CHECK(expire(w, t + 7).empty());
  CHECK(expire(w, t + 8) == std::vector<uint32_t>{0});
}

TEST_CASE("pacing wheel: the next due time is never later than the earliest flow's, none when empty") {
  PacingWheel w(16);
  uint64_t t0 = 1'000'000;
  CHECK(w.next_due_us() == UINT64_MAX);
  w.arm(4, t0 + 25, t0);
  w.arm(2, t0 + 11, t0);
  CHECK(w.next_due_us() == t0 + 10);  // the start of its 2 us tick
  CHECK(expire(w, t0 + 11) == std::vector<uint32_t>{2});
  CHECK(w.next_due_us() == t0 + 24);
  w.arm(9, t0 + 100'000, t0 + 11);  // beyond the horizon: its lap's slot, earlier than its time
  CHECK(expire(w, t0 + 25) == std::vector<uint32_t>{4});
  uint64_t next = w.next_due_us();
  CHECK(next > t0 + 25);
  CHECK(next <= t0 + 100'000);
  CHECK(expire(w, next).empty());  // woken early, the flow goes a lap further
  CHECK(w.next_due_us() <= t0 + 100'000);
  CHECK(expire(w, t0 + 100'000) == std::vector<uint32_t>{9});
  CHECK(w.next_due_us() == UINT64_MAX);
}

TEST_CASE("idle loop: sleeps until a millisecond before a paced flow's next segment, polls through "
          "shorter waits and delayed ACKs, not at all with work waiting") {
  constexpr uint64_t kMargin = fastpath::Datapath::kSleepBeforeTimerUs;
  SECTION("a flow capped far below the link") {
    test::FastpathHarness h;
    h.establish();  // MSS 1000, window 65535
    CHECK(h.dp->sleep_limit_us() == UINT64_MAX);  // nothing armed: the doorbell's wait alone
    h.flow().pacing_rate = 200'000;  // a 1000-byte segment every 5 ms
    h.app_send(std::string(5'000, 'p'));
    CHECK(data_segments(h) == 3);
    uint64_t limit = h.dp->sleep_limit_us();
    CHECK(limit > 0);
    CHECK(limit <= 5'000 - kMargin);
    h.advance_us(limit);
    CHECK(data_segments(h) == 0);
    CHECK(h.dp->sleep_limit_us() == 0);  // the last millisecond: polled
    h.advance_us(kMargin + fastpath::PacingWheel::kTickUs);
    CHECK(data_segments(h) == 1);  // and the segment leaves on time, to the wheel's tick
    h.view.atx().try_push({3, 7, uint16_t(abi::AppCmdKind::kTxBump), 0, 0});  // queued meanwhile
    CHECK(h.dp->sleep_limit_us() == 0);
  }
  SECTION("a segment every millisecond") {
    test::FastpathHarness h;
    h.establish();
    h.flow().pacing_rate = 1'000'000;
    h.app_send(std::string(10'000, 'q'));
    CHECK(data_segments(h) == 3);
    CHECK(h.dp->sleep_limit_us() == 0);  // never slept through
  }
  SECTION("a delayed ACK") {
    test::FastpathHarness h;
    h.establish();
    h.from_peer(5000, 1000, wire::kTcpAck | wire::kTcpPsh, "hi");
    CHECK(h.dp->sleep_limit_us() == 0);
    h.advance_us(h.cfg.delayed_ack_us);
    CHECK(h.take_sent().size() == 1);
    CHECK(h.dp->sleep_limit_us() == UINT64_MAX);
  }
}

TEST_CASE("paced flow: segments leave at the rate after a burst of two, the wheel brings the flow back") {
  test::FastpathHarness h;
  h.establish();  // MSS 1000, window 65535
  h.flow().pacing_rate = 1'000'000;  // a 1000-byte segment a millisecond
  h.app_send(std::string(10'000, 'p'));
  CHECK(data_segments(h) == 3);  // what two segments' time allows, and the one now
  CHECK(h.flow().paced_waits == 1);
  h.advance_us(400);
  CHECK(data_segments(h) == 0);
  h.advance_us(600);
  CHECK(data_segments(h) == 1);
  for (int ms = 0; ms < 6; ++ms) {
    h.advance_us(1000);
    CHECK(data_segments(h) == 1);
  }
  h.advance_us(1000);
  CHECK(data_segments(h) == 0);  // all 10 sent
  CHECK(h.flow().snd_nxt == 1000 + 10'000);
  CHECK(h.dp->stats().paced_waits == h.flow().paced_waits);
}

TEST_CASE("paced flow: the app's SO_MAX_PACING_RATE in its slot paces it from the next segment, "
          "under the slow path's rate or without one") {
  bool slow_path_rate = GENERATE(false, true);
  test::FastpathHarness h;
  h.establish();  // MSS 1000, window 65535
  h.flow().pacing_rate = slow_path_rate ? 50'000'000 : 0;  // the slow path's rate, not yet capped
  h.slot().max_pacing_rate = 1'000'000;  // the app's cap: a 1000-byte segment a millisecond
  h.app_send(std::string(5'000, 'p'));
  CHECK(data_segments(h) == 3);  // a burst of two segments' time, and the one now
  h.advance_us(1000);
  CHECK(data_segments(h) == 1);
  h.slot().max_pacing_rate = 0;  // the cap lifted: the slow path's rate again, or none
  h.advance_us(1000);
  CHECK(data_segments(h) == 1);  // the segment whose time came under the cap
  h.advance_us(1000);
  h.app_send(std::string(10'000, 'q'));
  CHECK(data_segments(h) == 10);  // then no longer held to the cap
}

TEST_CASE("paced flow: a time far beyond the wheel's horizon still comes, an unpaced flow sends its window") {
  test::FastpathHarness h;
  h.establish();
  h.flow().pacing_rate = 10'000;  // 100 ms a segment
  h.app_send(std::string(5'000, 'q'));
  CHECK(data_segments(h) == 3);
  h.advance_us(60'000);
  CHECK(data_segments(h) == 0);
  h.advance_us(40'000);
  CHECK(data_segments(h) == 1);
  h.flow().pacing_rate = 0;  // the slow path stops pacing it: the rest goes at once
  h.app_send(std::string(3'000, 'r'));
  CHECK(data_segments(h) == 4);
}

TEST_CASE("pacing rate: the window per round trip, twice that early in slow start, 1.2 times after") {
  using slowpath::pacing_rate;
  CHECK(pacing_rate(100'000, UINT32_MAX, 1000) == 200'000'000);  // 100 kB a ms, doubled
  CHECK(pacing_rate(60'000, 100'000, 1000) == 72'000'000);       // past half the threshold
  CHECK(pacing_rate(60'000, 50'000, 2000) == 36'000'000);
  CHECK(pacing_rate(60'000, 50'000, 0) == 0);  // no round trip measured: not paced
  CHECK(slowpath::cap_pacing_rate(72'000'000, 0) == 72'000'000);
  CHECK(slowpath::cap_pacing_rate(72'000'000, 1'000'000) == 1'000'000);
  CHECK(slowpath::cap_pacing_rate(0, 5'000) == 5'000);  // the app's cap paces an unpaced flow
}

TEST_CASE("slow path: a flow under congestion control is paced from its first round-trip sample, "
          "no faster than the app's cap") {
  using namespace slowpath::testing;
  Harness h;
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  CHECK(e.pacing_rate == 0);  // no round trip yet
  shm::store_relaxed(e.srtt_us, 1000u);
  h.advance(10);
  uint64_t expected = slowpath::pacing_rate(e.cwnd, UINT32_MAX, 1000);
  CHECK(e.pacing_rate == expected);
  abi::FlowSlot& fs = flow_slot(h, flow);
  CHECK(fs.pacing_rate == expected);  // for TCP_INFO
  shm::store_relaxed(fs.max_pacing_rate, uint64_t{125'000});  // SO_MAX_PACING_RATE: 1 Mbit/s
  h.advance(10);
  CHECK(e.pacing_rate == 125'000);
  CHECK(fs.pacing_rate == 125'000);
}

TEST_CASE("slow path: with [tcp] pacing off, only an app's own cap paces its flow") {
  using namespace slowpath::testing;
  slowpath::Settings s = test_settings();
  s.pacing = false;
  Harness h(s);
  uint32_t flow = h.installed_flow();
  abi::FlowEntry& e = h.flow(flow);
  shm::store_relaxed(e.srtt_us, 1000u);
  h.advance(10);
  CHECK(e.pacing_rate == 0);
  shm::store_relaxed(flow_slot(h, flow).max_pacing_rate, uint64_t{50'000});
  h.advance(10);
  CHECK(e.pacing_rate == 50'000);
}

TEST_CASE("paced flow: a resend repairing a loss goes out at once and takes none of the rate") {
  test::FastpathHarness h;
  h.establish();
  h.flow().pacing_rate = 1'000'000;  // a segment a millisecond
  h.app_send(std::string(10'000, 'p'));
  CHECK(data_segments(h) == 3);  // 1000..4000; the one at 1000 is lost
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 1000, wire::kTcpAck);  // three duplicate ACKs
  auto sent = h.take_sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].f.tcp.seq == 1000);  // the resend did not wait for its time
  h.advance_us(1000);
  CHECK(data_segments(h) == 1);  // and new data keeps its schedule
}

TEST_CASE("round trip: a 1 ms timestamp difference does not count for a flow whose round trip is "
          "microseconds, 2 ms and more do") {
  test::FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.establish();
  h.app_send(std::string(1000, 'a'));  // timed
  h.take_sent();
  h.clock.advance_us(100);
  ack_with_echo(h, 2000, 0);
  REQUIRE(h.flow().srtt_us == 100);
  h.app_send(std::string(1000, 'b'));  // timed again: its ACK below is the timed sample's
  h.app_send(std::string(1000, 'c'));
  h.clock.advance_us(100);
  ack_with_echo(h, 3000, 0);
  uint32_t srtt = h.flow().srtt_us;
  ack_with_echo(h, 4000, 1);  // not timed: the echo says "1 ms", which a 100 us flow cannot use
  CHECK(h.flow().srtt_us == srtt);
  h.app_send(std::string(1000, 'd'));
  h.app_send(std::string(1000, 'e'));
  ack_with_echo(h, 5000, 0);
  ack_with_echo(h, 6000, 3);  // 3 ms: a real delay, whatever the clock's ticks
  CHECK(h.flow().srtt_us > srtt);
}

TEST_CASE("round trip: each round publishes its lowest sample, which a delayed ACK does not inflate") {
  test::FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.establish();  // MSS 1000
  uint32_t rounds = h.flow().rtt_rounds;
  h.app_send(std::string(4000, 'a'));  // four segments, the first timed
  h.take_sent();
  h.clock.advance_us(10'000);
  ack_with_echo(h, 2000, 10);  // 10 ms, and past the end of the round the handshake began
  CHECK(h.flow().rtt_rounds == rounds + 1);
  CHECK(h.flow().rtt_round_us == 10'000);
  // The next round ends when 5000 is acknowledged: its samples are 14, 12 and 11 ms (a receiver
  // holding ACKs), and it publishes the lowest only at its end.
  ack_with_echo(h, 3000, 14);
  ack_with_echo(h, 4000, 12);
  CHECK(h.flow().rtt_rounds == rounds + 1);
  CHECK(h.flow().rtt_round_us == 10'000);
  ack_with_echo(h, 5000, 11);
  CHECK(h.flow().rtt_rounds == rounds + 2);
  CHECK(h.flow().rtt_round_us == 11'000);
  CHECK(h.flow().rtt_min_us == 10'000);
}

// RACK-TLP in the fast path (RFC 8985). The reordering window (6.2): until a flow has seen
// reordering a hole is resent at once; after a D-SACK, or a hole filled by its original
// transmission, a hole waits a quarter of the lowest round trip (times a multiplier D-SACKs raise,
// at most the smoothed round trip) from when data above it was SACKed, and is resent only if it
// has not arrived by then. Tail loss probes (7): 2 SRTT + 2 ms of silence with data in flight
// resend the last segment, once per silence.
#include <catch2/catch.hpp>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using test::sack;
constexpr auto seqs = test::data_seqs;
using wire::kTcpAck;

namespace {
// A flow (with SACK unless told) whose round trip is 400 us (lowest and smoothed): one segment
// 1000..2000 timed.
void establish_400us(FastpathHarness& h, bool sack_ok = true) {
  h.tcp_opts = sack_ok ? abi::kFlowOptSack : 0;
  h.establish();
  h.app_send(std::string(1000, 'r'));
  h.take_sent();
  h.clock.advance_us(400);
  h.from_peer(5000, 2000, kTcpAck);
  REQUIRE(h.flow().rtt_min_us == 400);
  REQUIRE(h.flow().srtt_us == 400);
}
// The peer reports segment 1000..2000 twice (a D-SACK): the flow has seen reordering, and the
// multiplier is 2: a window of 2 * 400 / 4 = 200 us.
void dsack_once(FastpathHarness& h) {
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{1000, 2000}}));
  REQUIRE(h.dp->stats().reordering_seen == 1);
}
}  // namespace

TEST_CASE("RACK: no reordering seen -> a hole below three SACKed segments is resent at once") {
  FastpathHarness h;
  establish_400us(h);
  REQUIRE(h.app_send_segments(5) == 5);  // 2000..7000
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 6000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{2000});
  CHECK(h.dp->stats().rack_waits == 0);
  CHECK(h.dp->stats().reordering_seen == 0);
}

TEST_CASE("RACK: after a D-SACK a hole waits the reordering window -> not resent if it arrives, "
          "resent when the window runs out") {
  FastpathHarness h;
  establish_400us(h);
  dsack_once(h);
  REQUIRE(h.app_send_segments(5) == 5);  // 2000..7000
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 6000}}));
  CHECK(seqs(h.take_sent()).empty());
  CHECK(h.dp->stats().rack_waits == 1);
  CHECK(h.flow().recoveries == 0);
  h.advance_us(150);
  CHECK(seqs(h.take_sent()).empty());
  SECTION("the late segment arrives within the window") {
    h.from_peer(5000, 6000, kTcpAck);
    h.advance_us(500);
    CHECK(seqs(h.take_sent()).empty());
    CHECK(h.flow().recoveries == 0);
    CHECK(h.dp->stats().fast_retransmits == 0);
  }
  SECTION("it does not: the reordering timer starts the recovery") {
    h.advance_us(50);
    CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{2000});
    CHECK(h.flow().recoveries == 1);
    CHECK(h.dp->stats().fast_retransmits == 1);
  }
}

TEST_CASE("RACK: holes opened at different times are resent each when its own window runs out") {
  FastpathHarness h;
  establish_400us(h);
  dsack_once(h);  // window 200 us
  REQUIRE(h.app_send_segments(8) == 8);  // 2000..10000
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 6000}}));  // hole 2000 opens at t
  h.advance_us(150);
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{7000, 9000}, {3000, 6000}}));  // hole 6000 at t + 150
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(50);  // t + 200: the first hole is lost, the second has waited 50 us
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{2000});
  h.advance_us(100);
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(50);  // t + 350
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{6000});
  CHECK(h.flow().recoveries == 1);
}

TEST_CASE("RACK: a hole filled by its original transmission shows reordering too") {
  FastpathHarness h;
  establish_400us(h);
  REQUIRE(h.app_send_segments(4) == 4);  // 2000..6000
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 4000}}));  // one segment: no loss yet
  CHECK(h.dp->stats().reordering_seen == 0);
  h.from_peer(5000, 4000, kTcpAck);  // 2000..3000 arrived, never resent
  CHECK(h.dp->stats().reordering_seen == 1);
  CHECK(seqs(h.take_sent()).empty());
  SECTION("a hole filled by its resend does not") {
    FastpathHarness g;
    establish_400us(g);
    REQUIRE(g.app_send_segments(5) == 5);
    g.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 6000}}));
    CHECK(seqs(g.take_sent()) == std::vector<uint32_t>{2000});
    g.from_peer(5000, 7000, kTcpAck);
    CHECK(g.dp->stats().reordering_seen == 0);
  }
}

TEST_CASE("RACK: D-SACKs in later round trips widen the window up to the smoothed round trip") {
  FastpathHarness h;
  establish_400us(h);
  dsack_once(h);  // x2: 200 us
  // Three more round trips of 400 us, each with a D-SACK of the segment it sent.
  for (uint32_t seq : {2000u, 3000u, 4000u}) {
    REQUIRE(h.app_send_segments(1) == 1);
    h.clock.advance_us(400);
    h.from_peer(5000, seq + 1000, kTcpAck, "", 65535, sack({{seq, seq + 1000}}));  // x3, x4, x5
  }
  REQUIRE(h.flow().srtt_us == 400);
  REQUIRE(h.app_send_segments(5) == 5);  // 5000..10000
  h.from_peer(5000, 5000, kTcpAck, "", 65535, sack({{6000, 9000}}));
  h.advance_us(399);
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(1 + fastpath::PacingWheel::kTickUs);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});
}

// The probe timeout of a flow whose smoothed round trip is `srtt_us`.
constexpr uint64_t pto_us(uint64_t srtt_us) { return 2 * srtt_us + 2000; }

TEST_CASE("TLP: data in flight and silence for 2 SRTT + 2 ms -> the last segment goes again, once") {
  FastpathHarness h;
  establish_400us(h);
  REQUIRE(h.app_send_segments(4) == 4);  // 2000..6000
  h.advance_us(pto_us(400) - 1);
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(1 + fastpath::PacingWheel::kTickUs);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});
  CHECK(h.dp->stats().tail_probes == 1);
  h.advance_us(8000);
  CHECK(seqs(h.take_sent()).empty());  // one probe per silence; the RTO is the slow path's
  SECTION("its SACK shows the earlier segments lost: a recovery resends them") {
    h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{5000, 6000}}));
    h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{5000, 6000}}));
    h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{5000, 6000}}));
    CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{2000, 3000, 4000});
    CHECK(h.flow().recoveries == 1);
  }
  SECTION("progress starts a new episode with its own probe") {
    h.from_peer(5000, 3000, kTcpAck);
    h.take_sent();
    uint64_t pto = pto_us(h.flow().srtt_us);
    h.advance_us(pto - 1);
    CHECK(seqs(h.take_sent()).empty());
    h.advance_us(1 + fastpath::PacingWheel::kTickUs);
    CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});
    CHECK(h.dp->stats().tail_probes == 2);
  }
}

TEST_CASE("TLP: an ACK of progress moves the probe timeout on") {
  FastpathHarness h;
  establish_400us(h);
  REQUIRE(h.app_send_segments(4) == 4);  // 2000..6000, the first timed
  h.advance_us(2000);
  h.from_peer(5000, 3000, kTcpAck);  // progress at 2 ms: a 2000 us sample
  uint64_t pto = pto_us(h.flow().srtt_us);
  REQUIRE(pto > 1000);
  h.advance_us(1000 + fastpath::PacingWheel::kTickUs);  // past the first deadline (2.8 ms)
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(pto - 1000);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});
}

TEST_CASE("TLP: none without SACK, none for a lone segment in flight") {
  FastpathHarness h;
  SECTION("without SACK") {
    establish_400us(h, false);
    REQUIRE(h.app_send_segments(4) == 4);
  }
  SECTION("one segment in flight: its probe would wait for a delayed ACK as long as the RTO") {
    establish_400us(h);
    REQUIRE(h.app_send_segments(1) == 1);
  }
  h.advance_us(9000);
  CHECK(seqs(h.take_sent()).empty());
  CHECK(h.dp->stats().tail_probes == 0);
}

TEST_CASE("TLP: a recovery that hears nothing more probes once, a SACK restarts the timeout") {
  FastpathHarness h;
  establish_400us(h);
  REQUIRE(h.app_send_segments(6) == 6);  // 2000..8000
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 6000}}));
  REQUIRE(seqs(h.take_sent()) == std::vector<uint32_t>{2000});
  h.advance_us(pto_us(400) - 500);
  h.from_peer(5000, 2000, kTcpAck, "", 65535, sack({{3000, 7000}}));  // delivered: timeout restarts
  h.take_sent();
  h.advance_us(pto_us(400) - 1);
  CHECK(seqs(h.take_sent()).empty());
  h.advance_us(1 + fastpath::PacingWheel::kTickUs);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{7000});  // the resend and the tail were lost
  CHECK(h.dp->stats().tail_probes == 1);
  h.advance_us(9000);
  CHECK(seqs(h.take_sent()).empty());
}

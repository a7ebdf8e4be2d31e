// Fast-path loss recovery: fast retransmit, NewReno partial ACKs, SACK hole filling, the
// retransmission timeout's go-back-N, window probes, and RTT measurement.
#include <catch2/catch.hpp>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using test::sack;
constexpr auto seqs = test::data_seqs;
using wire::kTcpAck;

TEST_CASE("ESTABLISHED without SACK: partial ACK during recovery -> the next hole resent at once (NewReno)") {
  FastpathHarness h;
  h.establish();
  REQUIRE(h.app_send_segments(6) == 6);  // 1000..7000; segments at 1000 and 3000 are lost
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 1000, kTcpAck);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  h.from_peer(5000, 3000, kTcpAck);  // partial: covers the first hole only
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{3000});
  h.from_peer(5000, 7000, kTcpAck);
  CHECK(h.flow().snd_una == 7000);
  CHECK(h.dp->stats().fast_retransmits == 1);
}

TEST_CASE("ESTABLISHED with SACK: several holes in one window -> each resent once, no timeout needed") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(8) == 8);  // 1000..9000; 1000, 4000 and 6000 lost
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 4000}}));
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{5000, 6000}, {2000, 4000}}));
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{7000, 9000}, {2000, 4000}, {5000, 6000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000, 4000, 6000});
  CHECK(h.dp->stats().sack_retransmits == 3);
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{7000, 9000}, {2000, 4000}, {5000, 6000}}));
  CHECK(seqs(h.take_sent()).empty());  // each hole once per recovery
  h.from_peer(5000, 9000, kTcpAck);
  CHECK(h.flow().snd_una == 9000);
}

TEST_CASE("ESTABLISHED with SACK: SACKed bytes of three segments -> recovery before three duplicate ACKs") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(5) == 5);
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
}

TEST_CASE("ESTABLISHED: ACK at or beyond the recovery point -> recovery over, later losses start a new one") {
  FastpathHarness h;
  h.establish();
  REQUIRE(h.app_send_segments(4) == 4);
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 1000, kTcpAck);
  h.from_peer(5000, 5000, kTcpAck);
  h.take_sent();
  REQUIRE(h.app_send_segments(4) == 4);  // 5000..9000
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 5000, kTcpAck);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});
  CHECK(h.dp->stats().fast_retransmits == 2);
}

TEST_CASE("ESTABLISHED: retransmission timeout -> go-back-N from snd_una, SACK scoreboard forgotten") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(3) == 3);
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 3000}}));
  h.take_sent();
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000, 2000, 3000});
  CHECK(h.dp->stats().rto_retransmits == 1);
  CHECK(h.slot().retransmits >= 1);
}

TEST_CASE("ESTABLISHED without SACK: duplicate ACKs for data sent before a timeout -> no fast retransmit (RFC 6582)") {
  FastpathHarness h;
  h.establish();
  REQUIRE(h.app_send_segments(4) == 4);
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  h.take_sent();
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 1000, kTcpAck);
  CHECK(seqs(h.take_sent()).empty());
  CHECK(h.dp->stats().fast_retransmits == 0);
}

TEST_CASE("ESTABLISHED: zero window, bytes waiting, timeout -> probe with seq snd_una - 1") {
  FastpathHarness h;
  h.establish(1000, 5000, 0);
  h.app_send("waiting");
  CHECK(h.take_sent().empty());
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 999);
  CHECK(out[0].payload.empty());
  CHECK(h.dp->stats().window_probes == 1);
  h.from_peer(5000, 1000, kTcpAck, "", 4096);  // the probe's answer opens the window
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "waiting");
}

TEST_CASE("ESTABLISHED: timed segment acknowledged -> RTT sample, RTO published to entry and slot") {
  FastpathHarness h;
  h.establish();
  h.app_send("ping");
  h.take_sent();
  h.clock.advance_us(300);
  h.from_peer(5000, 1004, kTcpAck);
  CHECK(h.flow().srtt_us == 300);
  CHECK(h.slot().srtt_us == 300);
  CHECK(h.slot().rttvar_us == 150);
  CHECK(h.flow().rto_us == 300 + fastpath::RttEstimator::kGranularityUs);
}

TEST_CASE("ESTABLISHED: ACK of resent data -> no RTT sample from it (Karn)") {
  FastpathHarness h;
  h.establish();
  h.app_send("ping");
  h.take_sent();
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  h.clock.advance_us(5000);
  h.from_peer(5000, 1004, kTcpAck);
  CHECK(h.flow().srtt_us == 0);
  CHECK(h.flow().rto_us == 1'000'000);  // still the handshake's
}

TEST_CASE("ESTABLISHED with timestamps: ACK of resent data echoing its TSval -> RTT sample from the echo") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptTimestamps;
  h.establish();
  h.app_send("ping");
  h.take_sent();
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  h.clock.advance_us(7000);
  wire::TcpOptionsOut o;
  o.timestamps = true;
  o.ts_val = 1;
  o.ts_ecr = out[0].f.tcp.opts.ts_val;
  h.from_peer(5000, 1004, kTcpAck, "", 65535, o);
  CHECK(h.flow().srtt_us == 7000);
}

TEST_CASE("ESTABLISHED with SACK: resent hole lost too -> resent again after two round trips, no timeout") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(5) == 5);
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 6000}}));
  CHECK(seqs(h.take_sent()).empty());  // too soon to call the resend lost
  h.clock.advance_us(5000);
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 6000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  CHECK(h.dp->stats().lost_retransmits == 1);
}

TEST_CASE("ESTABLISHED with SACK: resent hole at snd_una lost while new holes keep the pass busy above "
          "-> resent again once later data is SACKed, no timeout") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(10) == 10);  // 1000..11000
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}, {6000, 8000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{5000});  // a new hole above: the pass goes on
  h.clock.advance_us(5000);
  // Long after both resends, data sent after them is SACKed, and 1000 is still missing; the
  // pass's position (above 5000) is below the highest SACK, so "every hole was resent" never holds.
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}, {6000, 11000}}));
  auto again = seqs(h.take_sent());
  REQUIRE_FALSE(again.empty());
  CHECK(again.front() == 1000);
  CHECK(h.dp->stats().lost_retransmits == 1);
  SECTION("no newer SACK and not every hole resent -> nothing more until the next wait") {
    h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}, {6000, 11000}}));
    CHECK(seqs(h.take_sent()).empty());
    CHECK(h.dp->stats().lost_retransmits == 1);
  }
}

TEST_CASE("ESTABLISHED: two segments in flight, nothing more to send, one duplicate ACK -> early retransmit") {
  FastpathHarness h;
  h.establish();
  REQUIRE(h.app_send_segments(2) == 2);
  h.from_peer(5000, 1000, kTcpAck);
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  CHECK(h.dp->stats().fast_retransmits == 1);
}

TEST_CASE("ESTABLISHED with SACK: the resend of a recovery reported as a duplicate (D-SACK) -> the "
          "recovery was needless, the slow path is told") {
  bool same_ack = GENERATE(false, true);  // the D-SACK after the ACK that ends the recovery, or with it
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(6) == 6);  // 1000..7000; 1000 is only late (reordered)
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 5000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000});
  REQUIRE(h.flow().recoveries == 1);
  if (!same_ack) {
    h.from_peer(5000, 7000, kTcpAck);  // the original arrived
    CHECK(h.flow().spurious_recoveries == 0);
  }
  h.from_peer(5000, 7000, kTcpAck, "", 65535, sack({{1000, 2000}}));  // and then the resend: a duplicate
  CHECK(h.flow().spurious_recoveries == 1);
  CHECK(h.dp->stats().dsacks_received == 1);
  CHECK(h.dp->stats().spurious_recoveries == 1);
}

TEST_CASE("ESTABLISHED with SACK: a recovery with resends not all reported as duplicates, or a lost "
          "one -> needed, nothing to undo") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  REQUIRE(h.app_send_segments(8) == 8);  // 1000..9000; 1000 and 4000 resent
  h.from_peer(5000, 1000, kTcpAck, "", 65535, sack({{2000, 4000}, {5000, 7000}}));
  CHECK(seqs(h.take_sent()) == std::vector<uint32_t>{1000, 4000});
  h.from_peer(5000, 9000, kTcpAck, "", 65535, sack({{1000, 2000}}));  // only the first was a duplicate
  CHECK(h.flow().spurious_recoveries == 0);
  h.from_peer(5000, 9000, kTcpAck, "", 65535, sack({{1000, 2000}}));  // the same block again: a repeat
  CHECK(h.flow().spurious_recoveries == 0);
  CHECK(h.dp->stats().spurious_recoveries == 0);
  // An old D-SACK for data below the recovery, or above what it could have resent, changes nothing.
  h.from_peer(5000, 9000, kTcpAck, "", 65535, sack({{500, 1000}}));
  CHECK(h.flow().spurious_recoveries == 0);
}

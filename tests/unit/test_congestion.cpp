// Congestion control: the Reno window arithmetic, the slow path's ticks turning fast-path counters
// into FlowEntry::cwnd, and the fast path keeping what is in flight within it.
#include <catch2/catch.hpp>

#include "slowpath/core/reno_window.hpp"
#include "support/fake_fastpath.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using slowpath::RenoWindow;

TEST_CASE("reno: slow start grows by the bytes acknowledged") {
  RenoWindow w(1000);
  CHECK(w.cwnd() == 10'000);
  w.on_acked(4000);
  CHECK(w.cwnd() == 14'000);
  w.on_acked(100'000);
  CHECK(w.cwnd() == 114'000);
}

TEST_CASE("reno: loss halves what was in flight; avoidance then adds a segment per window") {
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
  w.on_timeout(30'000);
  CHECK(w.cwnd() == 1000);
  CHECK(w.ssthresh() == 15'000);
  CHECK(w.in_slow_start());
  w.on_loss(1000);
  CHECK(w.cwnd() == 2000);  // never below two segments after a cut
}

namespace {
using namespace virtuoso::slowpath::testing;
uint32_t installed_flow(Harness& h) {
  h.listen(h.add_app(), 80);
  return h.accept_one(80, 40000);
}
}  // namespace

TEST_CASE("ESTABLISHED: installed to a remote peer -> initial window of ten segments") {
  Harness h;
  uint32_t flow = installed_flow(h);
  CHECK(h.flow(flow).cwnd == 10u * h.flow(flow).mss);
}

TEST_CASE("ESTABLISHED: ticks with bytes acknowledged -> the window grows") {
  Harness h;
  uint32_t flow = installed_flow(h);
  uint32_t before = h.flow(flow).cwnd;
  shm::store_relaxed(h.flow(flow).acked_bytes, uint64_t{5000});
  h.advance(10);
  CHECK(h.flow(flow).cwnd == before + 5000);
}

TEST_CASE("ESTABLISHED: recoveries reported -> one cut per round trip") {
  Harness h;
  uint32_t flow = installed_flow(h);
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 8000;
  e.srtt_us = 50'000;
  e.recoveries = 1;
  h.advance(10);
  CHECK(e.cwnd == std::max(4000u, 2u * e.mss));  // half of the 8000 bytes in flight
  uint32_t after_cut = e.cwnd;
  e.recoveries = 2;  // the same loss event: within one round trip of the cut
  h.advance(10);
  CHECK(e.cwnd == after_cut);
  CHECK(h.cp.stats().congestion_cuts == 1);
}

TEST_CASE("ESTABLISHED: retransmission timeout -> window of one segment before the resend") {
  Harness h;
  uint32_t flow = installed_flow(h);
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
  h.from_peer(5000, 3000, wire::kTcpAck, "", 65535);
  CHECK(h.take_sent().size() == 2);
  CHECK(h.flow().snd_nxt == 6000);
}

TEST_CASE("ESTABLISHED: data in flight and no ACK for two round trips -> one tail probe before the RTO") {
  Harness h;
  uint32_t flow = installed_flow(h);
  abi::FlowEntry& e = h.flow(flow);
  e.snd_nxt = e.snd_una + 3000;
  e.srtt_us = 5000;
  h.advance(30);
  CHECK(h.cp.stats().tail_probes == 1);
  REQUIRE(h.last_command(abi::FpCommandKind::kProbeTail));
  h.advance(100);
  CHECK(h.cp.stats().tail_probes == 1);  // once per silence
  CHECK_FALSE(h.last_command(abi::FpCommandKind::kRetransmit));
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

// Proportional Rate Reduction (RFC 6937): the allowance per ACK against hand-computed traces, and
// the fast path sending a SACK recovery at that pace.
#include <catch2/catch.hpp>

#include "fastpath/prr.hpp"
#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using fastpath::Prr;
using test::FastpathHarness;
using wire::kTcpAck;

namespace {
constexpr uint32_t kMss = 1000;

// Plays one recovery: each ACK delivers one segment, the pipe as the scoreboard would say, and
// the sender sends whole segments while the allowance lasts. Returns the segments sent per ACK.
std::vector<int> play(Prr& prr, int acks, uint32_t pipe_start) {
  std::vector<int> per_ack;
  uint32_t pipe = pipe_start;
  for (int i = 0; i < acks; ++i) {
    pipe -= kMss;  // the segment this ACK reports left the network
    prr.on_ack(kMss, pipe, kMss);
    int n = 0;
    while (prr.may_send()) {
      prr.sent(kMss);
      pipe += kMss;
      ++n;
    }
    per_ack.push_back(n);
  }
  return per_ack;
}
}  // namespace

TEST_CASE("PRR: one loss in 20 segments, ssthresh 10 -> one segment every other ACK, 10 in all") {
  Prr prr;
  prr.start(10 * kMss, 20 * kMss);
  // 20 in flight, one lost: 19 in the pipe (RFC 6675) before the first ACK.
  auto per_ack = play(prr, 19, 19 * kMss);
  // As in RFC 6937's example, a segment on ACKs 1, 3, ..., 15 (ceil(delivered * 10 / 20) - out);
  // at ACK 17 the pipe is down to ssthresh (19 - 17 + 8 = 10), and from there the slow-start bound
  // keeps it there: ACKs 18 and 19 each replace the segment they reported.
  std::vector<int> want;
  for (int i = 0; i < 16; ++i) want.push_back(i % 2 == 0 ? 1 : 0);
  want.insert(want.end(), {0, 1, 1});
  CHECK(per_ack == want);
  CHECK(prr.out() == 10 * kMss);  // the window the recovery ends with: ssthresh
  CHECK(prr.delivered() == 19 * kMss);
}

TEST_CASE("PRR: CUBIC's 0.7 -> seven segments for every ten delivered") {
  Prr prr;
  prr.start(14 * kMss, 20 * kMss);
  auto per_ack = play(prr, 10, 19 * kMss);
  int sent = 0;
  for (int n : per_ack) sent += n;
  CHECK(sent == 7);
}

TEST_CASE("PRR: the pipe below ssthresh (more lost than thought) -> regrow no faster than slow start") {
  Prr prr;
  prr.start(10 * kMss, 20 * kMss);
  prr.on_ack(kMss, 4 * kMss, kMss);  // 15 of the 20 were lost: pipe 4
  // PRR-SSRB: min(ssthresh - pipe, max(delivered - out, DeliveredData) + MSS) = min(6, 2) segments.
  int n = 0;
  while (prr.may_send()) {
    prr.sent(kMss);
    ++n;
  }
  CHECK(n == 2);
  prr.on_ack(kMss, 5 * kMss, kMss);  // next ACK: prr_delivered 2, prr_out 2 -> max(0, 1) + 1
  n = 0;
  while (prr.may_send()) {
    prr.sent(kMss);
    ++n;
  }
  CHECK(n == 2);
  prr.on_ack(kMss, 9 * kMss + 500, kMss);  // close to ssthresh: only what reaches it
  CHECK(prr.may_send());
  prr.sent(kMss);
  CHECK(!prr.may_send());
}

TEST_CASE("PRR: a third duplicate ACK that delivered nothing -> the fast retransmit still goes") {
  Prr prr;
  prr.start(10 * kMss, 20 * kMss);
  prr.on_ack(0, 20 * kMss, kMss);
  CHECK(prr.may_send());
  prr.sent(kMss);
  CHECK(!prr.may_send());
  prr.on_ack(0, 20 * kMss, kMss);  // only the first gets that
  CHECK(!prr.may_send());
}

TEST_CASE("PRR: allowance spent but nothing in flight -> a segment may go (no ACK would come)") {
  Prr prr;
  prr.start(10 * kMss, 20 * kMss);
  prr.on_ack(0, 20 * kMss, kMss);
  prr.sent(kMss);
  CHECK_FALSE(prr.may_send());
  CHECK(prr.may_send(true));
}

TEST_CASE("PRR: not in a recovery -> never holds anything back") {
  Prr prr;
  CHECK(prr.may_send());
  prr.start(10 * kMss, 20 * kMss);
  prr.stop();
  CHECK(prr.may_send());
}

namespace {
wire::TcpOptionsOut sack_of(uint32_t s, uint32_t e) {
  wire::TcpOptionsOut o;
  o.sack[o.n_sack++] = {s, e};
  return o;
}
size_t data_segments(const std::vector<test::ParsedOut>& out) {
  size_t n = 0;
  for (auto& o : out) n += !o.payload.empty();
  return n;
}
}  // namespace

TEST_CASE("ESTABLISHED with SACK under congestion control: one loss -> PRR halves the sending over the recovery") {
  constexpr uint32_t kSeg = 500;  // 20 segments in flight and more waiting fit the harness's ring
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish(1000, 5000, 65535, kSeg);
  h.flow().cwnd = 20 * kSeg;
  h.flow().loss_beta = 512;  // Reno's half
  h.app_send(std::string(32 * kSeg, 'd'));  // 20 go (the window), 12 wait
  REQUIRE(data_segments(h.take_sent()) == 20);
  // The first segment (1000) is lost; the peer SACKs each later one as it arrives.
  std::vector<size_t> per_ack;
  for (uint32_t i = 1; i < 20; ++i) {
    h.from_peer(5000, 1000, kTcpAck, "", 65535, sack_of(1000 + kSeg, 1000 + (i + 1) * kSeg));
    per_ack.push_back(data_segments(h.take_sent()));
  }
  // The first two duplicate ACKs send a new segment each (limited transmit, RFC 3042); the third
  // SACKed segment starts the recovery from the window of 20 segments (RecoverFS 10000, as Linux's
  // prior_cwnd) towards 10 (ssthresh 5000) and sends the resend of 1000. From then on ACK k
  // (delivered 500k) may send ceil(500k * 5000 / 10000) - prr_out: k = 1, 3, ..., 15,
  // which brings the pipe down to ssthresh by the last ACK (29 segments out, 19 SACKed: 10 left).
  std::vector<size_t> want{1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0};
  CHECK(per_ack == want);
  CHECK(h.dp->stats().fast_retransmits == 1);
  CHECK(h.dp->stats().prr_waits > 0);
  CHECK(h.flow().loss_window == 20 * kSeg);  // the slow path cuts from the window, not the flight
  // The slow path's cut (a tick during the recovery) rules once the recovery is over.
  h.flow().cwnd = 12 * kSeg;
  h.from_peer(5000, 1000 + 22 * kSeg, kTcpAck);
  h.app_send(std::string(12 * kSeg, 'e'));
  h.take_sent();
  CHECK(h.flow().snd_nxt - h.flow().snd_una == 12 * kSeg);
}

TEST_CASE("ESTABLISHED with SACK, no congestion control (cwnd 0) -> recovery resends without PRR") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish(1000, 5000, 65535);
  h.app_send(std::string(12 * kMss, 'd'));
  REQUIRE(data_segments(h.take_sent()) == 12);
  for (uint32_t i = 1; i < 4; ++i) h.from_peer(5000, 1000, kTcpAck, "", 65535, sack_of(2000, 2000 + i * kMss));
  CHECK(data_segments(h.take_sent()) == 1);
  CHECK(h.dp->stats().prr_waits == 0);
}

TEST_CASE("ESTABLISHED with SACK: a recovery after a timeout's go-back-N with everything resent "
          "acknowledged -> it sends on, not stalled waiting for an ACK that cannot come") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish(1000, 5000, 65535);
  h.flow().cwnd = 6 * kMss;
  h.flow().loss_beta = 512;
  h.app_send(std::string(10 * kMss, 'd'));  // 1000..7000 go, 4 segments wait
  REQUIRE(data_segments(h.take_sent()) == 6);
  h.flow().cwnd = kMss;  // the slow path's timeout: one segment, and the go-back-N resend
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  REQUIRE(data_segments(h.take_sent()) == 1);  // 1000 again; snd_max stays at 7000
  h.flow().cwnd = 4 * kMss;  // slow start after the timeout
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 1000, kTcpAck);  // duplicate ACKs: a recovery to 7000
  h.take_sent();
  REQUIRE(h.dp->stats().fast_retransmits == 1);
  // Everything sent since the timeout is acknowledged, nothing is in flight, the recovery point
  // is still ahead, and PRR's share of this ACK is spent: one segment goes all the same.
  h.from_peer(5000, 2000, kTcpAck);
  CHECK(h.flow().snd_una == 2000);
  CHECK(data_segments(h.take_sent()) >= 1);
  CHECK(h.flow().snd_nxt != h.flow().snd_una);
}

// Fast-path receive under reordering: out-of-order ranges held in the ring, merged when gaps
// fill, duplicates and old segments, SACK blocks, a FIN ahead of a gap.
#include <catch2/catch.hpp>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using wire::kTcpAck;
using wire::kTcpFin;

TEST_CASE("ESTABLISHED: gap filled -> held bytes join the stream in order, ACK sent at once") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5005, 1000, kTcpAck, "world");
  h.take_sent();
  h.from_peer(5000, 1000, kTcpAck, "hello");
  CHECK(h.app_read_all() == "helloworld");
  CHECK(h.flow().rcv_nxt == 5010);
  auto out = h.take_sent();  // no clock advance: the ACK did not wait
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5010);
}

TEST_CASE("ESTABLISHED: several gaps filled in any order -> every range merged, bytes intact") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5030, 1000, kTcpAck, "DDDDD");
  h.from_peer(5010, 1000, kTcpAck, "BBBBB");
  h.from_peer(5020, 1000, kTcpAck, "CCCCC");
  h.from_peer(5015, 1000, kTcpAck, "bbbbb");
  h.from_peer(5025, 1000, kTcpAck, "ccccc");
  CHECK(h.slot().rx_head == 0);
  h.from_peer(5000, 1000, kTcpAck, "AAAAAaaaaa");
  CHECK(h.app_read_all() == "AAAAAaaaaaBBBBBbbbbbCCCCCcccccDDDDD");
  CHECK(h.flow().rcv_nxt == 5035);
}

TEST_CASE("ESTABLISHED: more out-of-order ranges than kept -> the extra one dropped and counted") {
  FastpathHarness h;
  h.establish();
  for (uint32_t i = 0; i < fastpath::kMaxOooRanges + 1; ++i) h.from_peer(5010 + 20 * i, 1000, kTcpAck, "x");
  CHECK(h.dp->stats().ooo_dropped == 1);
  CHECK(h.dp->stats().ooo_segments == fastpath::kMaxOooRanges);
}

TEST_CASE("ESTABLISHED: overlapping out-of-order segments -> the overlap stored once, stream intact") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5004, 1000, kTcpAck, "456789");
  h.from_peer(5002, 1000, kTcpAck, "2345");
  h.from_peer(5006, 1000, kTcpAck, "6789ab");
  h.from_peer(5000, 1000, kTcpAck, "01");
  CHECK(h.app_read_all() == "0123456789ab");
}

TEST_CASE("ESTABLISHED: segment wholly below rcv_nxt -> counted as a duplicate and ACKed at once") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck, "abc");
  h.advance_us(h.cfg.delayed_ack_us);
  h.take_sent();
  h.from_peer(5000, 1000, kTcpAck, "abc");
  CHECK(h.dp->stats().dup_segments == 1);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5003);
  CHECK(h.app_read_all() == "abc");
}

TEST_CASE("ESTABLISHED: FIN ahead of a gap -> the stream ends only once the gap fills") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5005, 1000, kTcpAck | kTcpFin, "world");
  CHECK(h.slot().rx_fin == 0);
  h.from_peer(5000, 1000, kTcpAck, "hello");
  CHECK(h.app_read_all() == "helloworld");
  CHECK(h.slot().rx_fin == 1);
  CHECK(h.flow().rcv_nxt == 5011);
}

TEST_CASE("ESTABLISHED: out-of-order data beyond the receive window -> dropped, window counter") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000 + h.alayout.rx_size, 1000, kTcpAck, "far");
  CHECK(h.dp->stats().drop_rx_window == 1);
  CHECK(h.dp->stats().ooo_segments == 0);
}

TEST_CASE("ESTABLISHED with SACK: out-of-order segments -> duplicate ACKs carry SACK blocks, newest first") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  h.from_peer(5010, 1000, kTcpAck, "aaaaa");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].f.tcp.opts.n_sack == 1);
  CHECK(out[0].f.tcp.opts.sack[0].start == 5010);
  CHECK(out[0].f.tcp.opts.sack[0].end == 5015);
  h.from_peer(5030, 1000, kTcpAck, "bbbbb");
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].f.tcp.opts.n_sack == 2);
  CHECK(out[0].f.tcp.opts.sack[0].start == 5030);  // RFC 2018 4: the newest block first
  CHECK(out[0].f.tcp.opts.sack[1].start == 5010);
  h.from_peer(5000, 1000, kTcpAck, "0123456789");
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5015);
  REQUIRE(out[0].f.tcp.opts.n_sack == 1);
  CHECK(out[0].f.tcp.opts.sack[0].start == 5030);
}

TEST_CASE("ESTABLISHED with SACK: segment received twice -> the ACK reports it as a D-SACK block, once") {
  FastpathHarness h;
  h.tcp_opts = abi::kFlowOptSack;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck, "abcde");
  h.advance_us(h.cfg.delayed_ack_us);
  h.take_sent();
  h.from_peer(5000, 1000, kTcpAck, "abcde");  // a needless retransmission
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].f.tcp.opts.n_sack == 1);
  CHECK(out[0].f.tcp.opts.sack[0].start == 5000);  // below the cumulative ACK: RFC 2883
  CHECK(out[0].f.tcp.opts.sack[0].end == 5005);
  CHECK(out[0].f.tcp.ack == 5005);
  h.from_peer(5005, 1000, kTcpAck, "f");
  h.advance_us(h.cfg.delayed_ack_us);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.opts.n_sack == 0);
}

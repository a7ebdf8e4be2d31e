// Fast-path TCP behaviour on installed flows, driven through a fake port (no EAL).
#include <catch2/catch.hpp>

#include "support/fake_fastpath.hpp"
#include "virtuoso/shm/byte_ring.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpPsh;
using wire::kTcpRst;
using wire::kTcpSyn;

namespace {
bool has_event(const std::vector<abi::AppEvent>& evs, abi::AppEventKind k) {
  for (auto& e : evs)
    if (e.kind == uint16_t(k) && e.slot == 3 && e.gen == 7) return true;
  return false;
}
bool has_sp_event(const std::vector<abi::FpEvent>& evs, abi::FpEventKind k) {
  for (auto& e : evs)
    if (e.kind == uint16_t(k)) return true;
  return false;
}
}  // namespace

TEST_CASE("ESTABLISHED: in-order payload -> bytes in the rx ring, rx event, delayed ACK of rcv_nxt") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck | kTcpPsh, "hello");
  CHECK(h.app_read_all() == "hello");
  CHECK(has_event(h.app_events(), abi::AppEventKind::kRxData));
  CHECK(h.take_sent().empty());  // one small segment: the ACK waits for a reply to carry it
  h.advance_us(h.cfg.delayed_ack_us);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(h.dp->stats().delayed_acks == 1);
  CHECK(out[0].f.tcp.flags == kTcpAck);
  CHECK(out[0].f.tcp.ack == 5005);
  CHECK(out[0].f.tcp.seq == 1000);
  CHECK(h.flow().rcv_nxt == 5005);
}

TEST_CASE("ESTABLISHED: out-of-order payload -> held out of the app's sight, a duplicate ACK at once") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5010, 1000, kTcpAck, "later");
  CHECK(h.slot().rx_head == 0);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5000);
  CHECK(out[0].f.tcp.opts.n_sack == 0);  // SACK was not agreed
  CHECK(h.dp->stats().ooo_segments == 1);
}

TEST_CASE("ESTABLISHED: retransmitted old payload overlapping new -> only the new part is placed") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck, "abc");
  h.from_peer(5000, 1000, kTcpAck, "abcdef");
  CHECK(h.app_read_all() == "abcdef");
  CHECK(h.flow().rcv_nxt == 5006);
}

TEST_CASE("ESTABLISHED: app writes more than one MSS -> segments of at most MSS, PSH on the last") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);
  std::string data(2500, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  h.app_send(data);
  auto out = h.take_sent();
  REQUIRE(out.size() == 3);
  CHECK(out[0].f.tcp.seq == 1000);
  CHECK(out[0].payload.size() == 1000);
  CHECK(out[1].f.tcp.seq == 2000);
  CHECK(out[2].payload.size() == 500);
  CHECK((out[2].f.tcp.flags & kTcpPsh) != 0);
  std::string joined;
  for (auto& o : out) joined.append(o.payload.begin(), o.payload.end());
  CHECK(joined == data);
  CHECK(h.flow().snd_nxt == 3500);
}

TEST_CASE("ESTABLISHED: peer window smaller than the data -> sends up to the window, rest on ACK") {
  FastpathHarness h;
  h.establish(1000, 5000, 2000, 1000);
  h.app_send(std::string(3000, 'y'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 2);
  CHECK(h.flow().snd_nxt == 3000);
  h.from_peer(5000, 3000, kTcpAck, "", 2000);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 3000);
  CHECK(h.flow().snd_nxt == 4000);
}

TEST_CASE("ESTABLISHED: window leaves a sliver while data is in flight -> the sliver waits (sender SWS)") {
  FastpathHarness h;
  h.establish(1000, 5000, 1300, 1000);
  h.app_send(std::string(3000, 'y'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);  // 300 bytes would fit, but that is less than half of any window seen
  CHECK(out[0].payload.size() == 1000);
  h.from_peer(5000, 2000, kTcpAck, "", 1300);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 2000);
  CHECK(out[0].payload.size() == 1000);
}

TEST_CASE("ESTABLISHED: ACK of sent data, a writer short of room -> tx_tail advances and the app hears of the space") {
  FastpathHarness h;
  h.establish();
  h.app_send("0123456789");
  h.take_sent();
  h.app_events();
  h.slot().tx_nospace = 1;
  h.from_peer(5000, 1006, kTcpAck);
  CHECK(h.slot().tx_tail == 6);
  CHECK(h.flow().snd_una == 1006);
  CHECK(h.flow().acked_bytes == 6);
  CHECK(has_event(h.app_events(), abi::AppEventKind::kTxSpace));
}

TEST_CASE("ESTABLISHED: ACK of sent data, no writer waiting -> space freed without waking the app") {
  FastpathHarness h;
  h.establish();
  h.app_send("0123456789");
  h.take_sent();
  h.app_events();
  h.from_peer(5000, 1010, kTcpAck);
  CHECK(h.slot().tx_tail == 10);
  CHECK(h.app_events().empty());
}

TEST_CASE("ESTABLISHED: ACK beyond anything sent -> ignored and answered with an ACK") {
  FastpathHarness h;
  h.establish();
  h.app_send("abc");
  h.take_sent();
  h.from_peer(5000, 9999, kTcpAck);
  CHECK(h.flow().snd_una == 1000);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5000);
}

TEST_CASE("ESTABLISHED: retransmit command -> everything unacknowledged is sent again") {
  FastpathHarness h;
  h.establish();
  h.app_send(std::string(1500, 'r'));
  h.take_sent();
  h.from_peer(5000, 1200, kTcpAck);
  h.command({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  auto out = h.take_sent();
  REQUIRE(out.size() >= 1);
  CHECK(out[0].f.tcp.seq == 1200);
  CHECK(out[0].payload.size() == 1000);
  CHECK(h.flow().retransmits == 1);
}

TEST_CASE("ESTABLISHED: three duplicate ACKs -> fast retransmit of the first unacknowledged segment") {
  FastpathHarness h;
  h.establish();
  h.app_send(std::string(4000, 'd'));
  h.take_sent();
  h.from_peer(5000, 2000, kTcpAck);
  h.take_sent();
  for (int i = 0; i < 3; ++i) h.from_peer(5000, 2000, kTcpAck);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 2000);
  CHECK(out[0].payload.size() == 1000);
}

TEST_CASE("ESTABLISHED: in-order FIN -> rx_fin set, app and slow path told, FIN acknowledged") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck | kTcpFin, "bye");
  CHECK(h.app_read_all() == "bye");
  CHECK(h.slot().rx_fin == 1);
  CHECK(has_event(h.app_events(), abi::AppEventKind::kPeerFin));
  CHECK(has_sp_event(h.sp_events(), abi::FpEventKind::kPeerFin));
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5004);
}

TEST_CASE("CLOSE_WAIT: retransmitted FIN -> acknowledged again, delivered once") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck | kTcpFin);
  h.take_sent();
  h.sp_events();
  h.from_peer(5000, 1000, kTcpAck | kTcpFin);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5001);
  CHECK(h.sp_events().empty());
}

TEST_CASE("ESTABLISHED: app shuts down writing -> FIN after the data, its ACK -> FIN acked event") {
  FastpathHarness h;
  h.establish();
  h.app_send("last");
  h.take_sent();
  h.app_cmd(abi::AppCmdKind::kTxFin);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.flags == (kTcpAck | kTcpFin));
  CHECK(out[0].f.tcp.seq == 1004);
  h.from_peer(5000, 1005, kTcpAck);
  CHECK((h.flow().fp_flags & abi::kFlowFinAcked) != 0);
  CHECK(h.slot().tx_tail == 4);
  CHECK(has_sp_event(h.sp_events(), abi::FpEventKind::kFinAcked));
}

TEST_CASE("ESTABLISHED: FIN queued with data pending -> FIN rides on the last data segment") {
  FastpathHarness h;
  h.establish();
  abi::FlowSlot& s = h.slot();
  shm::ring_write(h.view.tx_buf(3), h.alayout.tx_size, s.tx_head, "end", 3);
  s.tx_head += 3;
  h.view.atx().try_push({3, 7, uint16_t(abi::AppCmdKind::kTxBump), 0, 0});
  h.app_cmd(abi::AppCmdKind::kTxFin);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.flags == (kTcpAck | kTcpPsh | kTcpFin));
  CHECK(h.flow().snd_nxt == 1004);
}

TEST_CASE("ESTABLISHED: sequence numbers wrap past 2^32 -> data flows both ways across the wrap") {
  FastpathHarness h;
  h.establish(0xfffffe00u, 0xffffff00u);
  h.app_send(std::string(1000, 'w'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 0xfffffe00u);
  h.from_peer(0xffffff00u, 0xfffffe00u + 1000, kTcpAck, std::string(600, 'z'));
  CHECK(h.flow().snd_una == 0xfffffe00u + 1000);
  CHECK(h.flow().rcv_nxt == 0xffffff00u + 600);
  CHECK(h.app_read_all() == std::string(600, 'z'));
}

TEST_CASE("ESTABLISHED: rx ring full -> excess dropped and zero window advertised") {
  FastpathHarness h;
  h.establish();
  std::string chunk(1000, 'f');
  for (uint32_t i = 0; i < 5; ++i) h.from_peer(5000 + i * 1000, 1000, kTcpAck, chunk);
  CHECK(h.slot().rx_head == 4096);
  auto out = h.take_sent();
  REQUIRE(!out.empty());
  CHECK(out.back().f.tcp.window == 0);
  CHECK(out.back().f.tcp.ack == 5000 + 4096);
  // The app reads: the window opens and the fast path says so without being asked by the peer.
  h.app_read_all();
  h.app_cmd(abi::AppCmdKind::kRxConsumed);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.window == 4096);
}

TEST_CASE("ESTABLISHED: zero window advertised, the app read less than a segment -> new data is not "
          "accepted though the ring has room, an ACK with rcv_nxt") {
  FastpathHarness h;
  h.establish();
  std::string chunk(1000, 'f');
  for (uint32_t i = 0; i < 5; ++i) h.from_peer(5000 + i * 1000, 1000, kTcpAck, chunk);
  REQUIRE(h.slot().rx_head == 4096);
  h.take_sent();
  h.slot().rx_tail += 500;  // too little to open the window (receiver SWS avoidance)
  uint64_t dropped = h.dp->stats().drop_rx_window;
  h.from_peer(9096, 1000, kTcpAck, std::string(100, 'z'));
  CHECK(h.slot().rx_head == 4096);
  CHECK(h.flow().rcv_nxt == 9096);
  CHECK(h.dp->stats().drop_rx_window == dropped + 1);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 9096);
  CHECK(out[0].f.tcp.window == 0);
}

TEST_CASE("ESTABLISHED: a segment past the advertised right edge -> trimmed there, never acknowledged beyond") {
  FastpathHarness h;
  h.establish();
  std::string chunk(1000, 'a');
  for (uint32_t i = 0; i < 3; ++i) h.from_peer(5000 + i * 1000, 1000, kTcpAck, chunk);
  h.advance_us(h.cfg.delayed_ack_us);  // the last ACK goes out: window 1096, right edge 9096
  auto out = h.take_sent();
  REQUIRE(!out.empty());
  REQUIRE(out.back().f.tcp.ack == 8000);
  REQUIRE(out.back().f.tcp.window == 1096);
  h.app_read_all();  // the ring is empty again, but no window update was asked for
  std::string big(1500, 'b');
  h.from_peer(8000, 1000, kTcpAck, big);
  CHECK(h.flow().rcv_nxt == 9096);
  CHECK(h.app_read_all() == big.substr(0, 1096));
  out = h.take_sent();
  REQUIRE(!out.empty());
  CHECK(out.back().f.tcp.ack == 9096);
}

TEST_CASE("ESTABLISHED: data with an ACK of bytes never sent -> dropped whole, answered with an ACK") {
  FastpathHarness h;
  h.establish(1000, 5000);
  h.from_peer(5000, 1500, kTcpAck, "forged");
  CHECK(h.slot().rx_head == 0);
  CHECK(h.flow().rcv_nxt == 5000);
  CHECK(h.dp->stats().drop_bad_ack == 1);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5000);
  CHECK(out[0].f.tcp.seq == 1000);
}

TEST_CASE("ESTABLISHED: an ACK older than the peer's largest window before snd_una -> dropped with an "
          "ACK (RFC 5961 5.2), one inside it is accepted") {
  FastpathHarness h;
  h.establish(100000, 5000, 2000);
  h.from_peer(5000, 100000 - 2001, kTcpAck, "blind");
  CHECK(h.slot().rx_head == 0);
  CHECK(h.dp->stats().drop_bad_ack == 1);
  REQUIRE(h.take_sent().size() == 1);
  h.from_peer(5000, 100000 - 1500, kTcpAck, "late");
  CHECK(h.app_read_all() == "late");
  CHECK(h.dp->stats().drop_bad_ack == 1);
}

TEST_CASE("ESTABLISHED: SYN or RST on an installed flow -> punted to the slow path") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpRst | kTcpAck);
  h.from_peer(4999, 1000, kTcpSyn | kTcpAck);
  CHECK(h.punted() == 2);
  CHECK(h.flow().rcv_nxt == 5000);
}

TEST_CASE("segment of no installed flow -> punted to the slow path") {
  FastpathHarness h;
  h.from_peer(1, 0, kTcpSyn);
  CHECK(h.punted() == 1);
}

TEST_CASE("segment with a bad TCP checksum -> dropped and counted, never punted") {
  FastpathHarness h;
  h.establish();
  auto fr = h.peer_frame(5000, 1000, kTcpAck, "data");
  fr[fr.size() - 1] ^= 0x01;
  h.port.rx.push_back(fr);
  h.dp->poll_once();
  CHECK(h.dp->stats().drop_bad_tcp == 1);
  CHECK(h.punted() == 0);
  CHECK(h.slot().rx_head == 0);
}

TEST_CASE("frame for another host's MAC or IP -> dropped and counted") {
  FastpathHarness h;
  auto fr = h.peer_frame(1, 0, kTcpSyn);
  fr[5] = 0x99;  // destination MAC
  h.port.rx.push_back(fr);
  h.dp->poll_once();
  CHECK(h.dp->stats().drop_bad_eth == 1);
  CHECK(h.punted() == 0);
}

TEST_CASE("truncated and garbage frames -> dropped, counted, nothing leaks") {
  FastpathHarness h;
  h.establish();
  auto fr = h.peer_frame(5000, 1000, kTcpAck, "data");
  for (size_t cut : {size_t(3), size_t(20), size_t(40), fr.size() - 2}) {
    h.port.rx.push_back(std::vector<uint8_t>(fr.begin(), fr.begin() + long(cut)));
  }
  h.dp->poll_once();
  CHECK(h.slot().rx_head == 0);
  CHECK(h.port.live_buffers == 0);
  auto& st = h.dp->stats();
  CHECK(st.drop_bad_eth + st.drop_bad_ip + st.drop_bad_tcp == 4);
}

TEST_CASE("ARP request for our address -> reply from our MAC, and the slow path learns the sender") {
  FastpathHarness h;
  std::vector<uint8_t> req(60);
  wire::ArpPacket a{wire::kArpRequest, FastpathHarness::kRemoteMac, FastpathHarness::kRemoteIp, {},
                    FastpathHarness::kLocalIp};
  wire::build_arp_frame(req.data(), wire::kBroadcastMac, FastpathHarness::kRemoteMac, a);
  h.port.rx.push_back(req);
  h.dp->poll_once();
  REQUIRE(h.port.sent.size() == 1);
  auto reply = wire::parse_arp(h.port.sent[0].data() + wire::kEthHeaderLen, 46);
  REQUIRE(reply);
  CHECK(reply->op == wire::kArpReply);
  CHECK(reply->sender_mac == FastpathHarness::kLocalMac);
  CHECK(reply->sender_ip == FastpathHarness::kLocalIp);
  CHECK(reply->target_ip == FastpathHarness::kRemoteIp);
  CHECK(h.punted() == 1);
}

TEST_CASE("ARP storm: every request for us answered, requests for other hosts not punted, punts "
          "bounded by their rate") {
  FastpathHarness h;
  auto request = [&](uint32_t sender, uint32_t target) {
    std::vector<uint8_t> req(60);
    wire::ArpPacket a{wire::kArpRequest, FastpathHarness::kRemoteMac, sender, {}, target};
    wire::build_arp_frame(req.data(), wire::kBroadcastMac, FastpathHarness::kRemoteMac, a);
    h.port.rx.push_back(req);
  };
  for (uint32_t i = 0; i < 20; ++i) request(0x0a000100 + i, 0x0a0001fe);  // someone else's address
  h.dp->poll_once();
  CHECK(h.punted() == 0);
  CHECK(h.dp->stats().arp_ignored == 20);
  CHECK(h.port.sent.empty());
  size_t punts = 0;  // taken from the punt queue as the slow path would
  for (uint32_t i = 0; i < 500; ++i) {  // a storm at one instant: the burst goes through
    request(0x0a010000 + i, FastpathHarness::kLocalIp);
    h.dp->poll_once();
    punts += h.punted();
  }
  CHECK(h.dp->stats().arp_replies == 500);
  CHECK(punts == 100);
  CHECK(h.dp->stats().arp_limited == 400);
  h.advance_us(10'000);  // 10 ms: ten more tokens
  for (uint32_t i = 0; i < 50; ++i) {
    request(0x0a020000 + i, FastpathHarness::kLocalIp);
    h.dp->poll_once();
    punts += h.punted();
  }
  CHECK(punts == 110);
  CHECK(h.dp->stats().arp_limited == 440);
}

TEST_CASE("app moves tx_head beyond its ring -> that flow fails with EIO, the app is told") {
  FastpathHarness h;
  h.establish();
  h.slot().tx_head = 1u << 20;
  h.app_cmd(abi::AppCmdKind::kTxBump);
  CHECK(h.slot().error == EIO);
  CHECK(has_event(h.app_events(), abi::AppEventKind::kError));
  CHECK(has_sp_event(h.sp_events(), abi::FpEventKind::kFlowError));
  CHECK(h.take_sent().empty());
}

TEST_CASE("app command for a bad slot or a stale generation -> counted and ignored") {
  FastpathHarness h;
  h.establish();
  h.app_cmd(abi::AppCmdKind::kTxBump, 999, 7);
  h.app_cmd(abi::AppCmdKind::kTxBump, 3, 6);
  h.app_cmd(abi::AppCmdKind::kTxBump, 0xffffffffu, 0);
  CHECK(h.dp->stats().app_cmd_bad == 3);
}

TEST_CASE("app corrupts its command queue indices -> the context is faulted, the datapath carries on") {
  FastpathHarness h;
  h.establish();
  auto* idx = reinterpret_cast<shm::SpscIndices*>(h.app.data() + h.alayout.atx_offset());
  idx->head = idx->tail + 100000;
  h.dp->poll_once();
  CHECK(has_sp_event(h.sp_events(), abi::FpEventKind::kCtxFault));
  h.from_peer(1, 0, kTcpSyn);  // the datapath still works for everyone else
  CHECK(h.punted() == 1);
}

TEST_CASE("flow to our own address -> delivered inside the datapath, the port sees nothing") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000, FastpathHarness::kLocalIp);
  h.app_send("loop");
  h.dp->poll_once();
  CHECK(h.port.sent.empty());
  CHECK(h.dp->stats().local_delivered >= 1);
  CHECK(h.dp->stats().tx_frames == 0);
}

TEST_CASE("remove command -> flow no longer matched, slow path told, its segments are punted") {
  FastpathHarness h;
  h.establish();
  h.command({uint16_t(abi::FpCommandKind::kRemove), 0, 0, {}, 0, 0});
  CHECK(has_sp_event(h.sp_events(), abi::FpEventKind::kRemoved));
  h.from_peer(5000, 1000, kTcpAck, "x");
  CHECK(h.punted() == 1);
}

TEST_CASE("ESTABLISHED: a burst of segments in one iteration -> one rx event for the app, all bytes placed") {
  FastpathHarness h;
  h.establish();
  for (uint32_t i = 0; i < 4; ++i) h.port.rx.push_back(h.peer_frame(5000 + i * 100, 1000, kTcpAck, std::string(100, 'b')));
  h.dp->poll_once();
  auto evs = h.app_events();
  CHECK(evs.size() == 1);
  CHECK(has_event(evs, abi::AppEventKind::kRxData));
  CHECK(h.app_read_all() == std::string(400, 'b'));
}

TEST_CASE("loop running -> the port's buffers in use are sampled into the stats (leaks show)") {
  FastpathHarness h;
  fastpath::Frame held;
  REQUIRE(h.port.alloc(held));  // one buffer out of the pool, as a leak would be
  for (int i = 0; i < 2048; ++i) h.dp->poll_once();
  CHECK(h.dp->stats().port_buffers_in_use == 1);
  h.port.free(held);
  for (int i = 0; i < 2048; ++i) h.dp->poll_once();
  CHECK(h.dp->stats().port_buffers_in_use == 0);
}

TEST_CASE("ESTABLISHED: peer's keepalive probe (seq rcv_nxt - 1, no data) -> answered with an ACK at once") {
  FastpathHarness h;
  h.establish();
  h.from_peer(4999, 1000, kTcpAck);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5000);
  CHECK(out[0].f.tcp.seq == 1000);
}

TEST_CASE("ESTABLISHED: pure ACK inside the window -> no reply") {
  FastpathHarness h;
  h.establish();
  h.from_peer(5000, 1000, kTcpAck);
  h.advance_us(h.cfg.delayed_ack_us * 2);
  CHECK(h.take_sent().empty());
}

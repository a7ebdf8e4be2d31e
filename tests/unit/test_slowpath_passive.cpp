// Slow path, passive open: listeners, SYN-ACK, half-open retransmission, the completing ACK.
#include <catch2/catch.hpp>

#include <cerrno>

#include "core/syn_cookie.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
PeerSeg syn_from_peer(uint16_t peer_port = 40000, int8_t wscale = 7) {
  return PeerSeg{wire::kTcpSyn, 1000, 0, 65535, 1460, wscale, {}, kPeerIp, peer_port, 80};
}
}  // namespace

TEST_CASE("LISTEN: SYN -> SYN-ACK with MSS and window scale") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  REQUIRE(h.out.frames.size() == 1);
  const auto& fr = h.out.frames[0];
  auto f = fr.tcp();
  CHECK(fr.flags == 0);
  CHECK(f.eth.dst == kPeerMac);
  CHECK(f.eth.src == kLocalMac);
  CHECK(f.ip.src == kLocalIp);
  CHECK(f.ip.dst == kPeerIp);
  CHECK(f.tcp.src_port == 80);
  CHECK(f.tcp.dst_port == 40000);
  CHECK(f.tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
  CHECK(f.tcp.ack == 1001);
  CHECK(f.tcp.opts.mss == 1460);
  CHECK(f.tcp.opts.wscale == 1);  // 65536-byte rx ring: 65536 >> 1 fits in 16 bits
  CHECK_FALSE(f.tcp.opts.has_timestamps);
  CHECK_FALSE(f.tcp.opts.sack_permitted);
  CHECK(f.tcp.window == 65535);
  CHECK(h.cp.half_open() == 1);
}

TEST_CASE("LISTEN: SYN without window scale -> SYN-ACK without window scale") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer(40000, -1));
  auto f = h.out.frames.at(0).tcp();
  CHECK(f.tcp.opts.wscale == -1);
  CHECK(f.tcp.opts.mss == 1460);
}

TEST_CASE("LISTEN: SYN from two peers -> different initial sequence numbers") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer(40000));
  h.rx(syn_from_peer(40001));
  CHECK(h.out.frames.at(0).tcp().tcp.seq != h.out.frames.at(1).tcp().tcp.seq);
}

TEST_CASE("LISTEN: backlog full, SYN cookies off -> SYN dropped and counted") {
  Settings st = test_settings();
  st.syn_cookies = false;
  Harness h(st);
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80, 2);
  h.rx(syn_from_peer(40000));
  h.rx(syn_from_peer(40001));
  h.rx(syn_from_peer(40002));
  CHECK(h.out.frames.size() == 2);
  CHECK(h.cp.half_open() == 2);
  CHECK(h.cp.stats().syn_dropped_backlog == 1);
}

TEST_CASE("LISTEN: accepted but not accept()ed connections count against the backlog") {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80, 1);
  h.accept_one(80, 40000);
  h.out.clear();
  h.rx(syn_from_peer(40001));
  CHECK(h.out.frames.empty());
  CHECK(h.cp.stats().syn_dropped_backlog == 1);
  abi::AppRequest ack{};
  ack.id = lid;
  CHECK(h.request(ctx, abi::AppRequestKind::kAcceptAck, ack).error == 0);
  h.rx(syn_from_peer(40001));
  REQUIRE(h.out.frames.size() == 1);
  CHECK(h.out.frames[0].tcp().tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
}

TEST_CASE("SYN-RCVD: retransmitted SYN -> SYN-ACK again with the same ISS") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  h.rx(syn_from_peer());
  REQUIRE(h.out.frames.size() == 2);
  CHECK(h.out.frames[0].tcp().tcp.seq == h.out.frames[1].tcp().tcp.seq);
  CHECK(h.cp.half_open() == 1);
}

TEST_CASE("SYN-RCVD: no ACK -> SYN-ACK retransmitted with back-off, dropped after syn_retries") {
  Settings s = test_settings();
  s.initial_rto_ms = 1000;
  s.syn_retries = 2;
  Harness h(s);
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  h.advance(990);
  CHECK(h.out.frames.size() == 1);
  h.advance(10);  // 1 s
  CHECK(h.out.frames.size() == 2);
  h.advance(1990);
  CHECK(h.out.frames.size() == 2);
  h.advance(10);  // 1 s + 2 s
  CHECK(h.out.frames.size() == 3);
  CHECK(h.cp.half_open() == 1);
  h.advance(4000);  // after the last one's 4 s: given up
  CHECK(h.out.frames.size() == 3);
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.stats().half_open_expired == 1);
}

TEST_CASE("SYN-RCVD: ACK -> flow installed and accept event") {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80);
  h.rx(syn_from_peer());
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  h.rx(seg(wire::kTcpAck, 1001, iss + 1, 1000));

  const abi::FpCommand* cmd = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(cmd);
  abi::FlowEntry& e = h.flow(cmd->flow);
  CHECK(e.local_ip == kLocalIp);
  CHECK(e.remote_ip == kPeerIp);
  CHECK(e.local_port == 80);
  CHECK(e.remote_port == 40000);
  CHECK(std::equal(e.remote_mac, e.remote_mac + 6, kPeerMac.begin()));
  CHECK(e.mss == 1460);
  CHECK(e.snd_wscale == 7);
  CHECK(e.rcv_wscale == 1);
  CHECK(e.init_snd_una == iss + 1);
  CHECK(e.init_rcv_nxt == 1001);
  CHECK(e.init_snd_wnd == 1000u << 7);
  CHECK(e.ctx == ctx);

  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kAccepted);
  REQUIRE(ev);
  CHECK(ev->id == lid);
  CHECK(ev->slot == e.slot);
  CHECK(ev->gen == e.gen);
  CHECK(ev->gen != 0);
  CHECK(ev->remote_ip == kPeerIp);
  CHECK(ev->remote_port == 40000);
  CHECK(ev->local_port == 80);
  CHECK(ev->mss == 1460);
  abi::FlowSlot& fs = h.slot(ctx, e.slot);
  CHECK(fs.gen == e.gen);
  CHECK(fs.rx_head == 0);
  CHECK(fs.tx_head == 0);
  CHECK(fs.error == 0);
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.flows() == 1);
  CHECK(h.cp.conn_state(cmd->flow) == ConnState::kEstablished);
  CHECK(h.cp.stats().passive_opens == 1);
}

TEST_CASE("SYN-RCVD: ACK from a peer without options -> MSS 536 and no scaling") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(seg(wire::kTcpSyn, 1000, 0, 8000));
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  h.rx(seg(wire::kTcpAck, 1001, iss + 1, 8000));
  abi::FlowEntry& e = h.flow(h.last_command(abi::FpCommandKind::kInstall)->flow);
  CHECK(e.mss == 536);
  CHECK(e.snd_wscale == 0);
  CHECK(e.rcv_wscale == 0);
  CHECK(e.init_snd_wnd == 8000);
}

TEST_CASE("SYN-RCVD: ACK with payload -> installed, then the frame replayed as received") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  h.out.clear();
  PeerSeg ack = seg(wire::kTcpAck | wire::kTcpPsh, 1001, iss + 1, 1000);
  ack.payload = {'h', 'e', 'l', 'l', 'o'};
  auto bytes = peer_frame(ack);
  h.rx(bytes);
  REQUIRE(h.out.commands.size() == 1);
  CHECK(h.out.commands[0].kind == uint16_t(abi::FpCommandKind::kInstall));
  REQUIRE(h.out.frames.size() == 1);
  CHECK(h.out.frames[0].flags == abi::kPacketProcessAsRx);
  CHECK(h.out.frames[0].bytes == bytes);
}

TEST_CASE("SYN-RCVD: ACK with wrong ack number -> RST") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  h.rx(seg(wire::kTcpAck, 1001, iss + 5, 1000));
  auto f = h.out.frames.at(1).tcp();
  CHECK(f.tcp.flags == wire::kTcpRst);
  CHECK(f.tcp.seq == iss + 5);
  CHECK(h.count_commands(abi::FpCommandKind::kInstall) == 0);
  CHECK(h.cp.half_open() == 1);
}

TEST_CASE("SYN-RCVD: RST at irs+1 -> half-open connection dropped") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(syn_from_peer());
  h.rx(seg(wire::kTcpRst, 1001, 0, 0));
  CHECK(h.cp.half_open() == 0);
  CHECK(h.out.frames.size() == 1);  // no answer to a reset
}

TEST_CASE("SYN-RCVD: no flow entry free -> completing ACK dropped, half-open kept") {
  Settings s = test_settings();
  s.max_flows = 1;
  Harness h(s);
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one(80, 40000);
  h.rx(syn_from_peer(40001));
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  h.out.clear();
  PeerSeg ack = seg(wire::kTcpAck, 1001, iss + 1, 1000);
  ack.src_port = 40001;
  h.rx(ack);
  CHECK(h.out.commands.empty());
  CHECK(h.cp.half_open() == 1);
  CHECK(h.cp.stats().accept_no_resources == 1);
}

TEST_CASE("LISTEN on the local address: SYN -> SYN-ACK") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80, 16, kLocalIp);
  h.rx(syn_from_peer());
  REQUIRE(h.out.frames.size() == 1);
  CHECK(h.out.frames[0].tcp().tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
}

TEST_CASE("CLOSED port: SYN -> RST-ACK") {
  Harness h;
  h.add_app();
  h.rx(seg(wire::kTcpSyn, 5000, 0, 65535, 1460));
  REQUIRE(h.out.frames.size() == 1);
  auto f = h.out.frames[0].tcp();
  CHECK(f.tcp.flags == (wire::kTcpRst | wire::kTcpAck));
  CHECK(f.tcp.seq == 0);
  CHECK(f.tcp.ack == 5001);
  CHECK(f.eth.dst == kPeerMac);
  CHECK(h.cp.stats().rsts_sent == 1);
}

TEST_CASE("CLOSED port: segment with ACK -> RST with seq = SEG.ACK") {
  Harness h;
  PeerSeg p = seg(wire::kTcpAck | wire::kTcpPsh, 5000, 777777, 100);
  p.payload = {1, 2, 3};
  h.rx(p);
  auto f = h.out.frames.at(0).tcp();
  CHECK(f.tcp.flags == wire::kTcpRst);
  CHECK(f.tcp.seq == 777777);
}

TEST_CASE("CLOSED port: data and FIN without ACK -> RST-ACK covering them") {
  Harness h;
  PeerSeg p = seg(wire::kTcpFin, 5000, 0, 100);
  p.payload = {1, 2, 3};
  h.rx(p);
  auto f = h.out.frames.at(0).tcp();
  CHECK(f.tcp.flags == (wire::kTcpRst | wire::kTcpAck));
  CHECK(f.tcp.ack == 5004);
}

TEST_CASE("LISTEN: SYN-ACK to a listening port -> RST with seq = SEG.ACK") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(seg(wire::kTcpSyn | wire::kTcpAck, 5000, 4242, 100));
  auto f = h.out.frames.at(0).tcp();
  CHECK(f.tcp.flags == wire::kTcpRst);
  CHECK(f.tcp.seq == 4242);
  CHECK(h.cp.half_open() == 0);
}

TEST_CASE("CLOSED port: RST -> no answer") {
  Harness h;
  h.rx(seg(wire::kTcpRst | wire::kTcpAck, 5000, 1, 0));
  CHECK(h.out.frames.empty());
  CHECK(h.cp.stats().rsts_ignored == 1);
}

TEST_CASE("Any state: frame with a bad TCP checksum -> dropped") {
  Harness h;
  auto bytes = peer_frame(seg(wire::kTcpSyn, 5000, 0, 100));
  bytes[14 + 20 + 16] ^= 0xff;  // checksum field
  h.rx(bytes);
  CHECK(h.out.frames.empty());
  CHECK(h.cp.stats().bad_frames == 1);
}

TEST_CASE("LISTEN: unlisten -> half-open connections reset") {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80);
  h.rx(syn_from_peer());
  uint32_t iss = h.out.frames.at(0).tcp().tcp.seq;
  abi::AppRequest r{};
  r.id = lid;
  CHECK(h.request(ctx, abi::AppRequestKind::kUnlisten, r).error == 0);
  auto f = h.out.frames.at(1).tcp();
  CHECK((f.tcp.flags & wire::kTcpRst));
  CHECK(f.tcp.seq == iss + 1);
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.listeners() == 0);
  h.rx(syn_from_peer(40005));  // the port is closed now
  CHECK(h.out.frames.back().tcp().tcp.flags == (wire::kTcpRst | wire::kTcpAck));
}

namespace {
// A listener with a backlog of 2 whose half-open table two SYNs filled; the third SYN got a cookie.
struct CookieCase {
  Harness h;
  uint16_t ctx = h.add_app();
  uint32_t lid = h.listen(ctx, 80, 2);
  uint32_t cookie = 0;
  CookieCase(uint16_t peer_mss = 1460) {
    h.rx(syn_from_peer(40000));
    h.rx(syn_from_peer(40001));
    h.out.clear();
    PeerSeg syn = syn_from_peer(40002);
    syn.mss = peer_mss;
    syn.sack_permitted = true;
    syn.timestamps = true;
    syn.ts_val = 77;
    h.rx(syn);
    cookie = h.out.frames.at(0).tcp().tcp.seq;
  }
  PeerSeg ack(uint32_t our_seq_plus_1, uint16_t peer_port = 40002) {
    return PeerSeg{wire::kTcpAck, 1001, our_seq_plus_1, 1000, 0, -1, {}, kPeerIp, peer_port, 80};
  }
};
}  // namespace

TEST_CASE("SYN cookies: a full half-open table answers with a cookie SYN-ACK and keeps no entry") {
  CookieCase c;
  REQUIRE(c.h.out.frames.size() == 1);
  auto f = c.h.out.frames[0].tcp();
  CHECK(f.tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
  CHECK(f.tcp.ack == 1001);
  CHECK(f.tcp.opts.mss == 1460);
  CHECK(f.tcp.opts.wscale == -1);  // nothing that needs state: no scaling, SACK or timestamps
  CHECK_FALSE(f.tcp.opts.sack_permitted);
  CHECK_FALSE(f.tcp.opts.has_timestamps);
  CHECK((c.cookie & 3u) == 3);  // the peer's 1460 is the table's largest MSS
  CHECK(c.h.cp.half_open() == 2);
  CHECK(c.h.cp.stats().syn_cookies_sent == 1);
  CHECK(c.h.cp.stats().syn_dropped_backlog == 0);
}

TEST_CASE("SYN cookies: the ACK bringing the cookie back makes the connection, with the cookie's MSS") {
  CookieCase c(1300);  // encoded as 1220, the largest table value it allows
  c.h.out.clear();
  c.h.rx(c.ack(c.cookie + 1));
  const abi::FpCommand* install = c.h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(install != nullptr);
  const abi::FlowEntry& e = *c.h.ctrl.flow(install->flow);
  CHECK(e.mss == 1220);
  CHECK(e.init_snd_una == c.cookie + 1);
  CHECK(e.init_rcv_nxt == 1001);
  CHECK(e.tcp_opts == 0);
  CHECK(e.snd_wscale == 0);
  CHECK(c.h.cp.stats().syn_cookies_accepted == 1);
  CHECK(c.h.cp.stats().passive_opens == 1);
  CHECK(c.h.cp.half_open() == 2);  // the two real half-open entries; the cookie's is gone again
}

TEST_CASE("SYN cookies: a wrong or stale cookie is a segment to no connection (RST)") {
  CookieCase c;
  c.h.out.clear();
  c.h.rx(c.ack(c.cookie + 5));  // another value
  REQUIRE(c.h.out.frames.size() == 1);
  CHECK(c.h.out.frames[0].tcp().tcp.flags & wire::kTcpRst);
  c.h.out.clear();
  c.h.rx(c.ack(c.cookie + 1, 40009));  // another connection's
  REQUIRE(c.h.out.frames.size() == 1);
  CHECK(c.h.out.frames[0].tcp().tcp.flags & wire::kTcpRst);
  c.h.out.clear();
  c.h.now += 3 * SynCookies::kPeriodMs;  // two periods and more later
  c.h.rx(c.ack(c.cookie + 1));
  REQUIRE(c.h.out.frames.size() == 1);
  CHECK(c.h.out.frames[0].tcp().tcp.flags & wire::kTcpRst);
  CHECK(c.h.cp.stats().syn_cookies_accepted == 0);
  CHECK(c.h.last_command(abi::FpCommandKind::kInstall) == nullptr);
}

TEST_CASE("SYN cookies: a cookie from the previous period still counts") {
  CookieCase c;
  c.h.now += SynCookies::kPeriodMs;
  c.h.rx(c.ack(c.cookie + 1));
  CHECK(c.h.cp.stats().syn_cookies_accepted == 1);
  CHECK(c.h.last_command(abi::FpCommandKind::kInstall) != nullptr);
}

TEST_CASE("SYN cookies: a full accept queue drops the SYN and the cookie's ACK") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80, 1);
  h.accept_one(80, 40000);  // announced, not accept()ed: the queue of 1 is full
  h.out.clear();
  h.rx(syn_from_peer(40001));
  CHECK(h.out.frames.empty());
  CHECK(h.cp.stats().syn_cookies_sent == 0);
  CHECK(h.cp.stats().syn_dropped_backlog == 1);
}

TEST_CASE("SYN cookies: the MSS table, and what a peer's MSS is encoded as") {
  CHECK(SynCookies::mss_index(0) == 0);
  CHECK(SynCookies::mss_index(535) == 0);
  CHECK(SynCookies::mss_index(1219) == 0);
  CHECK(SynCookies::mss_index(1220) == 1);
  CHECK(SynCookies::mss_index(1459) == 2);
  CHECK(SynCookies::mss_index(9000) == 3);
}

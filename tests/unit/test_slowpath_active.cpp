// Slow path, active open: routing, ARP resolution, SYN retransmission, SYN-ACK, refused connects.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
// Connects to the peer with its MAC already learned; returns the SYN sent.
wire::TcpFrame connect_resolved(Harness& h, uint16_t ctx, uint16_t port = 80) {
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));
  auto r = h.connect(ctx, kPeerIp, port);
  REQUIRE(r.error == 0);
  return h.out.frames.back().tcp();
}

PeerSeg synack_for(const wire::TcpFrame& syn, uint16_t mss = 1400, int8_t wscale = 3) {
  PeerSeg p = seg(wire::kTcpSyn | wire::kTcpAck, 5000, syn.tcp.seq + 1, 29200, mss, wscale);
  p.src_port = syn.tcp.dst_port;
  p.dst_port = syn.tcp.src_port;
  return p;
}
}  // namespace

TEST_CASE("CLOSED: connect to an unresolved on-link peer -> ARP request, then SYN after the reply") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto r = h.connect(ctx, kPeerIp, 80);
  REQUIRE(r.error == 0);
  CHECK(r.ip == kLocalIp);
  CHECK(r.port >= 32768);
  CHECK(r.port <= 60999);
  REQUIRE(h.out.frames.size() == 1);
  REQUIRE(h.out.frames[0].is_arp());
  auto arp = h.out.frames[0].arp();
  CHECK(arp.op == wire::kArpRequest);
  CHECK(arp.target_ip == kPeerIp);
  CHECK(arp.sender_ip == kLocalIp);
  CHECK(arp.sender_mac == kLocalMac);
  h.rx(arp_frame(wire::kArpReply, kPeerIp, kPeerMac, kLocalIp));
  REQUIRE(h.out.frames.size() == 2);
  auto syn = h.out.frames[1].tcp();
  CHECK(syn.tcp.flags == (wire::kTcpSyn | wire::kTcpEce | wire::kTcpCwr));  // RFC 3168 ECN setup
  CHECK(syn.eth.dst == kPeerMac);
  CHECK(syn.tcp.src_port == r.port);
  CHECK(syn.tcp.dst_port == 80);
  CHECK(syn.tcp.opts.mss == 1460);
  CHECK(syn.tcp.opts.wscale == 1);
  CHECK(syn.tcp.opts.sack_permitted);
  CHECK(syn.tcp.opts.has_timestamps);
  CHECK(h.cp.stats().arp_requests_sent == 1);
}

TEST_CASE("ARP: no reply after three requests -> connect fails EHOSTUNREACH") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.connect(ctx, kPeerIp, 80, 42);
  h.advance(1000);
  h.advance(1000);
  CHECK(h.out.frames.size() == 3);
  CHECK(h.out.frames[2].is_arp());
  CHECK_FALSE(h.last_event(abi::CtlEventKind::kConnectFailed));
  h.advance(1000);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnectFailed);
  REQUIRE(ev);
  CHECK(ev->id == 42);
  CHECK(ev->error == EHOSTUNREACH);
  CHECK(h.cp.flows() == 0);
  CHECK(h.cp.stats().arp_failures == 1);
}

TEST_CASE("CLOSED: connect off-link through the gateway -> ARP for the gateway, SYN to its MAC") {
  Settings s = test_settings();
  s.gateway = kGatewayIp;
  Harness h(s);
  uint16_t ctx = h.add_app();
  REQUIRE(h.connect(ctx, kFarIp, 443).error == 0);
  CHECK(h.out.frames.at(0).arp().target_ip == kGatewayIp);
  h.rx(arp_frame(wire::kArpReply, kGatewayIp, kGatewayMac, kLocalIp));
  auto syn = h.out.frames.at(1).tcp();
  CHECK(syn.eth.dst == kGatewayMac);
  CHECK(syn.ip.dst == kFarIp);
}

TEST_CASE("CLOSED: connect off-link without a gateway -> ENETUNREACH") {
  Harness h;
  uint16_t ctx = h.add_app();
  CHECK(h.connect(ctx, kFarIp, 443).error == ENETUNREACH);
  CHECK(h.connect(ctx, 0xe0000001, 443).error == ENETUNREACH);  // multicast
  CHECK(h.connect(ctx, 0x0a0000ff, 443).error == ENETUNREACH);  // the subnet's broadcast
  CHECK(h.out.frames.empty());
  CHECK(h.cp.flows() == 0);
}

TEST_CASE("CLOSED: connect to the local address -> SYN to our own MAC without ARP") {
  Harness h;
  uint16_t ctx = h.add_app();
  REQUIRE(h.connect(ctx, kLocalIp, 80).error == 0);
  REQUIRE(h.out.frames.size() == 1);
  auto syn = h.out.frames[0].tcp();
  CHECK(syn.eth.dst == kLocalMac);
  CHECK(syn.ip.dst == kLocalIp);
}

TEST_CASE("Loopback: connect to a local listener -> both sides installed through the same code") {
  Harness h;
  uint16_t server = h.add_app();
  uint16_t client = h.add_app();
  h.listen(server, 80);
  REQUIRE(h.connect(client, kLocalIp, 80).error == 0);
  // Play the fast path: every frame to our own address comes back on the punt queue.
  for (size_t i = 0; i < h.out.frames.size() && i < 10; ++i) {
    auto copy = h.out.frames[i].bytes;
    h.rx(copy);
  }
  CHECK(h.count_commands(abi::FpCommandKind::kInstall) == 2);
  CHECK(h.last_event(abi::CtlEventKind::kConnected));
  CHECK(h.last_event(abi::CtlEventKind::kAccepted));
  CHECK(h.cp.flows() == 2);
}

TEST_CASE("CLOSED: connect from an address that is not ours -> EADDRNOTAVAIL") {
  Harness h;
  uint16_t ctx = h.add_app();
  abi::AppRequest r{};
  r.ip = kPeerIp;
  r.port = 80;
  r.local_ip = 0x0a000063;
  CHECK(h.request(ctx, abi::AppRequestKind::kConnect, r).error == EADDRNOTAVAIL);
}

TEST_CASE("CLOSED: ephemeral ports exhausted -> EAGAIN") {
  Settings s = test_settings();
  s.ephemeral_lo = 50000;
  s.ephemeral_hi = 50001;
  Harness h(s);
  uint16_t ctx = h.add_app();
  auto a = h.connect(ctx, kLocalIp, 80);
  auto b = h.connect(ctx, kLocalIp, 80);
  CHECK(a.error == 0);
  CHECK(b.error == 0);
  CHECK(a.port != b.port);
  CHECK(h.connect(ctx, kLocalIp, 80).error == EAGAIN);
  CHECK(h.connect(ctx, kLocalIp, 81).error == 0);  // another destination reuses the ports
}

TEST_CASE("SYN-SENT: SYN-ACK -> ACK, flow installed, connected event") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  h.rx(synack_for(syn));
  auto ack = h.out.frames.back().tcp();
  CHECK(ack.tcp.flags == wire::kTcpAck);
  CHECK(ack.tcp.seq == syn.tcp.seq + 1);
  CHECK(ack.tcp.ack == 5001);
  CHECK(ack.tcp.window == 32768);  // 65536 free bytes >> our shift 1
  const abi::FpCommand* cmd = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(cmd);
  abi::FlowEntry& e = h.flow(cmd->flow);
  CHECK(e.mss == 1400);
  CHECK(e.snd_wscale == 3);
  CHECK(e.rcv_wscale == 1);
  CHECK(e.init_snd_una == syn.tcp.seq + 1);
  CHECK(e.init_rcv_nxt == 5001);
  CHECK(e.init_snd_wnd == 29200);  // a SYN-ACK's window is never scaled
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnected);
  REQUIRE(ev);
  CHECK(ev->id == 77);
  CHECK(ev->slot == e.slot);
  CHECK(ev->gen == e.gen);
  CHECK(ev->local_port == syn.tcp.src_port);
  CHECK(ev->mss == 1400);
  CHECK(h.cp.stats().active_opens == 1);
}

TEST_CASE("SYN-SENT: SYN-ACK without window scale -> no scaling either way") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  h.rx(synack_for(syn, 1460, -1));
  abi::FlowEntry& e = h.flow(h.last_command(abi::FpCommandKind::kInstall)->flow);
  CHECK(e.snd_wscale == 0);
  CHECK(e.rcv_wscale == 0);
  CHECK(h.out.frames.back().tcp().tcp.window == 65535);
}

TEST_CASE("SYN-SENT: RST -> connect fails ECONNREFUSED") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  PeerSeg rst = seg(wire::kTcpRst | wire::kTcpAck, 0, syn.tcp.seq + 1, 0);
  rst.src_port = 80;
  rst.dst_port = syn.tcp.src_port;
  h.rx(rst);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnectFailed);
  REQUIRE(ev);
  CHECK(ev->error == ECONNREFUSED);
  CHECK(ev->id == 77);
  CHECK(h.cp.flows() == 0);
  CHECK(h.count_commands(abi::FpCommandKind::kInstall) == 0);
}

TEST_CASE("SYN-SENT: RST not acknowledging our SYN -> ignored") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  PeerSeg rst = seg(wire::kTcpRst | wire::kTcpAck, 0, syn.tcp.seq + 9, 0);
  rst.src_port = 80;
  rst.dst_port = syn.tcp.src_port;
  h.rx(rst);
  CHECK_FALSE(h.last_event(abi::CtlEventKind::kConnectFailed));
  CHECK(h.cp.flows() == 1);
}

TEST_CASE("SYN-SENT: ACK for something we never sent -> RST") {
  Harness h;
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  PeerSeg bad = seg(wire::kTcpSyn | wire::kTcpAck, 5000, syn.tcp.seq + 100, 1000);
  bad.src_port = 80;
  bad.dst_port = syn.tcp.src_port;
  h.rx(bad);
  auto rst = h.out.frames.back().tcp();
  CHECK(rst.tcp.flags == wire::kTcpRst);
  CHECK(rst.tcp.seq == syn.tcp.seq + 100);
  CHECK(h.count_commands(abi::FpCommandKind::kInstall) == 0);
}

TEST_CASE("SYN-SENT: no answer -> SYN retransmitted with back-off, then ETIMEDOUT") {
  Settings s = test_settings();
  s.initial_rto_ms = 1000;
  s.syn_retries = 3;
  Harness h(s);
  uint16_t ctx = h.add_app();
  auto syn = connect_resolved(h, ctx);
  size_t base = h.out.frames.size();
  h.advance(1000);
  CHECK(h.out.frames.size() == base + 1);
  CHECK(h.out.frames.back().tcp().tcp.seq == syn.tcp.seq);
  h.advance(2000);
  CHECK(h.out.frames.size() == base + 2);
  h.advance(4000);
  CHECK(h.out.frames.size() == base + 3);
  CHECK_FALSE(h.last_event(abi::CtlEventKind::kConnectFailed));
  h.advance(8000);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnectFailed);
  REQUIRE(ev);
  CHECK(ev->error == ETIMEDOUT);
  CHECK(h.out.frames.size() == base + 3);
  CHECK(h.cp.flows() == 0);
}

TEST_CASE("CLOSED: connect from a bound port -> the connection uses it") {
  Harness h;
  uint16_t ctx = h.add_app();
  abi::AppRequest b{};
  b.port = 5555;
  REQUIRE(h.request(ctx, abi::AppRequestKind::kBind, b).error == 0);
  abi::AppRequest c{};
  c.ip = kLocalIp;
  c.port = 80;
  c.local_port = 5555;
  auto r = h.request(ctx, abi::AppRequestKind::kConnect, c);
  CHECK(r.error == 0);
  CHECK(r.port == 5555);
  CHECK(h.out.frames.back().tcp().tcp.src_port == 5555);
}

TEST_CASE("ARP: gratuitous reply for an unknown address -> not learned") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpReply, kPeerIp, kPeerMac, 0x0a000009));
  h.connect(ctx, kPeerIp, 80);
  CHECK(h.out.frames.back().is_arp());  // still had to ask
}

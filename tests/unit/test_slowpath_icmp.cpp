// Slow path, ICMP destination unreachable: path MTU discovery, hard errors in SYN-SENT and
// SYN-RECEIVED, soft errors on synchronized connections, and the quote checks of RFC 5927.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"
#include "virtuoso/wire/icmp.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

constexpr uint32_t kRouterIp = kGatewayIp;

struct Quote {
  uint16_t local_port = 80;
  uint16_t remote_port = 40000;
  uint32_t seq = 0;
  uint32_t remote_ip = kPeerIp;
  uint32_t local_ip = kLocalIp;
  uint8_t proto = wire::kIpProtoTcp;
};

// What a router sends back about a segment of ours: the segment's IPv4 header and its first 8
// TCP bytes (ports and sequence number).
std::vector<uint8_t> icmp_unreachable(uint8_t code, uint16_t mtu, const Quote& q) {
  uint8_t orig[wire::kIpv4MinHeaderLen + 8] = {};
  wire::build_ipv4(orig, q.local_ip, q.remote_ip, q.proto, 1460);
  wire::store_be16(orig + 20, q.local_port);
  wire::store_be16(orig + 22, q.remote_port);
  wire::store_be32(orig + 24, q.seq);
  constexpr size_t kIcmpAt = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;
  std::vector<uint8_t> f(kIcmpAt + wire::kIcmpHeaderLen + sizeof orig);
  wire::build_eth(f.data(), {kLocalMac, kGatewayMac, wire::kEtherTypeIpv4});
  size_t msg = wire::build_icmp_unreachable(&f[kIcmpAt], code, mtu, orig, sizeof orig);
  wire::build_ipv4(&f[wire::kEthHeaderLen], kRouterIp, kLocalIp, wire::kIpProtoIcmp, uint16_t(msg));
  return f;
}

// An accepted connection (local port 80, the peer's 40000) with 3000 bytes in flight.
struct Sending {
  Harness h;
  uint16_t ctx;
  uint32_t flow;
  uint32_t una;
  explicit Sending(Settings s = test_settings()) : h(s), ctx(h.add_app()) {
    h.listen(ctx, 80);
    flow = h.accept_one();
    una = h.flow(flow).snd_una;
    h.flow(flow).snd_nxt = una + 3000;
    h.out.clear();
  }
  Quote quote(uint32_t seq) const { return Quote{80, 40000, seq}; }
};


}  // namespace

TEST_CASE("ICMP fragmentation needed quoting unacknowledged data -> path_mss = MTU - 40, kPathMtu",
          "[icmp]") {
  Sending c;
  c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1200, c.quote(c.una + 1460)));
  const abi::FpCommand* cmd = c.h.last_command(abi::FpCommandKind::kPathMtu);
  REQUIRE(cmd);
  CHECK(cmd->flow == c.flow);
  CHECK(c.h.flow(c.flow).path_mss == 1160);
  CHECK(c.h.cp.stats().icmp_errors == 1);
  CHECK(c.h.cp.stats().path_mtu_reductions == 1);
  CHECK_FALSE(c.h.last_event(abi::CtlEventKind::kReset));  // not an error to the app

  SECTION("a larger MTU later -> no change (it only goes down)") {
    c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1400, c.quote(c.una)));
    CHECK(c.h.count_commands(abi::FpCommandKind::kPathMtu) == 1);
    CHECK(c.h.flow(c.flow).path_mss == 1160);
  }
  SECTION("a smaller one -> lowered again") {
    c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1000, c.quote(c.una)));
    CHECK(c.h.count_commands(abi::FpCommandKind::kPathMtu) == 2);
    CHECK(c.h.flow(c.flow).path_mss == 960);
  }
}

TEST_CASE("ICMP fragmentation needed -> the next connections with that peer start at its path MTU, "
          "for ten minutes",
          "[icmp]") {
  Sending c;
  c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1200, c.quote(c.una + 1460)));
  REQUIRE(c.h.flow(c.flow).path_mss == 1160);
  SECTION("a connection accepted later") {
    CHECK(c.h.flow(c.h.accept_one(80, 40001)).path_mss == 1160);
  }
  SECTION("after ten minutes: learned again from the next ICMP") {
    c.h.now += 600'001;
    CHECK(c.h.flow(c.h.accept_one(80, 40001)).path_mss == 0);
  }
  SECTION("an ICMP that failed the RFC 5927 check taught nothing") {
    Sending d;
    d.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1200, d.quote(d.una - 1)));
    CHECK(d.h.flow(d.h.accept_one(80, 40001)).path_mss == 0);
  }
}

TEST_CASE("ICMP fragmentation needed with no MTU (pre-RFC 1191 router) or a tiny one -> 552, MSS 512",
          "[icmp]") {
  Sending c;
  uint16_t mtu = GENERATE(uint16_t(0), uint16_t(68), uint16_t(300));
  c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, mtu, c.quote(c.una)));
  CHECK(c.h.flow(c.flow).path_mss == 512);
}

TEST_CASE("ICMP fragmentation needed not above the MSS in use -> nothing to do", "[icmp]") {
  Sending c;  // the peer's SYN said MSS 1460
  c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1500, c.quote(c.una)));
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kPathMtu));
  CHECK(c.h.flow(c.flow).path_mss == 0);
}

TEST_CASE("ICMP quoting what we did not send or nobody's connection -> ignored and counted (RFC 5927)",
          "[icmp]") {
  Sending c;
  Quote q = c.quote(c.una);
  SECTION("sequence number below snd_una") { q.seq = c.una - 1; }
  SECTION("sequence number past snd_nxt") { q.seq = c.una + 3001; }
  SECTION("another remote port") { q.remote_port = 40001; }
  SECTION("another remote address") { q.remote_ip = kFarIp; }
  SECTION("not from our address") { q.local_ip = kPeerIp; }
  SECTION("not TCP") { q.proto = wire::kIpProtoUdp; }
  c.h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 576, q));
  c.h.rx(icmp_unreachable(wire::kIcmpHostUnreachable, 0, q));
  CHECK(c.h.out.commands.empty());
  CHECK(c.h.flow(c.flow).path_mss == 0);
  CHECK(c.h.cp.stats().icmp_ignored == 2);
  CHECK(c.h.cp.stats().icmp_errors == 0);
}

TEST_CASE("ICMP with a bad checksum or a quote cut short -> not acted on", "[icmp]") {
  Sending c;
  auto f = icmp_unreachable(wire::kIcmpFragNeeded, 576, c.quote(c.una));
  SECTION("bad checksum") { f[wire::kEthHeaderLen + wire::kIpv4MinHeaderLen + 2] ^= 1; }
  SECTION("the quote without the sequence number") {
    f.resize(f.size() - 4);
    wire::build_ipv4(&f[wire::kEthHeaderLen], kRouterIp, kLocalIp, wire::kIpProtoIcmp,
                     uint16_t(f.size() - wire::kEthHeaderLen - wire::kIpv4MinHeaderLen));
  }
  c.h.rx(f);
  CHECK(c.h.out.commands.empty());
  CHECK(c.h.cp.stats().icmp_errors == 0);
}

TEST_CASE("ESTABLISHED: host unreachable is a soft error: the connection goes on, a timeout then "
          "reports EHOSTUNREACH, not ETIMEDOUT",
          "[icmp]") {
  Sending c(rto_settings());
  c.h.rx(icmp_unreachable(wire::kIcmpHostUnreachable, 0, c.quote(c.una)));
  CHECK_FALSE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(c.h.cp.stats().icmp_errors == 1);
  c.h.advance(10 + 200 + 400 + 800 + 1600);
  const abi::CtlEvent* ev = c.h.last_event(abi::CtlEventKind::kReset);
  REQUIRE(ev);
  CHECK(ev->error == EHOSTUNREACH);
}

TEST_CASE("SYN-SENT: unreachable quoting our SYN -> connect fails at once with that code's errno",
          "[icmp]") {
  auto [code, error] = GENERATE(std::pair<uint8_t, int>{wire::kIcmpPortUnreachable, ECONNREFUSED},
                                std::pair<uint8_t, int>{wire::kIcmpHostUnreachable, EHOSTUNREACH},
                                std::pair<uint8_t, int>{wire::kIcmpNetUnreachable, ENETUNREACH});
  Harness h;
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));
  REQUIRE(h.connect(ctx, kPeerIp, 7000, 42).error == 0);
  auto s = h.out.frames.back().tcp();
  Quote q{s.tcp.src_port, 7000, s.tcp.seq};
  SECTION("quoting another sequence number -> ignored, still connecting") {
    q.seq += 1000;
    h.rx(icmp_unreachable(code, 0, q));
    CHECK_FALSE(h.last_event(abi::CtlEventKind::kConnectFailed));
    CHECK(h.cp.stats().icmp_ignored == 1);
  }
  SECTION("quoting the SYN") {
    h.rx(icmp_unreachable(code, 0, q));
    const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnectFailed);
    REQUIRE(ev);
    CHECK(ev->id == 42);
    CHECK(ev->error == error);
    CHECK(h.cp.stats().connect_failures == 1);
  }
}

TEST_CASE("SYN-SENT: fragmentation needed -> remembered, the flow is installed with that path MSS",
          "[icmp]") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.rx(arp_frame(wire::kArpRequest, kPeerIp, kPeerMac, kLocalIp));
  REQUIRE(h.connect(ctx, kPeerIp, 7000).error == 0);
  auto s = h.out.frames.back().tcp();
  h.rx(icmp_unreachable(wire::kIcmpFragNeeded, 1000, Quote{s.tcp.src_port, 7000, s.tcp.seq}));
  CHECK_FALSE(h.last_event(abi::CtlEventKind::kConnectFailed));
  PeerSeg synack = seg(wire::kTcpSyn | wire::kTcpAck, 5000, s.tcp.seq + 1, 29200, 1460);
  synack.src_port = 7000;
  synack.dst_port = s.tcp.src_port;
  h.rx(synack);
  const abi::FpCommand* install = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(install);
  CHECK(h.flow(install->flow).mss == 1460);
  CHECK(h.flow(install->flow).path_mss == 960);
}

TEST_CASE("SYN-RECEIVED: host unreachable quoting our SYN-ACK ends the half-open connection, "
          "port unreachable does not",
          "[icmp]") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.rx(PeerSeg{wire::kTcpSyn, 1000, 0, 65535, 1460, 7, {}, kPeerIp, 40000, 80});
  uint32_t iss = h.out.frames.back().tcp().tcp.seq;
  REQUIRE(h.cp.half_open() == 1);
  h.rx(icmp_unreachable(wire::kIcmpPortUnreachable, 0, Quote{80, 40000, iss}));
  CHECK(h.cp.half_open() == 1);
  h.rx(icmp_unreachable(wire::kIcmpHostUnreachable, 0, Quote{80, 40000, iss + 1}));  // not the SYN-ACK
  CHECK(h.cp.half_open() == 1);
  h.rx(icmp_unreachable(wire::kIcmpHostUnreachable, 0, Quote{80, 40000, iss}));
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.stats().icmp_errors == 1);
}

// Slow path, tenants: addresses and ports per tenant, handshakes inside VXLAN, the switch's
// remote entries, ARP inside a virtual network.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <string>

#include "testing/harness.hpp"
#include "virtuoso/wire/icmp.hpp"
#include "virtuoso/wire/vxlan.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

constexpr uint32_t kVtep = kPeerIp;               // the remote host, on the underlay
constexpr uint32_t kInnerSelf = 0x0ac80001;       // 10.200.0.1: both tenants' app address
constexpr uint32_t kInnerPeer = 0x0ac80002;       // 10.200.0.2: behind the remote VTEP
constexpr wire::MacAddr kInnerPeerMac{0x02, 0xaa, 0, 0, 0, 0x02};

config::TenantConfig tenant(const char* name, uint32_t vni) {
  config::TenantConfig t;
  t.name = name;
  t.vni = vni;
  t.addresses = {{kInnerSelf, 32}};
  t.remotes = {{{0x0ac80000, 24}, kVtep}};
  t.match.socket = name;
  return t;
}

Settings tenant_settings() {
  Settings s = test_settings();
  s.tenants = {tenant("a", 100), tenant("b", 200)};
  return s;
}

// An inner frame wrapped the way the remote VTEP would send it.
std::vector<uint8_t> from_vtep(const std::vector<uint8_t>& inner, uint32_t vni, uint32_t outer_src = kVtep) {
  std::vector<uint8_t> out(inner.size() + wire::kVxlanOverhead);
  std::copy(inner.begin(), inner.end(), out.begin() + long(wire::kVxlanOverhead));
  wire::VxlanOuter o{kPeerMac, kLocalMac, outer_src, kLocalIp, 50000, vni, 1, 0};
  out.resize(wire::build_vxlan_outer(out.data(), o, inner.size()));
  return out;
}

// A peer segment inside the tenant's network, addressed to our tenant MAC.
std::vector<uint8_t> inner_segment(PeerSeg p, uint32_t vni) {
  p.src_ip = kInnerPeer;
  p.src_mac = kInnerPeerMac;
  std::vector<uint8_t> f = peer_frame(p, kInnerSelf);
  wire::MacAddr ours = tenant_mac(vni);
  std::copy(ours.begin(), ours.end(), f.begin());  // Ethernet destination
  return f;
}

wire::VxlanFrame outer_of(const RecordedFrame& fr) {
  auto v = wire::parse_vxlan_frame(fr.bytes.data(), fr.bytes.size(), true);
  REQUIRE(v.error == wire::VxlanError::kOk);
  return v.f;
}

wire::TcpFrame inner_tcp(const wire::VxlanFrame& v) {
  auto r = wire::parse_tcp_frame(v.inner, v.inner_len, true);
  REQUIRE(r.error == wire::FrameError::kOk);
  return r.f;
}

}  // namespace

TEST_CASE("tenants: a SYN inside VXLAN reaches only its own tenant's listener, answered inside VXLAN") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  uint16_t b = h.add_app(2);
  h.listen(a, 80);
  h.listen(b, 80);  // the same port in another tenant: its own port space
  PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1410, 7, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(syn, 200), 200));
  REQUIRE(h.out.frames.size() == 1);
  auto v = outer_of(h.out.frames[0]);
  CHECK(v.vni == 200);
  CHECK(v.outer_dst_ip == kVtep);
  CHECK(v.outer_src_ip == kLocalIp);
  CHECK(v.outer_dst_mac == kPeerMac);
  CHECK(v.udp_src_port >= wire::kVxlanSrcPortMin);
  auto f = inner_tcp(v);
  CHECK(f.tcp.flags == (wire::kTcpSyn | wire::kTcpAck));
  CHECK(f.ip.src == kInnerSelf);
  CHECK(f.ip.dst == kInnerPeer);
  CHECK(f.eth.dst == kInnerPeerMac);
  CHECK(f.eth.src == tenant_mac(200));
  CHECK(f.tcp.opts.mss == 1410);  // 1500 less IPv4, TCP and the 50 bytes of VXLAN

  // The handshake completes into tenant b's context, with the tunnel in the flow entry.
  PeerSeg ack{wire::kTcpAck, 1001, f.tcp.seq + 1, 1000, 0, -1, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(ack, 200), 200));
  const abi::FpCommand* install = h.last_command(abi::FpCommandKind::kInstall);
  REQUIRE(install);
  CHECK(install->ctx == b);
  const abi::FlowEntry& e = h.flow(install->flow);
  CHECK(e.vni == 200);
  CHECK(e.vtep_ip == kVtep);
  CHECK(e.local_ip == kInnerSelf);
  CHECK(e.remote_ip == kInnerPeer);
  CHECK(e.mss == 1410);
  CHECK(std::equal(kInnerPeerMac.begin(), kInnerPeerMac.end(), e.inner_remote_mac));
  CHECK(std::equal(kPeerMac.begin(), kPeerMac.end(), e.remote_mac));
  CHECK(e.vxlan_src_port == v.udp_src_port);  // the same outer port from the slow and fast paths
}

TEST_CASE("tenants: unknown VNI, wrong VTEP and addresses not the tenant's are dropped and counted") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  h.listen(a, 80);
  PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1410, 7, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(syn, 300), 300));  // no tenant has VNI 300
  CHECK(h.cp.stats().vxlan_dropped == 1);
  h.rx(from_vtep(inner_segment(syn, 100), 100, 0x0a000009));  // a VTEP the switch does not name
  CHECK(h.cp.stats().switch_no_entry == 1);
  CHECK(h.out.frames.empty());
  CHECK(h.cp.half_open() == 0);
}

TEST_CASE("tenants: ARP inside the virtual network is answered for the tenant's address") {
  Harness h(tenant_settings());
  std::vector<uint8_t> req = arp_frame(wire::kArpRequest, kInnerPeer, kInnerPeerMac, kInnerSelf);
  h.rx(from_vtep(req, 100));
  REQUIRE(h.out.frames.size() == 1);
  auto v = outer_of(h.out.frames[0]);
  CHECK(v.vni == 100);
  auto arp = wire::parse_arp(v.inner + wire::kEthHeaderLen, v.inner_len - wire::kEthHeaderLen);
  REQUIRE(arp);
  CHECK(arp->op == wire::kArpReply);
  CHECK(arp->sender_ip == kInnerSelf);
  CHECK(arp->sender_mac == tenant_mac(100));
  CHECK(arp->target_ip == kInnerPeer);
  CHECK(h.cp.stats().inner_arp_replies == 1);
  // Nobody answers for an address the tenant does not have.
  h.rx(from_vtep(arp_frame(wire::kArpRequest, kInnerPeer, kInnerPeerMac, kInnerSelf + 5), 100));
  CHECK(h.out.frames.size() == 1);
}

TEST_CASE("tenants: connect resolves the VTEP on the underlay, the peer inside the tunnel, then sends the SYN") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  auto r = h.connect(a, kInnerPeer, 9100);
  REQUIRE(r.error == 0);
  CHECK(r.ip == kInnerSelf);
  REQUIRE(h.out.frames.size() == 1);
  CHECK(h.out.frames[0].is_arp());  // who has the VTEP, on the underlay
  CHECK(h.out.frames[0].arp().target_ip == kVtep);
  h.rx(arp_frame(wire::kArpReply, kVtep, kPeerMac, kLocalIp));
  REQUIRE(h.out.frames.size() == 2);
  auto v = outer_of(h.out.frames[1]);  // who has the peer, inside the tunnel
  auto arp = wire::parse_arp(v.inner + wire::kEthHeaderLen, v.inner_len - wire::kEthHeaderLen);
  REQUIRE(arp);
  CHECK(arp->op == wire::kArpRequest);
  CHECK(arp->target_ip == kInnerPeer);
  CHECK(arp->sender_ip == kInnerSelf);
  std::vector<uint8_t> reply(60);
  wire::ArpPacket rp{wire::kArpReply, kInnerPeerMac, kInnerPeer, tenant_mac(100), kInnerSelf};
  wire::build_arp_frame(reply.data(), tenant_mac(100), kInnerPeerMac, rp);
  h.rx(from_vtep(reply, 100));
  REQUIRE(h.out.frames.size() == 3);
  auto syn = inner_tcp(outer_of(h.out.frames[2]));
  CHECK(syn.tcp.flags & wire::kTcpSyn);
  CHECK(syn.eth.dst == kInnerPeerMac);
  CHECK(syn.ip.dst == kInnerPeer);
  CHECK(syn.tcp.dst_port == 9100);
}

TEST_CASE("tenants: an inner peer that never answers ARP fails the connect with EHOSTUNREACH") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  REQUIRE(h.connect(a, kInnerPeer, 9100).error == 0);
  h.rx(arp_frame(wire::kArpReply, kVtep, kPeerMac, kLocalIp));
  h.advance(10000);
  const abi::CtlEvent* ev = h.last_event(abi::CtlEventKind::kConnectFailed);
  REQUIRE(ev);
  CHECK(ev->error == EHOSTUNREACH);
  CHECK(h.cp.flows() == 0);
}

TEST_CASE("tenants: apps use only their tenant's addresses and reach only the switch's entries") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  abi::AppRequest bind{};
  bind.ip = kLocalIp;  // the host's own address
  bind.port = 5000;
  CHECK(h.request(a, abi::AppRequestKind::kBind, bind).error == EADDRNOTAVAIL);
  bind.ip = kInnerSelf;
  CHECK(h.request(a, abi::AppRequestKind::kBind, bind).error == 0);
  CHECK(h.cp.stats().tenant_refusals == 1);
  CHECK(h.connect(a, 0x0b000001, 80).error == ENETUNREACH);  // no switch entry holds 11.0.0.1
  CHECK(h.cp.stats().switch_no_entry == 1);
  // A plain app keeps the host's address.
  Harness plain;
  uint16_t p = plain.add_app();
  bind.ip = kLocalIp;
  CHECK(plain.request(p, abi::AppRequestKind::kBind, bind).error == 0);
  CHECK(plain.cp.default_ip(p) == kLocalIp);
  CHECK(h.cp.default_ip(a) == kInnerSelf);
}

namespace {
// Tenant a (VNI 100) with an established connection from 10.200.0.2 behind kVtep to its port 80.
struct Accepted {
  Harness h{tenant_settings()};
  uint16_t a = h.add_app(1);
  uint32_t flow = 0;
  Accepted() {
    h.listen(a, 80);
    flow = accept(40000);
  }
  // One more connection through the tunnel, from the peer's port `peer_port`.
  uint32_t accept(uint16_t peer_port) {
    PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1410, 7, {}, 0, peer_port, 80};
    h.rx(from_vtep(inner_segment(syn, 100), 100));
    uint32_t iss = inner_tcp(outer_of(h.out.frames.back())).tcp.seq;
    PeerSeg ack{wire::kTcpAck, 1001, iss + 1, 1000, 0, -1, {}, 0, peer_port, 80};
    h.rx(from_vtep(inner_segment(ack, 100), 100));
    uint32_t id = h.last_command(abi::FpCommandKind::kInstall)->flow;
    h.out.clear();
    return id;
  }
  const std::vector<config::TenantRemote>& remotes() const { return h.cp.settings().tenants[0].remotes; }
};
}  // namespace

TEST_CASE("switch: an entry added at run time routes connects, removing it refuses them again") {
  Harness h(tenant_settings());
  uint16_t a = h.add_app(1);
  CHECK(h.connect(a, 0x0ac90005, 80).error == ENETUNREACH);  // 10.201.0.5: no entry yet
  CHECK(h.cp.switch_add("a", "10.201.0.0/16", "10.0.0.7").empty());
  REQUIRE(h.connect(a, 0x0ac90005, 80).error == 0);
  REQUIRE(h.out.frames.back().is_arp());
  CHECK(h.out.frames.back().arp().target_ip == 0x0a000007);  // the new VTEP, on the underlay
  CHECK(h.cp.switch_remove("a", "10.201.0.0/16").empty());
  CHECK(h.last_event(abi::CtlEventKind::kConnectFailed)->error == EHOSTUNREACH);  // its path went
  CHECK(h.connect(a, 0x0ac90005, 81).error == ENETUNREACH);
  CHECK(h.cp.flows() == 0);
}

TEST_CASE("switch: changes of entries a connection does not use leave it alone") {
  Accepted c;
  CHECK(c.h.cp.switch_add("a", "10.201.0.0/16", "10.0.0.7").empty());
  CHECK(c.h.cp.switch_add("a", "10.200.0.128/25", "10.0.0.8").empty());  // not the peer's half
  CHECK(c.h.cp.switch_remove("a", "10.201.0.0/16").empty());
  CHECK(c.h.cp.switch_add("b", "10.200.0.0/24", "10.0.0.9").empty());     // another tenant's table
  CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kRemove));
  CHECK(c.h.cp.conn_state(c.flow) == ConnState::kEstablished);
  CHECK(c.h.cp.stats().switch_flows_ended == 0);
  CHECK(c.remotes().size() == 2);
}

TEST_CASE("switch: the entry a connection uses removed, or moved to another VTEP -> it ends with "
          "EHOSTUNREACH and a RST the old way") {
  Accepted c;
  SECTION("removed") { CHECK(c.h.cp.switch_remove("a", "10.200.0.0/24").empty()); }
  SECTION("moved") { CHECK(c.h.cp.switch_add("a", "10.200.0.0/24", "10.0.0.7").empty()); }
  SECTION("a longer prefix for the peer elsewhere") {
    CHECK(c.h.cp.switch_add("a", "10.200.0.2/32", "10.0.0.7").empty());
  }
  REQUIRE(c.h.last_command(abi::FpCommandKind::kRemove));
  REQUIRE(c.h.last_event(abi::CtlEventKind::kReset));
  CHECK(c.h.last_event(abi::CtlEventKind::kReset)->error == EHOSTUNREACH);
  REQUIRE_FALSE(c.h.out.frames.empty());
  auto v = outer_of(c.h.out.frames.back());
  CHECK(v.outer_dst_ip == kVtep);
  CHECK((inner_tcp(v).tcp.flags & wire::kTcpRst));
  CHECK(c.h.cp.stats().switch_flows_ended == 1);
}

TEST_CASE("switch: bad requests name what is wrong and change nothing") {
  Accepted c;
  CHECK(c.h.cp.switch_add("nobody", "10.201.0.0/16", "10.0.0.7") == "no tenant is named 'nobody'");
  CHECK(c.h.cp.switch_add("a", "10.201.0.1/16", "10.0.0.7").find("host bits") != std::string::npos);
  CHECK(c.h.cp.switch_add("a", "10.201.0.0", "10.0.0.7").find("not an address block") != std::string::npos);
  CHECK(c.h.cp.switch_add("a", "127.0.0.0/8", "10.0.0.7").find("overlaps") != std::string::npos);
  CHECK(c.h.cp.switch_add("a", "10.201.0.0/16", "224.0.0.1").find("not a unicast") != std::string::npos);
  CHECK(c.h.cp.switch_remove("a", "10.201.0.0/16") == "tenant a has no switch entry for 10.201.0.0/16");
  CHECK(c.remotes().size() == 1);
  CHECK(c.h.cp.conn_state(c.flow) == ConnState::kEstablished);
  Harness plain;
  CHECK(plain.cp.switch_add("a", "10.201.0.0/16", "10.0.0.7") == "no tenants are configured (plain mode)");
}

namespace {
// A ping from the peer inside tenant network `vni`, to `dst`.
std::vector<uint8_t> inner_ping(uint32_t dst, uint32_t vni, uint16_t seq) {
  const std::string data = "ping data 0123456789";
  std::vector<uint8_t> f(wire::kEthHeaderLen + wire::kIpv4MinHeaderLen + wire::kIcmpHeaderLen + data.size());
  wire::build_eth(f.data(), {tenant_mac(vni), kInnerPeerMac, wire::kEtherTypeIpv4});
  uint8_t* icmp = f.data() + wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;
  std::copy(data.begin(), data.end(), icmp + wire::kIcmpHeaderLen);
  size_t n = wire::build_icmp_echo(icmp, true, 0x77, seq, data.size());
  wire::build_ipv4(f.data() + wire::kEthHeaderLen, kInnerPeer, dst, wire::kIpProtoIcmp, uint16_t(n));
  return f;
}
}  // namespace

TEST_CASE("tenants: a ping of the tenant's address from behind its remote entry -> answered inside VXLAN") {
  Harness h(tenant_settings());
  h.rx(from_vtep(inner_ping(kInnerSelf, 200, 5), 200));
  REQUIRE(h.out.frames.size() == 1);
  auto v = outer_of(h.out.frames[0]);
  CHECK(v.vni == 200);
  CHECK(v.outer_dst_ip == kVtep);
  auto eth = wire::parse_eth(v.inner, v.inner_len);
  REQUIRE(eth);
  CHECK(eth->dst == kInnerPeerMac);
  CHECK(eth->src == tenant_mac(200));
  auto ip = wire::parse_ipv4(v.inner + wire::kEthHeaderLen, v.inner_len - wire::kEthHeaderLen);
  REQUIRE(ip.error == wire::Ipv4Error::kOk);
  CHECK(ip.hdr.src == kInnerSelf);
  CHECK(ip.hdr.dst == kInnerPeer);
  auto e = wire::parse_icmp_echo(v.inner + wire::kEthHeaderLen + 20, ip.hdr.total_len - 20u);
  REQUIRE(e.error == wire::IcmpError::kOk);
  CHECK_FALSE(e.echo.request);
  CHECK(e.echo.id == 0x77);
  CHECK(e.echo.seq == 5);
  CHECK(std::string(e.echo.data, e.echo.data + e.echo.data_len) == "ping data 0123456789");
  CHECK(h.cp.stats().inner_echo_replies == 1);
}

TEST_CASE("tenants: pings from an unknown VTEP or of an address not the tenant's are not answered") {
  Harness h(tenant_settings());
  h.rx(from_vtep(inner_ping(kInnerSelf, 100, 1), 100, 0x0a000009));
  CHECK(h.cp.stats().switch_no_entry == 1);
  h.rx(from_vtep(inner_ping(0x0ac80063, 100, 2), 100));  // 10.200.0.99: not tenant a's
  CHECK(h.cp.stats().vxlan_dropped == 1);
  CHECK(h.out.frames.empty());
  CHECK(h.cp.stats().inner_echo_replies == 0);
}

// --- [tenant.limits] ---

namespace {
Settings limited(unsigned flows, unsigned listen_ports, unsigned shm_mb) {
  Settings s = tenant_settings();
  s.tenants[0].limits = {flows, listen_ports, shm_mb};
  return s;
}
}  // namespace

TEST_CASE("limits: max_flows -> the tenant's next connect gets EAGAIN and its listeners drop SYNs, "
          "other tenants carry on") {
  Harness h(limited(2, 0, 0));
  uint16_t a = h.add_app(1);
  uint16_t b = h.add_app(2);
  h.rx(arp_frame(wire::kArpReply, kVtep, kPeerMac, kLocalIp));
  CHECK(h.connect(a, kInnerPeer, 9100).error == 0);
  CHECK(h.connect(a, kInnerPeer, 9101).error == 0);
  CHECK(h.connect(a, kInnerPeer, 9102).error == EAGAIN);
  CHECK(h.cp.stats().tenant_limit_refusals == 1);
  CHECK(h.connect(b, kInnerPeer, 9100).error == 0);  // tenant b has no limit
  h.listen(a, 80);
  h.out.clear();
  PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1410, 7, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(syn, 100), 100));
  CHECK(h.out.frames.empty());  // no SYN-ACK: the peer's retransmission tries again
  CHECK(h.cp.half_open() == 0);
  CHECK(h.cp.stats().tenant_limit_refusals == 2);
}

TEST_CASE("limits: max_listen_ports -> listen on one port more gets ENOBUFS, other tenants carry on") {
  Harness h(limited(0, 1, 0));
  uint16_t a = h.add_app(1);
  uint16_t b = h.add_app(2);
  h.listen(a, 80);
  abi::AppRequest r{};
  r.port = 81;
  r.backlog = 16;
  CHECK(h.request(a, abi::AppRequestKind::kListen, r).error == ENOBUFS);
  abi::AppRequest bind{};
  bind.port = 82;
  REQUIRE(h.request(a, abi::AppRequestKind::kBind, bind).error == 0);
  r.port = 82;  // bound first, then listen: the same limit
  CHECK(h.request(a, abi::AppRequestKind::kListen, r).error == ENOBUFS);
  CHECK(h.cp.stats().tenant_limit_refusals == 2);
  h.listen(b, 81);
}

TEST_CASE("limits: max_shm_mb -> apps of the tenant beyond it are refused with ENOMEM") {
  Settings s = limited(0, 0, 0);
  uint64_t region = s.app_layout.total_bytes();
  s.tenants[0].limits.max_shm_mb = unsigned((2 * region + (1 << 20) - 1) >> 20);  // room for 2 or more
  Harness h(s);
  uint64_t fit = (uint64_t(s.tenants[0].limits.max_shm_mb) << 20) / region;
  REQUIRE(fit >= 2);
  for (uint64_t i = 0; i < fit; ++i) {
    REQUIRE(h.cp.admit_context(1, region) == 0);
    h.add_app(1);
  }
  CHECK(h.cp.admit_context(1, region) == ENOMEM);
  CHECK(h.cp.admit_context(2, region) == 0);  // tenant b has no limit
  CHECK(h.cp.stats().tenant_limit_refusals == 1);
}

namespace {
// A router's "fragmentation needed" about one of our VXLAN datagrams to `vtep`: the outer IPv4
// header and the UDP header it quotes.
std::vector<uint8_t> tunnel_frag_needed(uint32_t vtep, uint16_t mtu) {
  uint8_t orig[wire::kIpv4MinHeaderLen + 8] = {};
  wire::build_ipv4(orig, kLocalIp, vtep, wire::kIpProtoUdp, 1500 - wire::kIpv4MinHeaderLen);
  wire::store_be16(orig + 20, 50123);
  wire::store_be16(orig + 22, wire::kVxlanPort);
  constexpr size_t kIcmpAt = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;
  std::vector<uint8_t> f(kIcmpAt + wire::kIcmpHeaderLen + sizeof orig);
  wire::build_eth(f.data(), {kLocalMac, kGatewayMac, wire::kEtherTypeIpv4});
  size_t msg = wire::build_icmp_unreachable(&f[kIcmpAt], wire::kIcmpFragNeeded, mtu, orig, sizeof orig);
  wire::build_ipv4(&f[wire::kEthHeaderLen], kGatewayIp, kLocalIp, wire::kIpProtoIcmp, uint16_t(msg));
  return f;
}
}  // namespace

TEST_CASE("path MTU: fragmentation needed about our VXLAN datagrams to a VTEP -> its connections "
          "take MTU - 50 - 40 as their MSS, other VTEPs' are left alone") {
  Accepted c;
  SECTION("the connection's VTEP") {
    c.h.rx(tunnel_frag_needed(kVtep, 1400));
    const abi::FpCommand* cmd = c.h.last_command(abi::FpCommandKind::kPathMtu);
    REQUIRE(cmd);
    CHECK(cmd->flow == c.flow);
    CHECK(c.h.flow(c.flow).path_mss == 1400 - 50 - 40);
    CHECK(c.h.cp.stats().path_mtu_reductions == 1);
    CHECK(c.h.cp.stats().icmp_errors == 1);
  }
  SECTION("another VTEP") {
    c.h.rx(tunnel_frag_needed(kVtep + 1, 1400));
    CHECK_FALSE(c.h.last_command(abi::FpCommandKind::kPathMtu));
    CHECK(c.h.cp.stats().icmp_ignored == 1);
  }
  SECTION("a tiny MTU -> the floor of 552, inner MSS 462") {
    c.h.rx(tunnel_frag_needed(kVtep, 300));
    CHECK(c.h.flow(c.flow).path_mss == 552 - 50 - 40);
  }
}

TEST_CASE("path MTU: a VTEP's learned MTU holds for connections opened through it later, until it "
          "expires, a connection to another VTEP starts at the full MTU") {
  Accepted c;
  c.h.rx(tunnel_frag_needed(kVtep, 1400));
  uint32_t later = c.accept(40001);
  CHECK(c.h.flow(later).path_mss == 1400 - 50 - 40);
  CHECK(c.h.cp.stats().path_mtu_reductions == 1);  // learned once, not a reduction of the new one

  SECTION("a connect through the same VTEP starts there too") {
    auto r = c.h.connect(c.a, kInnerPeer, 9100);
    REQUIRE(r.error == 0);
    c.h.rx(arp_frame(wire::kArpReply, kVtep, kPeerMac, kLocalIp));
    std::vector<uint8_t> reply(60);
    wire::ArpPacket rp{wire::kArpReply, kInnerPeerMac, kInnerPeer, tenant_mac(100), kInnerSelf};
    wire::build_arp_frame(reply.data(), tenant_mac(100), kInnerPeerMac, rp);
    c.h.rx(from_vtep(reply, 100));
    auto syn = inner_tcp(outer_of(c.h.out.frames.back()));
    REQUIRE((syn.tcp.flags & wire::kTcpSyn));
    PeerSeg synack{uint8_t(wire::kTcpSyn | wire::kTcpAck), 5000, syn.tcp.seq + 1, 65535, 1410, 7, {},
                   0, 9100, syn.tcp.src_port};
    c.h.rx(from_vtep(inner_segment(synack, 100), 100));
    const abi::FpCommand* inst = c.h.last_command(abi::FpCommandKind::kInstall);
    REQUIRE(inst);
    CHECK(c.h.flow(inst->flow).path_mss == 1400 - 50 - 40);
  }
  SECTION("ten minutes later the entry has expired: full MTU again") {
    c.h.now += 600'001;
    CHECK(c.h.flow(c.accept(40002)).path_mss == 0);
  }
}

TEST_CASE("fork: a child that became another tenant's app cannot take its parent's connections, "
          "one of the same tenant can") {
  Accepted c;
  uint32_t hold = c.h.cp.fork_hold(c.a);
  uint16_t origin = 0;
  SECTION("another tenant's context -> EACCES, counted; the connection stays the parent's") {
    uint16_t b = c.h.add_app(2);
    CHECK(c.h.cp.inherit_hold(b, hold, origin) == EACCES);
    CHECK(c.h.cp.stats().tenant_refusals == 1);
    c.h.cp.hold_link_gone(hold, c.h.now);  // the child's shim closes the refused link
    CHECK(c.h.count_commands(abi::FpCommandKind::kFin) == 0);
    CHECK(c.h.count_commands(abi::FpCommandKind::kRemove) == 0);
  }
  SECTION("a plain (host) context -> EACCES too") {
    uint16_t host = c.h.add_app(0);
    CHECK(c.h.cp.inherit_hold(host, hold, origin) == EACCES);
  }
  SECTION("the same tenant's context -> taken, from the parent") {
    uint16_t a2 = c.h.add_app(1);
    CHECK(c.h.cp.inherit_hold(a2, hold, origin) == 0);
    CHECK(origin == c.a);
    CHECK(c.h.cp.stats().tenant_refusals == 0);
  }
  SECTION("a hold asked for on the hold link keeps the tenant (fork of a fork, or exec)") {
    uint32_t again = c.h.cp.fork_hold_from_link(hold);
    REQUIRE(again != 0);
    CHECK(c.h.cp.inherit_hold(c.h.add_app(2), again, origin) == EACCES);
  }
}

TEST_CASE("congestion control: a tenant's own choice for its flows, the host's default for the others") {
  Settings s = tenant_settings();
  s.tenants[0].congestion_control = config::CongestionAlgo::kReno;
  Harness h(s);
  uint16_t a = h.add_app(1);
  h.listen(a, 80);
  PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1410, 7, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(syn, 100), 100));
  uint32_t iss = inner_tcp(outer_of(h.out.frames.back())).tcp.seq;
  PeerSeg ack{wire::kTcpAck, 1001, iss + 1, 1000, 0, -1, {}, 0, 40000, 80};
  h.rx(from_vtep(inner_segment(ack, 100), 100));
  uint16_t plain = h.add_app(0);
  h.listen(plain, 81);
  h.accept_one(81, 40001);
  std::vector<std::string> algos;
  for (const ConnReport& r : h.cp.conn_reports()) algos.emplace_back(r.congestion);
  std::sort(algos.begin(), algos.end());
  CHECK(algos == std::vector<std::string>{"cubic", "reno"});
}

// Fast-path VXLAN (RFC 7348): tunnelled segments in and out, and each reason a frame is refused.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

#include "support/fake_fastpath.hpp"
#include "support/vxlan_frames.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/udp.hpp"
#include "virtuoso/wire/vxlan.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using test::inner_segment;
using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpRst;

namespace {

constexpr uint32_t kVni = 42;         // tenant 1's network, flow 0's
constexpr uint32_t kOtherVni = 43;    // tenant 2's: the same inner addresses mean other hosts there
constexpr uint32_t kUnknownVni = 77;  // no tenant's
constexpr uint32_t kVtep = 0xc0000202;      // 192.0.2.2: the peer's tunnel endpoint
constexpr uint32_t kStranger = 0xc0000203;  // 192.0.2.3: some other VTEP
constexpr uint16_t kSrcPort = 51234;        // flow 0's outer UDP source port
constexpr uint16_t kPeerSrcPort = 60001;    // the peer VTEP's, towards us

// Offsets in a frame with a 20-byte outer IPv4 header.
constexpr size_t kIpTotalLenAt = 16;
constexpr size_t kIpChecksumAt = 24;
constexpr size_t kIpDstAt = 30;
constexpr size_t kUdpAt = 34;
constexpr size_t kVxlanAt = 42;

// Flow 0 is tenant 1's, inside VNI 42 through kVtep; VNI 43 is tenant 2's. Our next seq 1000,
// the peer's 5000, MSS 1000.
void establish_tunnelled(FastpathHarness& h, uint32_t remote_ip = FastpathHarness::kRemoteIp) {
  h.add_tenant(kOtherVni, 2);
  h.add_tenant(kVni, 1);
  h.vni = kVni;
  h.tenant = 1;
  h.vtep_ip = kVtep;
  h.vxlan_src_port = kSrcPort;
  h.establish(1000, 5000, 65535, 1000, remote_ip);
}

// An inner IPv4 datagram of protocol `proto` (a sound header, checksum included) carrying `body`.
std::vector<uint8_t> inner_datagram(FastpathHarness& h, uint8_t proto, const std::string& body) {
  auto inner = inner_segment(h, 5000, 1000, kTcpAck, body);
  inner[wire::kEthHeaderLen + 9] = proto;
  wire::store_be16(&inner[wire::kEthHeaderLen + 10], 0);
  wire::store_be16(&inner[wire::kEthHeaderLen + 10],
                   wire::internet_checksum(&inner[wire::kEthHeaderLen], 20));
  return inner;
}

// `inner` as VTEP `vtep` sends it to us inside VNI `vni` (no outer UDP checksum).
std::vector<uint8_t> encapsulate(const std::vector<uint8_t>& inner, uint32_t vni,
                                 uint32_t vtep = kVtep) {
  return test::encapsulate(inner, vni, vtep, kPeerSrcPort);
}

std::vector<uint8_t> tunnelled(FastpathHarness& h, uint32_t seq, uint32_t ack, uint8_t flags,
                               const std::string& payload = "", uint32_t vni = kVni,
                               uint32_t vtep = kVtep) {
  return encapsulate(inner_segment(h, seq, ack, flags, payload), vni, vtep);
}

void receive(FastpathHarness& h, std::vector<uint8_t> frame) {
  h.port.rx.push_back(std::move(frame));
  h.dp->poll_once();
}

// After changing the outer IPv4 header on purpose, so that only the intended fault remains.
void refresh_ip_checksum(std::vector<uint8_t>& f) {
  wire::store_be16(&f[kIpChecksumAt], 0);
  wire::store_be16(&f[kIpChecksumAt], wire::internet_checksum(&f[wire::kEthHeaderLen], 20));
}

// One frame the fast path sent inside VXLAN, taken apart with every checksum verified.
struct TunnelledOut {
  wire::VxlanFrame outer;  // its `inner` pointer is not kept
  wire::TcpFrame inner;    // nor its `payload`
  std::string payload;
};

std::vector<TunnelledOut> take_tunnelled(FastpathHarness& h) {
  std::vector<TunnelledOut> out;
  for (auto& fr : h.port.sent) {
    auto v = wire::parse_vxlan_frame(fr.data(), fr.size(), true);
    REQUIRE(v.error == wire::VxlanError::kOk);
    auto t = wire::parse_tcp_frame(v.f.inner, v.f.inner_len, true);
    REQUIRE(t.error == wire::FrameError::kOk);
    CHECK(v.f.inner_len == wire::kEthHeaderLen + t.f.ip.total_len);  // nothing after the segment
    out.push_back({v.f, t.f, std::string(t.f.payload, t.f.payload + t.f.payload_len)});
  }
  h.port.sent.clear();
  return out;
}

// The outer headers flow 0's frames must carry, and the inner addresses of its virtual network.
void check_tunnel_of_flow0(const TunnelledOut& o) {
  CHECK(o.outer.vni == kVni);
  CHECK(o.outer.outer_src_mac == FastpathHarness::kLocalMac);
  CHECK(o.outer.outer_dst_mac == FastpathHarness::kRemoteMac);  // the underlay next hop
  CHECK(o.outer.outer_src_ip == FastpathHarness::kLocalIp);
  CHECK(o.outer.outer_dst_ip == kVtep);
  CHECK(o.outer.udp_src_port == kSrcPort);
  CHECK(o.inner.eth.src == FastpathHarness::kInnerLocalMac);
  CHECK(o.inner.eth.dst == FastpathHarness::kInnerRemoteMac);
  CHECK(o.inner.ip.src == FastpathHarness::kLocalIp);
  CHECK(o.inner.ip.dst == FastpathHarness::kRemoteIp);
  CHECK(o.inner.tcp.src_port == FastpathHarness::kLocalPort);
  CHECK(o.inner.tcp.dst_port == FastpathHarness::kRemotePort);
}

uint64_t drops(const abi::FpStats& s) {
  return s.drop_bad_eth + s.drop_bad_ip + s.drop_bad_tcp + s.drop_vxlan_outer + s.drop_vxlan_vni +
         s.drop_vxlan_inner + s.drop_punt_full;
}

// Nothing of the frame reached flow 0: no bytes, no TCP input, no answer.
void check_flow0_untouched(FastpathHarness& h) {
  CHECK(h.slot().rx_head == 0);
  CHECK(h.flow().rcv_nxt == 5000);
  CHECK(h.dp->stats().rx_segments == 0);
  CHECK(h.port.sent.empty());
}

// The frame was refused by exactly one drop counter, `counter`, and neither punted nor delivered.
void check_dropped_as(FastpathHarness& h, uint64_t abi::FpStats::*counter) {
  const abi::FpStats& s = h.dp->stats();
  CHECK(s.*counter == 1);
  CHECK(drops(s) == 1);
  CHECK(h.punted() == 0);
  check_flow0_untouched(h);
}

// Flow 1 in slot 4: a plain (VNI 0) flow, iss and irs as given, at the harness's addresses.
void install_plain(FastpathHarness& h, uint32_t remote_ip, uint16_t lport, uint16_t rport,
                   uint32_t iss, uint32_t irs) {
  abi::FlowEntry& e = *h.ctrl.flow(1);
  e = {};
  e.local_ip = FastpathHarness::kLocalIp;
  e.remote_ip = remote_ip;
  e.local_port = lport;
  e.remote_port = rport;
  std::memcpy(e.remote_mac, FastpathHarness::kRemoteMac.data(), 6);
  e.mss = 1000;
  e.ctx = 0;
  e.slot = 4;
  e.gen = 7;
  e.init_snd_una = iss;
  e.init_rcv_nxt = irs;
  e.init_snd_wnd = 65535;
  e.init_rto_us = 1'000'000;
  *h.view.slot(4) = {};
  h.view.slot(4)->gen = 7;
  h.command({uint16_t(abi::FpCommandKind::kInstall), 0, 1, {}, 0, 0});
}

std::string read_slot(FastpathHarness& h, uint32_t s) {
  abi::FlowSlot& fs = *h.view.slot(s);
  std::string out(fs.rx_head - fs.rx_tail, '\0');
  shm::ring_read(h.view.rx_buf(s), h.alayout.rx_size, fs.rx_tail, out.data(), out.size());
  fs.rx_tail = fs.rx_head;
  return out;
}

void send_slot(FastpathHarness& h, uint32_t s, const std::string& bytes) {
  abi::FlowSlot& fs = *h.view.slot(s);
  shm::ring_write(h.view.tx_buf(s), h.alayout.tx_size, fs.tx_head, bytes.data(), bytes.size());
  fs.tx_head += uint32_t(bytes.size());
  h.app_cmd(abi::AppCmdKind::kTxBump, s);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char('a' + (i * 7) % 26);
  return s;
}

// The frame went to the slow path exactly as received, outer headers and all, and nothing else did.
void check_punted_whole(FastpathHarness& h, const std::vector<uint8_t>& f) {
  auto punted = h.punted_frames();
  REQUIRE(punted.size() == 1);
  CHECK(punted[0] == f);
}

}  // namespace

// --- transmit ---

TEST_CASE(
    "vxlan tx: tunnelled flow's data -> VXLAN to its VTEP, VNI and port, the app's bytes in it",
    "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  std::string data = pattern(2500);
  h.app_send(data);
  auto out = take_tunnelled(h);
  REQUIRE(out.size() == 3);
  std::string joined;
  for (auto& o : out) {
    check_tunnel_of_flow0(o);
    CHECK(o.payload.size() <= 1000);
    joined += o.payload;
  }
  CHECK(joined == data);
  CHECK(out[0].inner.tcp.seq == 1000);
  CHECK(out[0].inner.tcp.ack == 5000);
  CHECK(out[2].inner.tcp.seq == 3000);
  CHECK(h.dp->stats().vxlan_tx == 3);
  CHECK(h.dp->stats().tx_data_segments == 3);
}

TEST_CASE("vxlan tx: tunnelled segment -> outer headers plus the inner frame, unpadded and whole",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  h.app_send("x");
  REQUIRE(h.port.sent.size() == 1);
  const auto& fr = h.port.sent[0];
  // 50 outer bytes, then the 54-byte inner frame with its one byte of payload: no 60-byte padding
  // inside, and the outer lengths cover exactly that.
  CHECK(fr.size() == wire::kVxlanOverhead + wire::kTcpFrameOverhead + 1);
  CHECK(wire::load_be16(&fr[kIpTotalLenAt]) == fr.size() - wire::kEthHeaderLen);
  CHECK(wire::load_be16(&fr[kUdpAt + 4]) == fr.size() - kUdpAt);
  CHECK(wire::load_be16(&fr[kUdpAt + 2]) == wire::kVxlanPort);
  CHECK(fr[kVxlanAt] == wire::kVxlanFlagI);
}

// --- receive: delivered ---

TEST_CASE("vxlan rx: in-order segment from the flow's VTEP -> bytes to the app, ACK inside VXLAN",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  receive(h, tunnelled(h, 5000, 1000, kTcpAck | kTcpPsh, "hello"));
  CHECK(h.app_read_all() == "hello");
  CHECK(h.flow().rcv_nxt == 5005);
  CHECK(h.dp->stats().vxlan_rx == 1);
  CHECK(h.dp->stats().rx_segments == 1);
  CHECK(h.punted() == 0);
  h.advance_us(h.cfg.delayed_ack_us);
  auto out = take_tunnelled(h);
  REQUIRE(out.size() == 1);
  check_tunnel_of_flow0(out[0]);
  CHECK(out[0].inner.tcp.flags == kTcpAck);
  CHECK(out[0].inner.tcp.ack == 5005);
  CHECK(out[0].payload.empty());
}

TEST_CASE("vxlan rx: outer UDP checksum present and right -> accepted like a zero one",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "sum");
  size_t udp_payload = f.size() - kUdpAt - wire::kUdpHeaderLen;
  wire::build_udp(&f[kUdpAt], kPeerSrcPort, wire::kVxlanPort, udp_payload, kVtep,
                  FastpathHarness::kLocalIp, true);
  REQUIRE(wire::load_be16(&f[kUdpAt + 6]) != 0);
  receive(h, f);
  CHECK(h.app_read_all() == "sum");
  CHECK(drops(h.dp->stats()) == 0);
}

// --- receive: punted whole ---

TEST_CASE(
    "vxlan rx: the flow's 4-tuple on another tenant's VNI, no flow there -> whole frame punted",
    "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "not yours", kOtherVni);
  receive(h, f);
  check_punted_whole(h, f);
  CHECK(h.dp->stats().vxlan_rx == 1);  // taken apart, then punted
  CHECK(drops(h.dp->stats()) == 0);
  check_flow0_untouched(h);
}

TEST_CASE("vxlan rx: the flow's segment from another VTEP -> whole frame punted, not delivered",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "spoofed", kVni, kStranger);
  receive(h, f);
  check_punted_whole(h, f);
  check_flow0_untouched(h);
}

TEST_CASE("vxlan rx: RST for the flow inside VXLAN -> whole outer frame punted for the slow path",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpRst | kTcpAck);
  receive(h, f);
  check_punted_whole(h, f);
  check_flow0_untouched(h);
}

TEST_CASE("vxlan rx: inner ARP request on a tenant's VNI -> whole outer frame punted",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  std::vector<uint8_t> arp(60);  // build_arp_frame pads to the minimum frame
  wire::ArpPacket req{wire::kArpRequest, FastpathHarness::kInnerRemoteMac,
                      FastpathHarness::kRemoteIp, wire::MacAddr{}, FastpathHarness::kLocalIp};
  wire::build_arp_frame(arp.data(), wire::kBroadcastMac, FastpathHarness::kInnerRemoteMac, req);
  auto f = encapsulate(arp, kVni);
  receive(h, f);
  check_punted_whole(h, f);
  CHECK(h.dp->stats().arp_replies == 0);  // never answered with the host's own MAC
  check_flow0_untouched(h);
}

// --- receive: dropped, each with its reason ---

TEST_CASE("vxlan rx: VNI no tenant has -> drop_vxlan_vni, not punted", "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  receive(h, tunnelled(h, 5000, 1000, kTcpAck, "who?", kUnknownVni));
  check_dropped_as(h, &abi::FpStats::drop_vxlan_vni);
  CHECK(h.dp->stats().vxlan_rx == 0);
}

TEST_CASE("vxlan rx: VNI 0, even listed as a tenant's -> drop_vxlan_vni, plain flows out of reach",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  h.add_tenant(0, 3);  // a table the slow path should never write: VNI 0 is the host's own
  h.establish();       // a plain flow with the very 4-tuple inside the frame
  receive(h, tunnelled(h, 5000, 1000, kTcpAck, "sneak", 0));
  check_dropped_as(h, &abi::FpStats::drop_vxlan_vni);
}

TEST_CASE("vxlan rx: UDP header cut short by the outer IPv4 length -> drop_vxlan_outer",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  wire::store_be16(&f[kIpTotalLenAt], 20 + 4);
  refresh_ip_checksum(f);
  f.resize(kUdpAt + 4);
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_vxlan_outer);
}

TEST_CASE("vxlan rx: outer IPv4 header checksum wrong -> drop_vxlan_outer", "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  f[kIpChecksumAt] ^= 0x5a;
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_vxlan_outer);
}

TEST_CASE("vxlan rx: VXLAN I flag clear -> drop_vxlan_outer", "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  f[kVxlanAt] = 0;
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_vxlan_outer);
}

TEST_CASE("vxlan rx: outer UDP checksum present and wrong -> drop_vxlan_outer",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "bits");
  size_t udp_payload = f.size() - kUdpAt - wire::kUdpHeaderLen;
  wire::build_udp(&f[kUdpAt], kPeerSrcPort, wire::kVxlanPort, udp_payload, kVtep,
                  FastpathHarness::kLocalIp, true);
  f.back() ^= 0x01;  // flipped on the way, after the sender summed it
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_vxlan_outer);
}

TEST_CASE("vxlan rx: UDP to another port -> drop_bad_ip as any UDP, not a tunnel error",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  wire::store_be16(&f[kUdpAt + 2], 4790);
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_bad_ip);
}

TEST_CASE("vxlan rx: UDP to another port, wrong IPv4 checksum -> drop_bad_ip, not a tunnel error",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  wire::store_be16(&f[kUdpAt + 2], 53);
  f[kIpChecksumAt] ^= 0x5a;
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_bad_ip);
}

TEST_CASE("vxlan rx: outer destination another host -> drop_bad_ip (we are not that VTEP)",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto f = tunnelled(h, 5000, 1000, kTcpAck, "x");
  wire::store_be32(&f[kIpDstAt], 0x0a000063);
  refresh_ip_checksum(f);
  receive(h, f);
  check_dropped_as(h, &abi::FpStats::drop_bad_ip);
}

TEST_CASE("vxlan rx: inner frame neither IPv4 nor ARP -> drop_vxlan_inner", "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  std::vector<uint8_t> inner(60, 0x33);
  wire::build_eth(inner.data(),
                  {FastpathHarness::kInnerLocalMac, FastpathHarness::kInnerRemoteMac, 0x86dd});
  receive(h, encapsulate(inner, kVni));
  check_dropped_as(h, &abi::FpStats::drop_vxlan_inner);
  CHECK(h.dp->stats().vxlan_rx == 1);
}

TEST_CASE("vxlan rx: inner IPv4 datagram that is not TCP -> drop_vxlan_inner",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto inner = inner_datagram(h, wire::kIpProtoUdp, "udp?");
  receive(h, encapsulate(inner, kVni));
  check_dropped_as(h, &abi::FpStats::drop_vxlan_inner);
}

TEST_CASE("vxlan rx: inner TCP checksum wrong -> drop_vxlan_inner", "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto inner = inner_segment(h, 5000, 1000, kTcpAck, "corrupt");
  inner.back() ^= 0x20;
  receive(h, encapsulate(inner, kVni));
  check_dropped_as(h, &abi::FpStats::drop_vxlan_inner);
}

// --- beside plain flows ---

TEST_CASE(
    "vxlan: plain flow with the tunnelled flow's 4-tuple -> both installed, each its own segments",
    "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  install_plain(h, FastpathHarness::kRemoteIp, FastpathHarness::kLocalPort,
                FastpathHarness::kRemotePort, 20000, 80000);
  for (auto& ev : h.sp_events()) CHECK(ev.kind != uint16_t(abi::FpEventKind::kFlowError));
  h.port.rx.push_back(h.peer_frame(80000, 20000, kTcpAck, "plain"));
  h.port.rx.push_back(tunnelled(h, 5000, 1000, kTcpAck, "tunnel"));
  h.dp->poll_once();
  CHECK(read_slot(h, 4) == "plain");
  CHECK(h.app_read_all() == "tunnel");
  h.port.sent.clear();  // their delayed ACKs, if any went out

  send_slot(h, 4, "p-out");
  REQUIRE(h.port.sent.size() == 1);
  auto plain = wire::parse_tcp_frame(h.port.sent[0].data(), h.port.sent[0].size());
  REQUIRE(plain.error == wire::FrameError::kOk);  // a plain frame, straight to the peer
  CHECK(plain.f.ip.dst == FastpathHarness::kRemoteIp);
  CHECK(plain.f.tcp.seq == 20000);
  CHECK(plain.f.tcp.ack == 80005);
  CHECK(std::string(plain.f.payload, plain.f.payload + plain.f.payload_len) == "p-out");
  h.port.sent.clear();

  h.app_send("t-out");
  auto out = take_tunnelled(h);
  REQUIRE(out.size() == 1);
  check_tunnel_of_flow0(out[0]);
  CHECK(out[0].inner.tcp.seq == 1000);
  CHECK(out[0].inner.tcp.ack == 5006);
  CHECK(out[0].payload == "t-out");
  CHECK(drops(h.dp->stats()) == 0);
}

TEST_CASE("vxlan: tunnelled flow mirroring a plain same-host flow -> never joined as a circuit",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  // Plain flow 1 from our port 40000 to our own 7007; tunnelled flow 0 is 7007 -> 40000 at our
  // address inside VNI 42, sequence numbers mirrored: everything a circuit asks but the network.
  install_plain(h, FastpathHarness::kLocalIp, FastpathHarness::kRemotePort,
                FastpathHarness::kLocalPort, 5000, 1000);
  establish_tunnelled(h, FastpathHarness::kLocalIp);
  CHECK(h.dp->stats().circuits == 0);
  h.app_send("tunnel only");
  auto out = take_tunnelled(h);
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload == "tunnel only");
  CHECK(h.view.slot(4)->rx_head == 0);
}

// --- robustness ---

TEST_CASE(
    "vxlan rx: cut and corrupted tunnel frames -> each counted once, only true bytes delivered",
    "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  const auto good = tunnelled(h, 5000, 1000, kTcpAck, "abcdef");
  uint64_t fed = 0, punted = 0;
  auto feed = [&](std::vector<uint8_t> f) {
    receive(h, std::move(f));
    ++fed;
    punted += h.punted();
    h.port.sent.clear();
  };
  for (size_t n = 1; n < good.size(); ++n)
    feed(std::vector<uint8_t>(good.begin(), good.begin() + long(n)));
  std::mt19937 rng(7348);
  for (int i = 0; i < 4000; ++i) {
    auto f = good;
    for (int flips = 1 + int(rng() % 3); flips > 0; --flips)
      f[wire::kEthHeaderLen + rng() % (f.size() - wire::kEthHeaderLen)] ^= uint8_t(1 + rng() % 255);
    feed(std::move(f));
  }
  const abi::FpStats& s = h.dp->stats();
  CHECK(drops(s) + punted + s.rx_segments == fed);
  CHECK(s.drop_vxlan_outer > 0);
  CHECK(s.drop_vxlan_inner > 0);
  CHECK(s.drop_vxlan_vni > 0);
  std::string got = h.app_read_all();
  CHECK((got.empty() || got == "abcdef"));
  CHECK(h.port.live_buffers == 0);
}

// --- per-tenant counters ---

TEST_CASE("vxlan: a tenant's segments in and out count in its TenantStats, not another's or the host's",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  receive(h, tunnelled(h, 5000, 1000, kTcpAck | kTcpPsh, "hello"));
  h.app_send("world!");
  const abi::TenantStats* ts = h.ctrl.header()->tenant_stats;
  CHECK(ts[1].rx_segments == 1);
  CHECK(ts[1].rx_bytes == 5);
  CHECK(ts[1].tx_segments >= 1);
  CHECK(ts[1].tx_bytes == 6);
  for (int other : {0, 2}) {
    CHECK(ts[other].rx_segments == 0);
    CHECK(ts[other].tx_segments == 0);
  }
  // A malformed inner frame on tenant 2's VNI is tenant 2's drop.
  std::vector<uint8_t> inner(60, 0x33);
  wire::build_eth(inner.data(), {FastpathHarness::kInnerLocalMac, FastpathHarness::kInnerRemoteMac, 0x86dd});
  receive(h, encapsulate(inner, kOtherVni));
  CHECK(ts[2].drop_vxlan_inner == 1);
  CHECK(ts[1].drop_vxlan_inner == 0);
}

TEST_CASE("plain flows count in the host's TenantStats (index 0)", "[vxlan][fastpath]") {
  FastpathHarness h;
  h.establish();
  receive(h, h.peer_frame(5000, 1000, kTcpAck | kTcpPsh, "abc"));
  const abi::TenantStats& host = h.ctrl.header()->tenant_stats[0];
  CHECK(host.rx_segments == 1);
  CHECK(host.rx_bytes == 3);
}

TEST_CASE("vxlan rx: inner ICMP on a tenant's VNI -> whole outer frame punted (the slow path answers pings)",
          "[vxlan][fastpath]") {
  FastpathHarness h;
  establish_tunnelled(h);
  auto inner = inner_datagram(h, wire::kIpProtoIcmp, "12345678");
  auto f = encapsulate(inner, kVni);
  receive(h, f);
  check_punted_whole(h, f);
  CHECK(drops(h.dp->stats()) == 0);
  check_flow0_untouched(h);
}

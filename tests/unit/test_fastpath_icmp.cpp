// Fast-path ICMP echo (RFC 792): pings of the host's address answered, everything else dropped.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "support/fake_fastpath.hpp"
#include "virtuoso/wire/icmp.hpp"

using namespace virtuoso;
using test::FastpathHarness;

namespace {

constexpr size_t kIcmpAt = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;

// A ping from the peer's machine: echo request `id`/`seq` carrying `data`, to `dst`.
std::vector<uint8_t> ping(uint16_t id, uint16_t seq, const std::string& data,
                          uint32_t dst = FastpathHarness::kLocalIp, bool request = true) {
  std::vector<uint8_t> f(kIcmpAt + wire::kIcmpHeaderLen + data.size());
  wire::build_eth(f.data(), {FastpathHarness::kLocalMac, FastpathHarness::kRemoteMac,
                             wire::kEtherTypeIpv4});
  std::memcpy(&f[kIcmpAt + wire::kIcmpHeaderLen], data.data(), data.size());
  size_t msg = wire::build_icmp_echo(&f[kIcmpAt], request, id, seq, data.size());
  wire::build_ipv4(&f[wire::kEthHeaderLen], FastpathHarness::kRemoteIp, dst, wire::kIpProtoIcmp,
                   uint16_t(msg), 7);
  if (f.size() < 60) f.resize(60);  // Ethernet padding, as a NIC delivers it
  return f;
}

void receive(FastpathHarness& h, std::vector<uint8_t> frame) {
  h.port.rx.push_back(std::move(frame));
  h.dp->poll_once();
}

struct Reply {
  wire::EthHeader eth;
  wire::Ipv4Header ip;
  wire::IcmpEcho echo;
  std::string data;
};

// The one frame the fast path sent, taken apart with both checksums verified.
Reply take_reply(FastpathHarness& h) {
  REQUIRE(h.port.sent.size() == 1);
  const auto& f = h.port.sent[0];
  REQUIRE(f.size() >= 60);
  auto eth = wire::parse_eth(f.data(), f.size());
  REQUIRE(eth);
  auto ip = wire::parse_ipv4(&f[wire::kEthHeaderLen], f.size() - wire::kEthHeaderLen);
  REQUIRE(ip.error == wire::Ipv4Error::kOk);
  REQUIRE(ip.hdr.proto == wire::kIpProtoIcmp);
  auto e = wire::parse_icmp_echo(&f[kIcmpAt], ip.hdr.total_len - ip.hdr.ihl_bytes);
  REQUIRE(e.error == wire::IcmpError::kOk);
  Reply r{*eth, ip.hdr, e.echo, std::string(e.echo.data, e.echo.data + e.echo.data_len)};
  h.port.sent.clear();
  return r;
}

}  // namespace

TEST_CASE("icmp: echo request to our address -> reply with its id, seq and data, to its sender",
          "[icmp][fastpath]") {
  FastpathHarness h;
  std::string data = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV";
  receive(h, ping(0x1234, 3, data));
  auto r = take_reply(h);
  CHECK_FALSE(r.echo.request);
  CHECK(r.echo.id == 0x1234);
  CHECK(r.echo.seq == 3);
  CHECK(r.data == data);
  CHECK(r.eth.dst == FastpathHarness::kRemoteMac);
  CHECK(r.eth.src == FastpathHarness::kLocalMac);
  CHECK(r.ip.src == FastpathHarness::kLocalIp);
  CHECK(r.ip.dst == FastpathHarness::kRemoteIp);
  CHECK(r.ip.ttl > 0);
  CHECK(h.dp->stats().icmp_echo_replies == 1);
  CHECK(h.dp->stats().drop_bad_ip == 0);
  CHECK(h.punted() == 0);
  CHECK(h.port.live_buffers == 0);
}

TEST_CASE("icmp: a large ping (1472 data bytes, a full 1500-byte packet) comes back whole",
          "[icmp][fastpath]") {
  FastpathHarness h;
  std::string data(1472, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char(i * 7 + 1);
  receive(h, ping(9, 65535, data));
  auto r = take_reply(h);
  CHECK(r.ip.total_len == 1500);
  CHECK(r.echo.seq == 65535);
  CHECK(r.data == data);
}

TEST_CASE("icmp: an empty ping is answered in a padded minimum frame", "[icmp][fastpath]") {
  FastpathHarness h;
  receive(h, ping(1, 1, ""));
  auto r = take_reply(h);
  CHECK(r.ip.total_len == 28);
  CHECK(r.data.empty());
}

TEST_CASE("icmp: what is not an echo request for us is dropped as bad IP, never answered",
          "[icmp][fastpath]") {
  FastpathHarness h;
  SECTION("to another address") { receive(h, ping(1, 1, "x", 0x0a000009)); }
  SECTION("an echo reply") { receive(h, ping(1, 1, "x", FastpathHarness::kLocalIp, false)); }
  SECTION("a bad ICMP checksum") {
    auto f = ping(1, 1, "payload");
    f[kIcmpAt + wire::kIcmpHeaderLen] ^= 0xff;
    receive(h, f);
  }
  SECTION("an ICMP message shorter than its header") {
    std::vector<uint8_t> f(60);
    wire::build_eth(f.data(), {FastpathHarness::kLocalMac, FastpathHarness::kRemoteMac,
                               wire::kEtherTypeIpv4});
    wire::build_ipv4(&f[wire::kEthHeaderLen], FastpathHarness::kRemoteIp,
                     FastpathHarness::kLocalIp, wire::kIpProtoIcmp, 4);
    receive(h, f);
  }
  CHECK(h.port.sent.empty());
  CHECK(h.dp->stats().icmp_echo_replies == 0);
  CHECK(h.dp->stats().drop_bad_ip == 1);
  CHECK(h.port.live_buffers == 0);
}

TEST_CASE("icmp: no buffer for the reply -> drop_no_mbuf, nothing sent, nothing leaked",
          "[icmp][fastpath]") {
  FastpathHarness h;
  h.port.alloc_budget = 1;  // the request's own receive buffer, none for the reply
  receive(h, ping(1, 1, "x"));
  CHECK(h.port.sent.empty());
  CHECK(h.dp->stats().drop_no_mbuf == 1);
  CHECK(h.port.live_buffers == 0);
}

// --- destination unreachable: the slow path's; path MTU: kPathMtu ---

TEST_CASE("icmp: destination unreachable for us -> punted whole for the slow path, not dropped",
          "[icmp][fastpath]") {
  FastpathHarness h;
  h.establish();
  std::vector<uint8_t> quoted(wire::kIpv4MinHeaderLen + 8);
  wire::build_ipv4(quoted.data(), FastpathHarness::kLocalIp, FastpathHarness::kRemoteIp,
                   wire::kIpProtoTcp, 1460);
  std::vector<uint8_t> f(kIcmpAt + wire::kIcmpHeaderLen + quoted.size());
  wire::build_eth(f.data(), {FastpathHarness::kLocalMac, FastpathHarness::kRemoteMac,
                             wire::kEtherTypeIpv4});
  size_t msg = wire::build_icmp_unreachable(&f[kIcmpAt], wire::kIcmpFragNeeded, 1200,
                                            quoted.data(), quoted.size());
  wire::build_ipv4(&f[wire::kEthHeaderLen], 0x0a0000fe, FastpathHarness::kLocalIp,
                   wire::kIpProtoIcmp, uint16_t(msg));
  receive(h, f);
  auto punted = h.punted_frames();
  REQUIRE(punted.size() == 1);
  CHECK(punted[0] == f);
  CHECK(h.port.sent.empty());
  CHECK(h.dp->stats().drop_bad_ip == 0);
}

namespace {
// Payload sizes and sequence numbers of what the fast path sent.
std::vector<std::pair<uint32_t, size_t>> segments(FastpathHarness& h) {
  std::vector<std::pair<uint32_t, size_t>> out;
  for (auto& s : h.take_sent()) out.emplace_back(s.f.tcp.seq, s.payload.size());
  return out;
}
}  // namespace

TEST_CASE("kPathMtu: in-flight data resent at once in segments of path_mss, and all that follows",
          "[icmp][fastpath]") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);  // our next seq 1000, MSS 1000
  h.app_send(std::string(3000, 'a'));
  CHECK(segments(h) == std::vector<std::pair<uint32_t, size_t>>{{1000, 1000}, {2000, 1000}, {3000, 1000}});
  h.flow().path_mss = 600;  // the slow path heard "fragmentation needed"
  h.command({uint16_t(abi::FpCommandKind::kPathMtu), 0, 0, {}, 0, 0});
  CHECK(segments(h) ==
        std::vector<std::pair<uint32_t, size_t>>{{1000, 600}, {1600, 600}, {2200, 600}, {2800, 600}, {3400, 600}});
  CHECK(h.slot().snd_mss == 600);
  CHECK(h.dp->stats().path_mtu_lowered == 1);
  CHECK(h.dp->stats().rto_retransmits == 0);  // not a timeout
  h.from_peer(5000, 4000, wire::kTcpAck);
  h.app_send(std::string(1000, 'b'));
  CHECK(segments(h) == std::vector<std::pair<uint32_t, size_t>>{{4000, 600}, {4600, 400}});
}

TEST_CASE("kPathMtu: a path_mss not below the one in use, or 0 -> nothing changes, nothing resent",
          "[icmp][fastpath]") {
  FastpathHarness h;
  h.establish(1000, 5000, 65535, 1000);
  h.app_send(std::string(1000, 'a'));
  h.take_sent();
  for (uint16_t mss : {uint16_t(0), uint16_t(1000), uint16_t(1400)}) {
    h.flow().path_mss = mss;
    h.command({uint16_t(abi::FpCommandKind::kPathMtu), 0, 0, {}, 0, 0});
  }
  CHECK(h.port.sent.empty());
  CHECK(h.slot().snd_mss == 1000);
  CHECK(h.dp->stats().path_mtu_lowered == 0);
}

TEST_CASE("kPathMtu before install (SYN-SENT heard it): the flow starts with path_mss",
          "[icmp][fastpath]") {
  FastpathHarness h;
  h.path_mss = 700;
  h.establish(1000, 5000, 65535, 1000);
  h.app_send(std::string(1000, 'a'));
  CHECK(segments(h) == std::vector<std::pair<uint32_t, size_t>>{{1000, 700}, {1700, 300}});
}

TEST_CASE("icmp: a ping flood is answered at Linux's ICMP rate, a burst of 50 then 1000/s, the rest counted",
          "[icmp][fastpath]") {
  FastpathHarness h;
  for (uint16_t seq = 0; seq < 80; ++seq) h.port.rx.push_back(ping(7, seq, "flood"));
  while (!h.port.rx.empty()) h.dp->poll_once();  // all in the same microsecond
  CHECK(h.port.sent.size() == 50);
  CHECK(h.dp->stats().icmp_echo_replies == 50);
  CHECK(h.dp->stats().icmp_rate_limited == 30);
  h.port.sent.clear();
  // 10 ms later, 10 more tokens: of 20 more pings, 10 are answered.
  h.advance_us(10'000);
  for (uint16_t seq = 80; seq < 100; ++seq) h.port.rx.push_back(ping(7, seq, "flood"));
  while (!h.port.rx.empty()) h.dp->poll_once();
  CHECK(h.port.sent.size() == 10);
  CHECK(h.dp->stats().icmp_rate_limited == 40);
  CHECK(h.port.live_buffers == 0);
}

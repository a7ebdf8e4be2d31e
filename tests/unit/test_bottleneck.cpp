// The emulated bottleneck inside the fault injector: its rate, its tail drop, its CE marks, over a
// fake port and a manual clock; and the IPv4 CE marking it uses.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "fault_port.hpp"
#include "support/fake_fastpath.hpp"
#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/ipv4.hpp"

using namespace virtuoso;
using fastpath::FaultPort;
using fastpath::Frame;
using fastpath::ManualClock;
using test::FakePort;

namespace {

// An Ethernet + IPv4 frame of `len` bytes with the ECN field `ecn` and a valid header checksum.
std::vector<uint8_t> ipv4_frame(uint16_t len, uint8_t ecn) {
  std::vector<uint8_t> f(len, 0);
  wire::store_be16(f.data() + 12, wire::kEtherTypeIpv4);
  wire::build_ipv4(f.data() + wire::kEthHeaderLen, 0x0a000001, 0x0a000002, wire::kIpProtoTcp,
                   uint16_t(len - wire::kEthHeaderLen - wire::kIpv4MinHeaderLen), 7, 64, ecn);
  return f;
}
uint8_t ecn_of(const std::vector<uint8_t>& f) { return f[wire::kEthHeaderLen + 1] & wire::kEcnMask; }
bool checksum_ok(const std::vector<uint8_t>& f) {
  return wire::internet_checksum(f.data() + wire::kEthHeaderLen, wire::kIpv4MinHeaderLen) == 0;
}

abi::FaultSettings link(double rate_mbps, double queue_bytes, double mark_bytes = 0) {
  abi::FaultSettings s = abi::kNoFaultSettings;
  s.tx.rate_mbps = s.rx.rate_mbps = rate_mbps;
  s.tx.queue_bytes = s.rx.queue_bytes = queue_bytes;
  s.tx.mark_bytes = s.rx.mark_bytes = mark_bytes;
  return s;
}

void send(FaultPort& port, const std::vector<uint8_t>& bytes) {
  Frame f;
  REQUIRE(port.alloc(f));
  std::memcpy(f.data, bytes.data(), bytes.size());
  f.len = uint16_t(bytes.size());
  port.send(f);
}

}  // namespace

TEST_CASE("bottleneck: frames leave at the link rate, in order") {
  FakePort inner;
  ManualClock clock;
  // 80 Mbit/s: a 1000-byte frame takes 100 us on the link.
  FaultPort port(inner, clock, link(80, 1'000'000));
  for (int i = 0; i < 10; ++i) send(port, ipv4_frame(1000, wire::kEcnNotEct));
  port.flush();
  CHECK(inner.sent.empty());
  CHECK(port.held() == 10);
  clock.advance_us(99);
  port.flush();
  CHECK(inner.sent.empty());
  clock.advance_us(1);
  port.flush();
  CHECK(inner.sent.size() == 1);
  clock.advance_us(450);
  port.flush();
  CHECK(inner.sent.size() == 5);
  clock.advance_us(10'000);
  port.flush();
  CHECK(inner.sent.size() == 10);
  CHECK(port.held() == 0);
  CHECK(port.tx_queue_counters().queued == 10);
  CHECK(port.tx_queue_counters().dropped == 0);
  CHECK(port.tx_queue_counters().peak_bytes == 10'000);
}

TEST_CASE("bottleneck: a link that was idle sends the next frame a frame time after it arrives") {
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, link(80, 1'000'000));
  send(port, ipv4_frame(1000, wire::kEcnNotEct));
  clock.advance_us(5'000);
  port.flush();
  REQUIRE(inner.sent.size() == 1);
  send(port, ipv4_frame(1000, wire::kEcnNotEct));  // the link is idle: no credit for the idle time
  clock.advance_us(99);
  port.flush();
  CHECK(inner.sent.size() == 1);
  clock.advance_us(1);
  port.flush();
  CHECK(inner.sent.size() == 2);
}

TEST_CASE("bottleneck: a propagation delay after the link, in order, and a delay line without a rate") {
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = link(80, 1'000'000);
  s.tx.delay_us = 5'000;
  FaultPort port(inner, clock, s);
  for (int i = 0; i < 3; ++i) send(port, ipv4_frame(1000, wire::kEcnNotEct));
  clock.advance_us(5'099);  // the first leaves the link at 100 us, arrives at 5100
  port.flush();
  CHECK(inner.sent.empty());
  clock.advance_us(1);
  port.flush();
  CHECK(inner.sent.size() == 1);
  CHECK(port.tx_queue_counters().backlog_bytes == 3000);  // counted when queued: the link's queue
  clock.advance_us(200);
  port.flush();
  CHECK(inner.sent.size() == 3);
  // No rate: nothing queues (no drops, no marks), every frame is simply late by the delay.
  abi::FaultSettings line = abi::kNoFaultSettings;
  line.tx.delay_us = 2'000;
  FakePort inner2;
  FaultPort delayed(inner2, clock, line);
  for (int i = 0; i < 50; ++i) send(delayed, ipv4_frame(1500, wire::kEcnEct0));
  clock.advance_us(1'999);
  delayed.flush();
  CHECK(inner2.sent.empty());
  clock.advance_us(1);
  delayed.flush();
  CHECK(inner2.sent.size() == 50);
  CHECK(delayed.tx_queue_counters().dropped == 0);
  CHECK(delayed.tx_queue_counters().ce_marked == 0);
}

TEST_CASE("bottleneck: frames beyond the byte limit are dropped at the tail and their buffers freed") {
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, link(80, 5'000));
  for (int i = 0; i < 8; ++i) send(port, ipv4_frame(1000, wire::kEcnNotEct));
  CHECK(port.tx_queue_counters().queued == 5);
  CHECK(port.tx_queue_counters().dropped == 3);
  CHECK(inner.live_buffers == 5);
  // Once one frame has left, one more fits.
  clock.advance_us(100);
  port.flush();
  send(port, ipv4_frame(1000, wire::kEcnNotEct));
  CHECK(port.tx_queue_counters().queued == 6);
  clock.advance_us(1'000);
  port.flush();
  CHECK(inner.sent.size() == 6);
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("bottleneck: ECN-capable frames that find more than mark_bytes queued are marked CE") {
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, link(80, 100'000, 2'500));
  // Backlogs found: 0, 1000, 2000 (not above 2500), then 3000 and 4000 (above).
  for (int i = 0; i < 5; ++i) send(port, ipv4_frame(1000, wire::kEcnEct0));
  send(port, ipv4_frame(1000, wire::kEcnNotEct));  // above too, but not ECN-capable: only queued
  clock.advance_us(1'000);
  port.flush();
  REQUIRE(inner.sent.size() == 6);
  std::vector<uint8_t> ecn;
  for (const auto& f : inner.sent) {
    ecn.push_back(ecn_of(f));
    CHECK(checksum_ok(f));
  }
  CHECK(ecn == std::vector<uint8_t>{wire::kEcnEct0, wire::kEcnEct0, wire::kEcnEct0, wire::kEcnCe,
                                    wire::kEcnCe, wire::kEcnNotEct});
  CHECK(port.tx_queue_counters().ce_marked == 2);
  // The queue has drained: the next frame finds it empty and is not marked.
  send(port, ipv4_frame(1000, wire::kEcnEct0));
  clock.advance_us(100);
  port.flush();
  CHECK(ecn_of(inner.sent.back()) == wire::kEcnEct0);
}

TEST_CASE("bottleneck: on the receive side frames reach the datapath at the link rate") {
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, link(80, 1'000'000));
  for (int i = 0; i < 4; ++i) inner.rx.push_back(ipv4_frame(1000, wire::kEcnNotEct));
  Frame frames[32];
  CHECK(port.rx_burst(frames, 32) == 0);
  CHECK(port.held() == 4);
  clock.advance_us(200);
  uint16_t n = port.rx_burst(frames, 32);
  CHECK(n == 2);
  for (uint16_t i = 0; i < n; ++i) port.free(frames[i]);
  clock.advance_us(200);
  n = port.rx_burst(frames, 32);
  CHECK(n == 2);
  for (uint16_t i = 0; i < n; ++i) port.free(frames[i]);
  CHECK(port.rx_queue_counters().queued == 4);
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("bottleneck: turning it off releases what waits, and a port destroyed with a queue frees it") {
  FakePort inner;
  ManualClock clock;
  {
    FaultPort port(inner, clock, link(80, 1'000'000));
    for (int i = 0; i < 4; ++i) send(port, ipv4_frame(1000, wire::kEcnNotEct));
    port.apply(abi::kNoFaultSettings);
    port.flush();
    CHECK(inner.sent.size() == 4);
    port.apply(link(80, 1'000'000));
    for (int i = 0; i < 4; ++i) send(port, ipv4_frame(1000, wire::kEcnNotEct));
    CHECK(inner.live_buffers == 4);
  }
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("ipv4_mark_ce marks ECT(0) and ECT(1) headers CE and keeps the checksum valid") {
  for (uint8_t ecn : {uint8_t(1), wire::kEcnEct0}) {
    auto f = ipv4_frame(100, uint8_t(0xb8 | ecn));  // DSCP EF kept
    CHECK(wire::ipv4_mark_ce(f.data() + wire::kEthHeaderLen, f.size() - wire::kEthHeaderLen));
    CHECK(f[wire::kEthHeaderLen + 1] == (0xb8 | wire::kEcnCe));
    CHECK(checksum_ok(f));
  }
  for (uint8_t ecn : {wire::kEcnNotEct, wire::kEcnCe}) {
    auto f = ipv4_frame(100, ecn);
    auto before = f;
    CHECK_FALSE(wire::ipv4_mark_ce(f.data() + wire::kEthHeaderLen, f.size() - wire::kEthHeaderLen));
    CHECK(f == before);
  }
  auto f = ipv4_frame(100, wire::kEcnEct0);
  f[wire::kEthHeaderLen] = 0x65;  // not version 4
  CHECK_FALSE(wire::ipv4_mark_ce(f.data() + wire::kEthHeaderLen, f.size() - wire::kEthHeaderLen));
  CHECK_FALSE(wire::ipv4_mark_ce(f.data() + wire::kEthHeaderLen, 19));
}

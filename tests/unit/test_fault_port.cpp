// The fault injector (FaultPort) over a fake port and a manual clock: one behaviour per test case.
#include <catch2/catch.hpp>

#include <bitset>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "fault_port.hpp"
#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using fastpath::FaultPort;
using fastpath::Frame;
using fastpath::ManualClock;
using test::FakePort;

namespace {

constexpr uint16_t kLen = 100;

// A 100-byte frame whose bytes past the Ethernet header carry `id`, so outputs can be traced.
std::vector<uint8_t> numbered(uint32_t id) {
  std::vector<uint8_t> f(kLen, 0);
  for (size_t i = 0; i < 6; ++i) f[i] = 0x02;
  f[12] = 0x08;
  std::memcpy(f.data() + 14, &id, sizeof id);
  for (size_t i = 18; i < kLen; ++i) f[i] = uint8_t(id * 31 + i);
  return f;
}
uint32_t id_of(const std::vector<uint8_t>& f) {
  uint32_t id;
  std::memcpy(&id, f.data() + 14, sizeof id);
  return id;
}

abi::FaultSettings settings(uint64_t seed = 1) {
  abi::FaultSettings s = abi::kNoFaultSettings;
  s.seed = seed;
  return s;
}

// Receives everything the port hands out in bursts of 32, as the datapath does.
std::vector<std::vector<uint8_t>> drain_rx(FaultPort& port, FakePort& inner) {
  std::vector<std::vector<uint8_t>> out;
  Frame frames[32];
  for (;;) {
    uint16_t n = port.rx_burst(frames, 32);
    for (uint16_t i = 0; i < n; ++i) {
      out.emplace_back(frames[i].data, frames[i].data + frames[i].len);
      port.free(frames[i]);
    }
    if (n == 0 && inner.rx.empty()) return out;
  }
}

void send_numbered(FaultPort& port, uint32_t id) {
  Frame f;
  REQUIRE(port.alloc(f));
  auto bytes = numbered(id);
  std::memcpy(f.data, bytes.data(), bytes.size());
  f.len = uint16_t(bytes.size());
  port.send(f);
}

// Pushes `n` frames through rx, returns the ids that came out, in order.
std::vector<uint32_t> rx_ids(const abi::FaultSettings& s, uint32_t n, abi::FaultCounters* counters = nullptr) {
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, s);
  for (uint32_t i = 0; i < n; ++i) inner.rx.push_back(numbered(i));
  std::vector<uint32_t> ids;
  for (auto& f : drain_rx(port, inner)) ids.push_back(id_of(f));
  if (counters) *counters = port.rx_counters();
  return ids;
}

}  // namespace

TEST_CASE("fault port: no faults -> every frame passes unchanged and in order, both directions") {
  FakePort inner;
  ManualClock clock;
  {
    FaultPort port(inner, clock, settings());
    for (uint32_t i = 0; i < 1000; ++i) inner.rx.push_back(numbered(i));
    auto got = drain_rx(port, inner);
    REQUIRE(got.size() == 1000);
    for (uint32_t i = 0; i < 1000; ++i) CHECK(got[i] == numbered(i));
    for (uint32_t i = 0; i < 1000; ++i) send_numbered(port, i);
    port.flush();
    REQUIRE(inner.sent.size() == 1000);
    for (uint32_t i = 0; i < 1000; ++i) CHECK(inner.sent[i] == numbered(i));
    CHECK(port.held() == 0);
    for (const auto* c : {&port.rx_counters(), &port.tx_counters()}) {
      CHECK(c->lost + c->burst_lost + c->reordered + c->duplicated + c->corrupted == 0);
    }
  }
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("fault port: loss 1% over 100k frames -> lost count within 4 sigma of 1000") {
  abi::FaultSettings s = settings(42);
  s.rx.loss = 0.01;
  abi::FaultCounters c{};
  auto ids = rx_ids(s, 100'000, &c);
  CHECK(c.lost >= 874);
  CHECK(c.lost <= 1126);
  CHECK(ids.size() == 100'000 - c.lost);
  CHECK(std::is_sorted(ids.begin(), ids.end()));  // loss alone never reorders
}

TEST_CASE("fault port: same seed and input -> same faults, another seed -> different faults") {
  abi::FaultSettings s = settings(7);
  s.rx.loss = 0.05;
  s.rx.reorder = 0.05;
  s.rx.duplicate = 0.05;
  s.rx.corrupt = 0.05;
  s.rx.reorder_delay_us = 0;  // the manual clock never moves: held frames leave at the next burst
  abi::FaultCounters c1{}, c2{}, c3{};
  auto a = rx_ids(s, 5000, &c1);
  auto b = rx_ids(s, 5000, &c2);
  CHECK(a == b);
  CHECK(std::memcmp(&c1, &c2, sizeof c1) == 0);
  s.seed = 8;
  auto c = rx_ids(s, 5000, &c3);
  CHECK(a != c);
}

TEST_CASE("fault port: reordered frames are released no later than the delay bound, none lost") {
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = settings(3);
  s.tx.reorder = 0.3;
  s.tx.reorder_delay_us = 500;
  FaultPort port(inner, clock, s);
  std::vector<uint64_t> sent_at(2000), seen_at(2000, 0);
  size_t seen = 0;
  auto collect = [&] {
    for (; seen < inner.sent.size(); ++seen) seen_at[id_of(inner.sent[seen])] = clock.now_us();
  };
  for (uint32_t i = 0; i < 2000; ++i) {
    sent_at[i] = clock.now_us();
    send_numbered(port, i);
    port.flush();
    collect();
    clock.advance_us(10);
  }
  for (int i = 0; i < 60; ++i) {  // 600 us more: everything must be out
    port.flush();
    collect();
    clock.advance_us(10);
  }
  REQUIRE(inner.sent.size() == 2000);
  CHECK(port.held() == 0);
  uint64_t worst = 0;
  for (uint32_t i = 0; i < 2000; ++i) worst = std::max(worst, seen_at[i] - sent_at[i]);
  CHECK(worst <= 500);
  CHECK(worst > 100);  // delays are spread over the bound, not all zero
  std::vector<uint32_t> order;
  for (auto& f : inner.sent) order.push_back(id_of(f));
  CHECK_FALSE(std::is_sorted(order.begin(), order.end()));
  CHECK(port.tx_counters().reordered > 450);
  CHECK(port.tx_counters().reordered < 750);
}

TEST_CASE("fault port: duplicate 1.0 -> every frame arrives twice, identical") {
  abi::FaultSettings s = settings();
  s.tx.duplicate = 1.0;
  FakePort inner;
  ManualClock clock;
  {
    FaultPort port(inner, clock, s);
    for (uint32_t i = 0; i < 100; ++i) send_numbered(port, i);
    port.flush();
    REQUIRE(inner.sent.size() == 200);
    for (uint32_t i = 0; i < 100; ++i) {
      CHECK(inner.sent[2 * i] == numbered(i));
      CHECK(inner.sent[2 * i + 1] == numbered(i));
    }
    CHECK(port.tx_counters().duplicated == 100);
  }
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("fault port: rx duplicate 10% -> about 10% extra frames, each a copy of its original") {
  abi::FaultSettings s = settings(11);
  s.rx.duplicate = 0.1;
  abi::FaultCounters c{};
  auto ids = rx_ids(s, 20'000, &c);
  CHECK(ids.size() == 20'000 + c.duplicated);
  CHECK(c.duplicated > 1800);
  CHECK(c.duplicated < 2200);
}

TEST_CASE("fault port: corruption flips exactly one bit, never in the Ethernet header") {
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = settings(5);
  s.rx.corrupt = 1.0;
  FaultPort port(inner, clock, s);
  for (uint32_t i = 0; i < 2000; ++i) inner.rx.push_back(numbered(i));
  auto got = drain_rx(port, inner);
  REQUIRE(got.size() == 2000);
  size_t last_byte_hits = 0;
  for (uint32_t i = 0; i < 2000; ++i) {
    auto want = numbered(i);
    REQUIRE(got[i].size() == want.size());
    int bits = 0;
    size_t where = 0;
    for (size_t b = 0; b < want.size(); ++b) {
      int d = int(std::bitset<8>(got[i][b] ^ want[b]).count());
      if (d) where = b;
      bits += d;
    }
    CHECK(bits == 1);
    CHECK(where >= 14);
    last_byte_hits += where == kLen - 1;
  }
  CHECK(last_byte_hits > 0);  // the whole frame past the header can be hit
  CHECK(port.rx_counters().corrupted == 2000);
}

TEST_CASE("fault port: loss bursts -> runs of lost frames with the configured mean length") {
  abi::FaultSettings s = settings(9);
  s.rx.burst_start = 0.001;
  s.rx.burst_len = 20;
  abi::FaultCounters c{};
  const uint32_t n = 400'000;
  auto ids = rx_ids(s, n, &c);
  CHECK(c.lost == 0);
  CHECK(ids.size() == n - c.burst_lost);
  uint64_t runs = 0, lost = 0;
  for (size_t i = 1; i < ids.size(); ++i) {
    uint32_t gap = ids[i] - ids[i - 1] - 1;
    if (gap) {
      ++runs;
      lost += gap;
    }
  }
  REQUIRE(runs > 200);
  double mean = double(lost) / double(runs);
  CHECK(mean > 17.0);
  CHECK(mean < 23.0);
}

TEST_CASE("fault port: counters go to the control region's stats when it is given") {
  abi::ControlHeader hdr{};
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = settings(13);
  s.rx.loss = 0.1;
  s.tx.corrupt = 0.2;
  {
    FaultPort port(inner, clock, s, &hdr);
    CHECK(hdr.faults.fp_injector == 1);
    for (uint32_t i = 0; i < 1000; ++i) inner.rx.push_back(numbered(i));
    auto got = drain_rx(port, inner);
    for (uint32_t i = 0; i < 1000; ++i) send_numbered(port, i);
    port.flush();
    CHECK(hdr.stats.fault_rx.lost == 1000 - got.size());
    CHECK(hdr.stats.fault_rx.lost > 50);
    CHECK(hdr.stats.fault_tx.corrupted > 100);
    CHECK(hdr.stats.fault_tx.lost == 0);
    CHECK(hdr.stats.fault_rx.corrupted == 0);
    size_t changed = 0;
    for (uint32_t i = 0; i < 1000; ++i) changed += inner.sent[i] != numbered(i);
    CHECK(changed == hdr.stats.fault_tx.corrupted);
  }
  CHECK(hdr.faults.fp_injector == 0);
}

TEST_CASE("fault port: hold full -> the frame due first leaves early, nothing is lost or leaked") {
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = settings(17);
  s.tx.reorder = 1.0;
  s.tx.reorder_delay_us = 1'000'000;
  {
    FaultPort port(inner, clock, s);
    const uint32_t extra = 10;
    for (uint32_t i = 0; i < FaultPort::kHoldCapacity + extra; ++i) send_numbered(port, i);
    CHECK(port.held() == FaultPort::kHoldCapacity);
    CHECK(inner.sent.size() == extra);
    CHECK(port.tx_released_early() == extra);
    clock.advance_us(1'000'001);
    port.flush();
    CHECK(port.held() == 0);
    CHECK(inner.sent.size() == FaultPort::kHoldCapacity + extra);
    // Frames still held when the port goes away are freed, not leaked.
    for (uint32_t i = 0; i < 5; ++i) send_numbered(port, 1000 + i);
  }
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("fault port: rx hold full -> early release fits in the burst, nothing lost") {
  FakePort inner;
  ManualClock clock;
  abi::FaultSettings s = settings(19);
  s.rx.reorder = 1.0;
  s.rx.reorder_delay_us = 1'000'000;
  s.rx.duplicate = 0.5;  // duplicates wait in the hold too, and are skipped when it is full
  FaultPort port(inner, clock, s);
  for (uint32_t i = 0; i < 1000; ++i) inner.rx.push_back(numbered(i));
  auto got = drain_rx(port, inner);
  CHECK(port.held() == FaultPort::kHoldCapacity);
  clock.advance_us(1'000'001);
  auto rest = drain_rx(port, inner);
  CHECK(port.held() == 0);
  CHECK(got.size() + rest.size() == 1000 + port.rx_counters().duplicated);
  CHECK(port.rx_released_early() > 0);
  CHECK(inner.live_buffers == 0);
}

TEST_CASE("fault port: directions are independent: rx traffic never changes the tx faults") {
  abi::FaultSettings s = settings(23);
  s.tx.loss = 0.2;
  s.rx.loss = 0.3;
  s.rx.duplicate = 0.2;
  auto tx_out = [&](bool with_rx) {
    FakePort inner;
    ManualClock clock;
    FaultPort port(inner, clock, s);
    for (uint32_t i = 0; i < 3000; ++i) {
      if (with_rx) {
        inner.rx.push_back(numbered(i));
        drain_rx(port, inner);
      }
      send_numbered(port, i);
    }
    port.flush();
    std::vector<uint32_t> ids;
    for (auto& f : inner.sent) ids.push_back(id_of(f));
    return ids;
  };
  auto alone = tx_out(false);
  CHECK(alone.size() < 2700);
  CHECK(alone == tx_out(true));
}

TEST_CASE("fault port: settings published in the control region take effect, half-written ones do not") {
  abi::ControlHeader hdr{};
  FakePort inner;
  ManualClock clock;
  FaultPort port(inner, clock, settings(), &hdr);
  CHECK_FALSE(port.poll_control());  // generation 0: nothing published, --faults settings stay
  hdr.faults.settings = settings(31);
  hdr.faults.settings.rx.loss = 1.0;
  hdr.faults.generation = 1;  // odd: the slow path is still writing
  CHECK_FALSE(port.poll_control());
  hdr.faults.generation = 2;
  CHECK(port.poll_control());
  CHECK(hdr.faults.fp_generation == 2);
  CHECK_FALSE(port.poll_control());  // unchanged
  for (uint32_t i = 0; i < 10; ++i) inner.rx.push_back(numbered(i));
  CHECK(drain_rx(port, inner).empty());
  CHECK(hdr.stats.fault_rx.lost == 10);
  hdr.faults.settings = settings();
  hdr.faults.generation = 4;
  CHECK(port.poll_control());
  inner.rx.push_back(numbered(99));
  CHECK(drain_rx(port, inner).size() == 1);
}

TEST_CASE("fault spec: text form reads back to the same settings, bad pairs name the key") {
  abi::FaultSettings s = abi::kNoFaultSettings;
  CHECK(abi::apply_fault_spec("seed=99 loss=0.01, tx.reorder=0.25 tx.reorder_delay_us=300 rx.burst_start=1e-4", s)
            .empty());
  CHECK(s.seed == 99);
  CHECK(s.rx.loss == 0.01);
  CHECK(s.tx.loss == 0.01);
  CHECK(s.tx.reorder == 0.25);
  CHECK(s.rx.reorder == 0);
  CHECK(s.rx.burst_start == 1e-4);
  abi::FaultSettings back = abi::kNoFaultSettings;
  CHECK(abi::apply_fault_spec(abi::format_fault_spec(s), back).empty());
  CHECK(std::memcmp(&back, &s, sizeof s) == 0);

  abi::FaultSettings t = abi::kNoFaultSettings;
  CHECK_THAT(abi::apply_fault_spec("rx.loss=1.5", t), Catch::StartsWith("rx.loss: 1.5 is out of range"));
  CHECK_THAT(abi::apply_fault_spec("tx.lose=0.1", t), Catch::StartsWith("tx.lose: unknown fault setting"));
  CHECK_THAT(abi::apply_fault_spec("loss", t), Catch::StartsWith("loss: not key=value"));
  CHECK_THAT(abi::apply_fault_spec("reorder_delay_us=2.5", t), Catch::StartsWith("reorder_delay_us: 2.5"));
  CHECK_THAT(abi::apply_fault_spec("seed=x", t), Catch::StartsWith("seed: 'x' is not a whole number"));
}

// Fast-path cycle accounting: each loop phase is charged the cycles the counter moved across it.
#include <catch2/catch.hpp>
#include <string>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using wire::kTcpAck;
using wire::kTcpPsh;

namespace {

// Steps after each of one loop's 7 counter reads: read k starts phase k (rx, local, commands,
// apps, tx, events); the last step falls between loops and is nobody's.
const std::vector<uint64_t> kOneLoop = {100, 3, 5, 7, 11, 13, 1000};

std::vector<uint64_t> loops_of(const std::vector<uint64_t>& one, size_t n) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n; ++i) out.insert(out.end(), one.begin(), one.end());
  return out;
}

}  // namespace

TEST_CASE("cycles: the TSC rate of the counter is published at start") {
  FastpathHarness h;
  CHECK(h.dp->stats().tsc_hz == 1'000'000'000);
}

TEST_CASE("cycles: ESTABLISHED, N in-order segments -> N rx segments, each phase charged its own cycles") {
  FastpathHarness h;
  h.establish();
  const abi::FpStats before = h.dp->stats();
  constexpr size_t kN = 5;
  h.cycles.script(loops_of(kOneLoop, kN));
  for (uint32_t i = 0; i < kN; ++i)
    h.from_peer(5000 + i * 100, 1000, kTcpAck | kTcpPsh, std::string(100, 'x'));
  const abi::FpStats& after = h.dp->stats();
  CHECK(h.cycles.reads_scripted() == 7 * kN);  // seven reads a loop, no more
  CHECK(after.rx_segments - before.rx_segments == kN);
  CHECK(after.busy_loops - before.busy_loops == kN);
  CHECK(after.cycles.rx - before.cycles.rx == kN * 100);
  CHECK(after.cycles.local - before.cycles.local == kN * 3);
  CHECK(after.cycles.commands - before.cycles.commands == kN * 5);
  CHECK(after.cycles.apps - before.cycles.apps == kN * 7);
  CHECK(after.cycles.tx - before.cycles.tx == kN * 11);
  CHECK(after.cycles.events - before.cycles.events == kN * 13);
  CHECK(after.cycles.idle == before.cycles.idle);
  CHECK(h.app_read_all() == std::string(kN * 100, 'x'));
}

TEST_CASE("cycles: a loop with no work -> its whole cost to idle, nothing to the phases") {
  FastpathHarness h;
  h.establish();
  const abi::FpStats before = h.dp->stats();
  h.cycles.script(loops_of(kOneLoop, 3));
  for (int i = 0; i < 3; ++i) CHECK(h.dp->poll_once() == 0);
  const abi::FpStats& after = h.dp->stats();
  CHECK(after.loops - before.loops == 3);
  CHECK(after.busy_loops == before.busy_loops);
  CHECK(after.cycles.idle - before.cycles.idle == 3 * (100 + 3 + 5 + 7 + 11 + 13));
  CHECK(after.cycles.rx == before.cycles.rx);
  CHECK(after.cycles.local == before.cycles.local);
  CHECK(after.cycles.commands == before.cycles.commands);
  CHECK(after.cycles.apps == before.cycles.apps);
  CHECK(after.cycles.tx == before.cycles.tx);
  CHECK(after.cycles.events == before.cycles.events);
}

TEST_CASE("cycles: segments sent are counted as data segments or pure ACKs") {
  FastpathHarness h;
  h.establish();  // MSS 1000
  const abi::FpStats before = h.dp->stats();
  h.app_send(std::string(2500, 'y'));
  CHECK(h.dp->stats().tx_data_segments - before.tx_data_segments == 3);
  CHECK(h.dp->stats().tx_pure_acks == before.tx_pure_acks);
  h.from_peer(5000, 1000 + 2500, kTcpAck | kTcpPsh, "z");  // acknowledges everything: nothing to send
  h.advance_us(h.cfg.delayed_ack_us + 1);                  // the ACK of "z", alone
  CHECK(h.dp->stats().tx_pure_acks - before.tx_pure_acks == 1);
  CHECK(h.dp->stats().tx_data_segments - before.tx_data_segments == 3);
  CHECK(h.take_sent().size() == 4);
}

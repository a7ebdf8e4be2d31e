// budget-overhead: what per-tenant CPU-time accounting costs the fast path, in cycles per segment.
//
// The real datapath with a fake port and the CPU's time-stamp counter, so the figure is the fast
// path's own work and travels between machines: bursts of 32 in-order 64-byte segments of one
// tenant's flow inside VXLAN, taken by the datapath with budgets not enforced, enforced (the
// tenant within its budget), and enforced with every other frame another tenant's (the cycle
// meter reads the counter at each change of account: its worst case). Only poll_once is timed;
// building the frames and reading the app's ring are not. Prints a table and JSON.
#include <x86intrin.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_fastpath.hpp"
#include "support/vxlan_frames.hpp"

using namespace virtuoso;
using test::FastpathHarness;

namespace {

constexpr uint32_t kVniA = 42, kVniB = 43, kVtep = 0xc0000202;
constexpr uint16_t kPeerSrcPort = 60001;
constexpr size_t kBurst = 32;
constexpr size_t kPayload = 64;

class Rdtsc final : public fastpath::CycleCounter {
 public:
  Rdtsc() {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uint64_t c1 = __rdtsc();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    hz_ = uint64_t(double(c1 - c0) / s);
  }
  uint64_t now() const override { return __rdtsc(); }
  uint64_t hz() const override { return hz_; }

 private:
  uint64_t hz_ = 0;
};

// A frame of VNI `vni` from the peer's VTEP. Not inlined: GCC 12 at -O3 then warns falsely about
// the copy inside (a size it cannot bound).
[[gnu::noinline]] std::vector<uint8_t> wrap(const std::vector<uint8_t>& inner, uint32_t vni) {
  return test::encapsulate(inner, vni, kVtep, kPeerSrcPort);
}

struct Result {
  std::string name;
  double cycles_per_segment;
};

// Median cycles per segment of `rounds` bursts through a fresh datapath.
Result run(const std::string& name, bool enforce, bool interleave, int rounds, const Rdtsc& tsc) {
  FastpathHarness h;
  h.add_tenant(kVniA, 1);
  h.add_tenant(kVniB, 2);
  abi::BudgetSettings& s = h.ctrl.header()->budget_settings;
  s.enforce = enforce ? 1 : 0;
  s.period_us = 100;
  s.burst_periods = 4;
  s.backlog_frames = 256;
  s.weight[0] = s.weight[2] = 100;
  s.weight[1] = 10000;  // the measured tenant stays within its budget: the accounting alone
  s.generation = 1;
  h.counter = &tsc;
  h.restart();
  h.vni = kVniA;
  h.tenant = 1;
  h.vtep_ip = kVtep;
  h.establish(1000, 5000, 65535, 1400);
  std::string payload(kPayload, 'x');
  // Tenant 2's frames: SYNs of a connection its slow path would answer (punted, not parsed further).
  auto other = wrap(test::inner_segment(h, 1, 0, wire::kTcpSyn), kVniB);
  uint32_t seq = 5000;
  std::vector<double> per_segment;
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < kBurst; ++i) {
      if (interleave && i % 2) {
        h.port.rx.push_back(other);
        continue;
      }
      h.port.rx.push_back(wrap(test::inner_segment(h, seq, 1000, wire::kTcpAck | wire::kTcpPsh, payload), kVniA));
      seq += kPayload;
    }
    size_t segments = h.port.rx.size();
    uint64_t t0 = __rdtsc();
    h.dp->poll_once();
    uint64_t t1 = __rdtsc();
    per_segment.push_back(double(t1 - t0) / double(segments));
    h.app_read_all();
    h.port.sent.clear();
    h.punted();
    h.app_events();
    h.sp_events();
    h.dp->poll_once();  // window updates for what the app read, outside the timing
    h.port.sent.clear();
  }
  std::sort(per_segment.begin(), per_segment.end());
  return {name, per_segment[per_segment.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20000;
  std::string json_path;
  CLI::App app{"budget-overhead: the fast path's cycles per segment with time protection off and on"};
  app.add_option("--rounds", rounds, "bursts of 32 segments per variant")->check(CLI::Range(100, 10'000'000));
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  Rdtsc tsc;
  std::vector<Result> results;
  // Each variant twice, in turn, so that a drift of the machine shows as a difference between the
  // two runs of one variant rather than between variants.
  for (int rep = 0; rep < 2; ++rep) {
    results.push_back(run("off", false, false, rounds, tsc));
    results.push_back(run("on", true, false, rounds, tsc));
    results.push_back(run("on, tenants interleaved", true, true, rounds, tsc));
  }
  std::printf("fast-path cycles per received segment (median of %d bursts of %zu, 64 B inside VXLAN; TSC %.2f GHz)\n",
              rounds, kBurst, double(tsc.hz()) / 1e9);
  std::printf("%-26s %12s %12s\n", "budgets", "run 1", "run 2");
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < 3; ++i) {
    std::printf("%-26s %12.0f %12.0f\n", results[i].name.c_str(), results[i].cycles_per_segment,
                results[i + 3].cycles_per_segment);
    out[results[i].name] = {results[i].cycles_per_segment, results[i + 3].cycles_per_segment};
  }
  double off = std::min(results[0].cycles_per_segment, results[3].cycles_per_segment);
  double on = std::min(results[1].cycles_per_segment, results[4].cycles_per_segment);
  std::printf("on / off (best of each): %.3f\n", on / off);
  out["on_over_off"] = on / off;
  out["tsc_hz"] = tsc.hz();
  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "budget-overhead: cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fprintf(f, "%s\n", out.dump(2).c_str());
    std::fclose(f);
  }
  return 0;
}

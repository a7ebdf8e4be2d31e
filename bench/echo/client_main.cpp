// echo-client: load generator for TCP echo servers; runs on Linux TCP or under the socket shim.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "client_config.hpp"
#include "client_report.hpp"
#include "client_thread.hpp"
#include "common/clock.hpp"
#include "common/net.hpp"

using namespace virtuoso::bench;

namespace {

// Set from the signal handler: stop issuing, drain what is in flight, report.
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

void install_signals() {
  std::signal(SIGPIPE, SIG_IGN);  // a server that vanishes is an error return, not a kill
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct Totals {
  uint64_t requests = 0, bytes = 0, errors = 0;
};

Totals live_totals(std::vector<std::unique_ptr<ClientThread>>& threads) {
  Totals t;
  for (auto& th : threads) {
    t.requests += th->live().requests.load(std::memory_order_relaxed);
    t.bytes += th->live().bytes.load(std::memory_order_relaxed);
    t.errors += th->live().errors.load(std::memory_order_relaxed);
  }
  return t;
}

// Prints one line per second until every thread is done; returns when the measured window ended
// (the interruption time if a signal cut the run short).
uint64_t watch_progress(const ClientConfig& cfg, const Timeline& tl,
                        std::vector<std::unique_ptr<ClientThread>>& threads) {
  using namespace std::chrono_literals;
  Totals prev{};
  uint64_t prev_ns = tl.t0, next_line = tl.t0 + 1'000'000'000, stopped_at = 0;
  for (;;) {
    bool all_done = true;
    for (auto& th : threads) all_done = all_done && th->done();
    uint64_t now = now_ns();
    if (g_stop.load() && stopped_at == 0) stopped_at = now;
    if (all_done) break;
    if (now >= next_line && !cfg.quiet) {
      Totals cur = live_totals(threads);
      double secs = double(now - prev_ns) / 1e9;
      std::printf("echo-client: %6.1f s %10.0f req/s %8.3f Gbit/s errors %llu%s\n",
                  double(now - tl.t0) / 1e9, double(cur.requests - prev.requests) / secs,
                  double(cur.bytes - prev.bytes) * 8 / secs / 1e9, (unsigned long long)cur.errors,
                  prev_ns < tl.measure_start ? " (warm-up)" : "");
      std::fflush(stdout);
      prev = cur;
      prev_ns = now;
      next_line += 1'000'000'000;
    }
    std::this_thread::sleep_for(10ms);
  }
  return stopped_at ? std::min(stopped_at, tl.measure_end) : tl.measure_end;
}

}  // namespace

int main(int argc, char** argv) {
  ClientConfig cfg;
  if (int rc = parse_client_args(argc, argv, cfg); rc >= 0) return rc;
  auto server = ipv4_address(cfg.host, cfg.port);
  if (!server) {
    std::fprintf(stderr, "echo-client: --host %s: give an IPv4 address such as 127.0.0.1\n", cfg.host.c_str());
    return 2;
  }
  install_signals();

  Timeline tl;
  std::vector<std::vector<uint32_t>> ids(cfg.threads);
  for (uint32_t c = 0; c < cfg.connections; ++c) ids[c % cfg.threads].push_back(c);
  std::vector<std::unique_ptr<ClientThread>> threads;
  for (auto& v : ids) threads.push_back(std::make_unique<ClientThread>(cfg, tl, g_stop, *server, v));

  std::latch ready(cfg.threads), go(1);
  std::vector<std::thread> runners;
  for (auto& th : threads) runners.emplace_back([&, t = th.get()] { t->run(ready, go); });
  ready.wait();
  // A connection that could not even connect makes the run pointless: stop before measuring.
  if (live_totals(threads).errors > 0) g_stop.store(true);
  tl.t0 = now_ns();
  tl.measure_start = tl.t0 + uint64_t(cfg.warmup_s * 1e9);
  bool timed = cfg.requests == 0 && (!is_bulk(cfg.mode()) || cfg.bulk_bytes == 0);
  if (timed) tl.measure_end = tl.measure_start + uint64_t(cfg.duration_s * 1e9);
  go.count_down();

  uint64_t window_end = watch_progress(cfg, tl, threads);
  for (auto& r : runners) r.join();

  std::vector<const ThreadResult*> results;
  uint64_t last_completion = 0;
  for (auto& th : threads) {
    results.push_back(&th->result());
    last_completion = std::max(last_completion, th->result().last_completion_ns);
  }
  // Requests issued in the window but answered after it (an overloaded open loop) stretch it.
  uint64_t end = timed ? std::max(window_end, last_completion) : last_completion;
  double measured_s = end > tl.measure_start ? double(end - tl.measure_start) / 1e9 : 0;
  Summary s = summarize(cfg, results, measured_s);
  print_summary(cfg, s);
  bool json_ok = cfg.json_path.empty() || write_json(cfg, s, cfg.json_path);
  return s.errors.total() == 0 && json_ok ? 0 : 1;
}

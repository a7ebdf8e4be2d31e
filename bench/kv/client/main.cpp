// kv-client: memcached text-protocol load generator (Linux TCP, or unchanged under the shim).
#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <barrier>
#include <csignal>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "kv/client/client_options.hpp"
#include "kv/client/load_thread.hpp"
#include "kv/client/report.hpp"
#include "kv/client/run_state.hpp"

using namespace virtuoso::kv;

namespace {

struct Totals {
  uint64_t requests = 0, gets = 0, hits = 0, errors = 0;
};

Totals live_totals(const std::vector<LiveCounters>& live) {
  Totals t;
  for (const auto& l : live) {
    t.requests += l.requests.load(std::memory_order_relaxed);
    t.gets += l.gets.load(std::memory_order_relaxed);
    t.hits += l.hits.load(std::memory_order_relaxed);
    t.errors += l.errors.load(std::memory_order_relaxed);
  }
  return t;
}

void print_progress(const Totals& now, const Totals& before, double elapsed_s, const char* phase) {
  const uint64_t gets = now.gets - before.gets;
  const double hit =
      gets ? static_cast<double>(now.hits - before.hits) / static_cast<double>(gets) : 0;
  fmt::print("kv-client: {:6.1f}s {:>8} {:10.0f} req/s  hit {:.4f}  errors {}\n", elapsed_s, phase,
             static_cast<double>(now.requests - before.requests), hit, now.errors);
  std::fflush(stdout);
}

// Waits up to `ns` for SIGINT/SIGTERM; true if one came.
bool wait_signal(const sigset_t& set, uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

}  // namespace

int main(int argc, char** argv) {
  ClientOptions opt;
  if (const int rc = parse_client_options(argc, argv, opt); rc >= 0) return rc;

  // main takes SIGINT/SIGTERM synchronously and asks the threads to wind down.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const Workload work(opt);
  Timeline tl;
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  std::atomic<uint32_t> threads_done{0};
  std::vector<ThreadResult> results(opt.threads);
  std::vector<LiveCounters> live(opt.threads);
  std::vector<std::unique_ptr<ThreadCtx>> ctxs;
  for (uint32_t t = 0; t < opt.threads; ++t) {
    ctxs.push_back(std::make_unique<ThreadCtx>(work, tl, stop, results[t], live[t]));
  }

  // The last thread to arrive (connected, preloaded) starts the clock for everyone.
  auto start_clock = [&]() noexcept {
    tl.measure_start = virtuoso::bench::now_ns() + static_cast<uint64_t>(opt.warmup_s * 1e9);
    if (opt.requests == 0)
      tl.measure_end = tl.measure_start + static_cast<uint64_t>(opt.duration_s * 1e9);
    started.store(true, std::memory_order_release);
  };
  std::barrier ready(static_cast<std::ptrdiff_t>(opt.threads), start_clock);

  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < opt.threads; ++t) {
    const uint32_t first = static_cast<uint32_t>(uint64_t{opt.connections} * t / opt.threads);
    const uint32_t last = static_cast<uint32_t>(uint64_t{opt.connections} * (t + 1) / opt.threads);
    threads.emplace_back([&, t, first, last] {
      LoadThread thread(*ctxs[t], first, last - first);
      thread.run([&] { ready.arrive_and_wait(); });
      threads_done.fetch_add(1);
    });
  }

  bool interrupted = false;
  Totals before;
  const uint64_t t0 = virtuoso::bench::now_ns();
  uint64_t next_tick = t0 + 1'000'000'000u;
  while (threads_done.load() < opt.threads) {
    const uint64_t now = virtuoso::bench::now_ns();
    if (now < next_tick) {
      if (wait_signal(stop_signals, std::min<uint64_t>(next_tick - now, 50'000'000u))) {
        interrupted = true;
        stop.store(true);
      }
      continue;
    }
    next_tick += 1'000'000'000u;
    const Totals totals = live_totals(live);
    if (!opt.quiet) {
      const char* phase = !started.load(std::memory_order_acquire)
                              ? (opt.preload ? "preload" : "connect")
                          : now < tl.measure_start ? "warmup"
                                                   : "measure";
      print_progress(totals, before, static_cast<double>(now - t0) / 1e9, phase);
    }
    before = totals;
  }
  for (auto& th : threads) th.join();

  RunSummary summary = summarize(results, tl, virtuoso::bench::now_ns(), opt);
  summary.interrupted = interrupted;
  print_summary(summary, opt);
  bool ok = summary.errors.total() == 0;
  if (!opt.json_path.empty() && !write_json(summary, opt, opt.json_path)) ok = false;
  if (summary.requests() == 0 && ok) {
    fmt::print(stderr, "kv-client: no request completed in the measured window\n");
    ok = false;
  }
  return ok ? 0 : 1;
}

// congestion-tick-sim: how the slow path's per-tick replay of congestion control (RenoWindow and
// CubicWindow::on_tick) settles under random loss, against the 1.22 / sqrt(p) segments Reno's
// per-ACK law predicts. The model is the stack's own: the window a tick publishes holds for the
// whole tick (10 ms), every round trip sends that window, each segment is lost with probability p,
// and a round trip with a loss is one congestion event for the next tick. No network, no clock:
// it isolates the controller's arithmetic from everything else bench/loss_goodput measures.
//
//   congestion-tick-sim [--ticks N] [--json]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "slowpath/core/cubic_window.hpp"
#include "slowpath/core/reno_window.hpp"

namespace {

using virtuoso::slowpath::CubicWindow;
using virtuoso::slowpath::RenoWindow;

constexpr uint32_t kMss = 1460;
constexpr uint64_t kTickUs = 10'000;

struct Reno {
  RenoWindow w{kMss};
  uint32_t cwnd() const { return w.cwnd(); }
  void tick(uint64_t acked, uint32_t events, uint64_t) { w.on_tick(acked, events, w.cwnd()); }
};
struct Cubic {
  CubicWindow w{kMss};
  uint32_t cwnd() const { return w.cwnd(); }
  void tick(uint64_t acked, uint32_t events, uint64_t now_us) { w.on_tick(acked, events, w.cwnd(), now_us, kTickUs); }
};

// Mean window in segments over the ticks after the first sixth (the start-up left out).
template <typename Algo>
double mean_window(double loss, double rtt_us, int ticks) {
  Algo a;
  std::mt19937_64 gen(1);
  std::bernoulli_distribution lost(loss);
  int round_trips = std::max(1, int(double(kTickUs) / rtt_us));
  double sum = 0;
  int counted = 0;
  uint64_t now = 0;
  for (int t = 0; t < ticks; ++t) {
    uint64_t acked = 0;
    uint32_t events = 0;
    for (int r = 0; r < round_trips; ++r) {
      uint32_t segs = std::max<uint32_t>(a.cwnd() / kMss, 1);
      bool any = false;
      for (uint32_t i = 0; i < segs; ++i) any = lost(gen) || any;
      acked += uint64_t(segs) * kMss;
      events += any ? 1 : 0;
    }
    now += kTickUs;
    a.tick(acked, events, now);
    if (t >= ticks / 6) {
      sum += double(a.cwnd()) / kMss;
      ++counted;
    }
  }
  return sum / counted;
}

}  // namespace

int main(int argc, char** argv) {
  int ticks = 3000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ticks") == 0 && i + 1 < argc) {
      ticks = std::max(60, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: congestion-tick-sim [--ticks N] [--json]\n");
      return 2;
    }
  }
  const double rtts[] = {50, 500, 5000};
  const double losses[] = {0.001, 0.01};
  if (json) std::printf("[");
  else std::printf("| rtt (us) | loss | reno (segments) | cubic (segments) | 1.22/sqrt(p) |\n|---|---|---|---|---|\n");
  bool first = true;
  for (double rtt : rtts) {
    for (double p : losses) {
      double reno = mean_window<Reno>(p, rtt, ticks);
      double cubic = mean_window<Cubic>(p, rtt, ticks);
      double law = 1.22 / std::sqrt(p);
      if (json) {
        std::printf("%s{\"rtt_us\":%g,\"loss\":%g,\"reno\":%.2f,\"cubic\":%.2f,\"reno_law\":%.2f}", first ? "" : ",",
                    rtt, p, reno, cubic, law);
      } else {
        std::printf("| %g | %g%% | %.1f | %.1f | %.1f |\n", rtt, p * 100, reno, cubic, law);
      }
      first = false;
    }
  }
  if (json) std::printf("]\n");
  return 0;
}

// One flow's congestion window, by the algorithm chosen for it (its tenant's, or the host's).
#pragma once
#include <cstdint>
#include <variant>

#include "config/congestion_algo.hpp"
#include "cubic_window.hpp"
#include "dctcp_window.hpp"
#include "pacing_rate.hpp"
#include "reno_window.hpp"
#include "timely_rate.hpp"

namespace virtuoso::slowpath {

// What one slow-path tick learnt from a flow's fast-path counters (the changes since the last).
struct CongestionTick {
  uint64_t acked = 0;        // bytes acknowledged
  bool limited = true;       // the window limited what was sent: only then may it grow (RFC 7661)
  uint32_t events = 0;       // congestion events: losses, and for Reno and CUBIC rounds with ECE
  uint64_t ece_bytes = 0;    // DCTCP: bytes acknowledged by ACKs with ECE
  uint32_t rounds = 0;       // DCTCP: round trips completed
  uint32_t ece_rounds = 0;   // DCTCP: of those, rounds with ECE
  uint32_t flight = 0;       // bytes in flight now
  uint64_t now_us = 0;
  uint64_t span_us = 0;      // since the last tick (0: the first)
  uint32_t rtt_us = 0;       // TIMELY: the newest round-trip sample if one came since the last tick
  uint32_t min_rtt_us = 0;   // TIMELY: the lowest sample
  uint32_t srtt_us = 0;
};

class CongestionWindow {
 public:
  CongestionWindow() = default;
  CongestionWindow(config::CongestionAlgo algo, uint32_t mss) {
    if (algo == config::CongestionAlgo::kCubic) w_ = CubicWindow(mss);
    else if (algo == config::CongestionAlgo::kDctcp) w_ = DctcpWindow(mss);
    else if (algo == config::CongestionAlgo::kTimely) w_ = TimelyRate(mss);
    else w_ = RenoWindow(mss);
  }

  config::CongestionAlgo algo() const {
    if (std::holds_alternative<CubicWindow>(w_)) return config::CongestionAlgo::kCubic;
    if (std::holds_alternative<DctcpWindow>(w_)) return config::CongestionAlgo::kDctcp;
    if (std::holds_alternative<TimelyRate>(w_)) return config::CongestionAlgo::kTimely;
    return config::CongestionAlgo::kReno;
  }
  // A rate-based algorithm (TIMELY) is its pacing rate: paced whatever [tcp] pacing says.
  bool rate_based() const { return std::holds_alternative<TimelyRate>(w_); }
  // The rate to pace at (bytes a second, 0: none yet): TIMELY's own, else the window per round trip.
  uint64_t pacing_rate(uint32_t srtt_us) const {
    if (const auto* t = std::get_if<TimelyRate>(&w_)) return t->rate();
    return slowpath::pacing_rate(cwnd(), ssthresh(), srtt_us);
  }
  uint32_t cwnd() const {
    return std::visit([](const auto& w) { return w.cwnd(); }, w_);
  }
  uint32_t ssthresh() const {
    return std::visit([](const auto& w) { return w.ssthresh(); }, w_);
  }
  // What a loss leaves of the window, in 1/1024: the ssthresh the fast path's PRR brings the
  // flow down to during the recovery, before this window's own cut arrives. 0: rate-based, no PRR.
  uint16_t loss_beta() const {
    switch (algo()) {
      case config::CongestionAlgo::kCubic:
        return uint16_t(CubicWindow::kBeta * 1024);
      case config::CongestionAlgo::kTimely:
        return 0;
      default:
        return 512;  // Reno, and DCTCP on a loss (RFC 8257 3.5)
    }
  }
  // DCTCP's estimate of the fraction of bytes marked; -1 for the others.
  double dctcp_alpha() const {
    const auto* d = std::get_if<DctcpWindow>(&w_);
    return d ? d->alpha() : -1;
  }

  void on_tick(const CongestionTick& t) {
    uint64_t grow = t.limited ? t.acked : 0;  // an app- or peer-limited flow keeps its window
    if (auto* c = std::get_if<CubicWindow>(&w_)) {
      c->on_tick(grow, t.events, t.flight, t.now_us, t.span_us);
    } else if (auto* d = std::get_if<DctcpWindow>(&w_)) {
      d->on_tick(t.acked, t.ece_bytes, t.rounds, t.ece_rounds, t.events, t.flight, t.limited);
    } else if (auto* r = std::get_if<TimelyRate>(&w_)) {
      r->on_tick(t.rtt_us, t.min_rtt_us, t.srtt_us, t.events);
    } else {
      std::get<RenoWindow>(w_).on_tick(grow, t.events, t.flight);
    }
  }
  // The last loss's cut was needless (RFC 3708: every resend reported as a duplicate).
  void undo() {
    if (auto* c = std::get_if<CubicWindow>(&w_)) c->undo();
    else if (auto* d = std::get_if<DctcpWindow>(&w_)) d->undo();
    else if (auto* r = std::get_if<RenoWindow>(&w_)) r->undo();
  }
  void on_timeout(uint32_t flight, uint64_t now_us) {
    if (auto* c = std::get_if<CubicWindow>(&w_)) {
      c->on_timeout(flight, now_us);
    } else if (auto* d = std::get_if<DctcpWindow>(&w_)) {
      d->on_timeout(flight);
    } else if (auto* r = std::get_if<TimelyRate>(&w_)) {
      r->on_timeout();
    } else {
      std::get<RenoWindow>(w_).on_timeout(flight);
    }
  }

 private:
  std::variant<RenoWindow, CubicWindow, DctcpWindow, TimelyRate> w_;
};

}  // namespace virtuoso::slowpath

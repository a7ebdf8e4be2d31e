// One flow's congestion window, by the algorithm chosen for it (its tenant's, or the host's).
#pragma once
#include <cstdint>
#include <variant>

#include "config/congestion_algo.hpp"
#include "cubic_window.hpp"
#include "reno_window.hpp"

namespace virtuoso::slowpath {

class CongestionWindow {
 public:
  CongestionWindow() = default;
  CongestionWindow(config::CongestionAlgo algo, uint32_t mss) {
    if (algo == config::CongestionAlgo::kCubic) w_ = CubicWindow(mss);
    else w_ = RenoWindow(mss);
  }

  config::CongestionAlgo algo() const {
    return std::holds_alternative<CubicWindow>(w_) ? config::CongestionAlgo::kCubic : config::CongestionAlgo::kReno;
  }
  uint32_t cwnd() const {
    return std::visit([](const auto& w) { return w.cwnd(); }, w_);
  }
  uint32_t ssthresh() const {
    return std::visit([](const auto& w) { return w.ssthresh(); }, w_);
  }

  // What a slow-path tick saw: see RenoWindow::on_tick and CubicWindow::on_tick.
  void on_tick(uint64_t acked, uint32_t events, uint32_t flight, uint64_t now_us, uint64_t span_us) {
    if (auto* c = std::get_if<CubicWindow>(&w_)) {
      c->on_tick(acked, events, flight, now_us, span_us);
    } else {
      std::get<RenoWindow>(w_).on_tick(acked, events, flight);
    }
  }
  void on_timeout(uint32_t flight, uint64_t now_us) {
    if (auto* c = std::get_if<CubicWindow>(&w_)) {
      c->on_timeout(flight, now_us);
    } else {
      std::get<RenoWindow>(w_).on_timeout(flight);
    }
  }

 private:
  std::variant<RenoWindow, CubicWindow> w_;
};

}  // namespace virtuoso::slowpath

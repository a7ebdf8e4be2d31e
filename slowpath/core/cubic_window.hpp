// CUBIC congestion window arithmetic (RFC 9438), driven per slow-path tick like RenoWindow: the
// fast path enforces FlowEntry::cwnd, the slow path computes it from what each tick saw.
//
// After a congestion event the window follows W(t) = C (t - K)^3 + W_max (segments, t in seconds
// since the event), concave up to the window the loss happened at, then convex beyond it; where
// Reno would be faster (short round trips, the "Reno-friendly region"), it follows Reno's
// estimate instead. Slow start and the RFC 6928 initial window as in RenoWindow; no HyStart.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace virtuoso::slowpath {

// The curve's state: what a needless cut's undo restores.
struct CubicState {
  uint32_t mss_;
  uint32_t cwnd_;
  uint32_t ssthresh_;
  bool epoch_started_ = false;
  uint64_t epoch_us_ = 0;
  double w_max_ = 0;  // bytes
  double k_ = 0;      // seconds from the epoch's start to W_max
  double w_est_ = 0;  // bytes: the Reno-friendly estimate
};

class CubicWindow : private CubicState {
  using State = CubicState;

 public:
  static constexpr uint32_t kInitialSegments = 10;  // RFC 6928
  static constexpr double kC = 0.4;                 // RFC 9438 4.2, segments / s^3
  static constexpr double kBeta = 0.7;              // RFC 9438 4.6: the window after a cut
  // RFC 9438 4.3: Reno-friendly additive increase per window acknowledged, so that an AIMD of
  // (kAlpha, kBeta) gets Reno's (1, 0.5) share.
  static constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);

  CubicWindow() : CubicWindow(1460) {}
  explicit CubicWindow(uint32_t mss)
      : State{std::max<uint32_t>(mss, 1), kInitialSegments * std::max<uint32_t>(mss, 1), kUnlimited} {}

  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  uint32_t w_max() const { return uint32_t(w_max_); }
  double k_seconds() const { return k_; }

  // W(t) of the current epoch in bytes, `us` after its start (tests, status).
  double cubic_at(uint64_t us) const {
    double t = double(us) / 1e6 - k_;
    return kC * t * t * t * mss_ + w_max_;
  }

  // One tick: `acked` bytes acknowledged and `events` congestion events over the `span_us` before
  // `now_us`, `flight` bytes in flight now. As RenoWindow::on_tick, the events are spread evenly
  // over the span, the acknowledged bytes in equal parts between them.
  void on_tick(uint64_t acked, uint32_t events, uint32_t flight, uint64_t now_us, uint64_t span_us) {
    span_us = std::min(span_us, now_us);
    uint64_t parts = uint64_t(events) + 1;
    uint64_t part = acked / parts;
    for (uint32_t i = 0; i < events; ++i) {
      uint64_t at = now_us - span_us + span_us * (i + 1) / parts;
      grow(part, at);
      cut(i == 0 ? flight : cwnd_, at);
    }
    grow(acked - part * events, now_us);
  }

  // A retransmission timeout (RFC 9438 4.8): W_max and ssthresh as for a loss, the window one
  // segment, and the next epoch starts when slow start ends.
  void on_timeout(uint32_t flight, uint64_t now_us) {
    cut(flight, now_us);
    cwnd_ = mss_;
    epoch_started_ = false;
    has_prior_ = false;  // a timeout is never undone here
  }

  // The last loss's cut was needless (its resends were all reported as duplicates, RFC 3708):
  // the curve as it was before it, the window that or what has grown since if more. Once per cut.
  void undo() {
    if (!has_prior_) return;
    uint32_t now = cwnd_;
    static_cast<State&>(*this) = prior_;
    cwnd_ = std::max(cwnd_, now);
    has_prior_ = false;
  }

 private:
  static constexpr uint32_t kUnlimited = UINT32_MAX;
  static constexpr double kMaxCwnd = double(1u << 30);

  void cut(uint32_t flight, uint64_t at_us) {
    prior_ = static_cast<const State&>(*this);
    has_prior_ = true;
    double w = double(cwnd_);
    // RFC 9438 4.7 fast convergence: a loss below the last W_max means others joined; let go.
    w_max_ = (epoch_started_ && w < w_max_) ? w * (1 + kBeta) / 2 : w;
    ssthresh_ = std::max<uint32_t>(uint32_t(double(std::min(flight, cwnd_)) * kBeta), 2 * mss_);
    cwnd_ = ssthresh_;
    start_epoch(at_us);
  }

  void start_epoch(uint64_t at_us) {
    epoch_started_ = true;
    epoch_us_ = at_us;
    k_ = w_max_ > cwnd_ ? std::cbrt((w_max_ - cwnd_) / mss_ / kC) : 0.0;  // RFC 9438 4.2 eq. 2
    w_est_ = double(cwnd_);
  }

  void grow(uint64_t acked, uint64_t at_us) {
    if (acked == 0) return;
    if (in_slow_start()) {
      cwnd_ = uint32_t(std::min<double>(double(cwnd_) + double(acked), kMaxCwnd));
      return;
    }
    if (!epoch_started_) {  // slow start ended without a loss (after a timeout): W_max is here
      w_max_ = double(cwnd_);
      start_epoch(at_us);
    }
    double w = double(cwnd_);
    w_est_ += kAlpha * double(mss_) * double(acked) / w;  // RFC 9438 4.3
    double target = std::max(cubic_at(at_us >= epoch_us_ ? at_us - epoch_us_ : 0), w_est_);
    // Never faster than the ACK clock: at most the bytes acknowledged (slow start's own pace).
    if (target > w) cwnd_ = uint32_t(std::min({target, w + double(acked), kMaxCwnd}));
  }

  State prior_;  // before the last loss's cut, for undo()
  bool has_prior_ = false;
};

}  // namespace virtuoso::slowpath

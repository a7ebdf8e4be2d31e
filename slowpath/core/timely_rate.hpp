// TIMELY (Mittal et al., "TIMELY: RTT-based Congestion Control for the Datacenter", SIGCOMM 2015):
// a sending rate from the round trip's gradient, enforced by the fast path's pacing.
//
// Each new round-trip sample (the lowest of the fast path's latest round trip,
// FlowEntry::rtt_round_us, taken once per round trip by the slow path's pacing tick: a receiver's
// delayed ACKs inflate some samples of a round, seldom all) updates the rate as the paper's
// Algorithm 1:
//   rtt_diff  <- (1 - a) rtt_diff + a (rtt - prev_rtt)         (kEwma)
//   gradient  =  rtt_diff / min_rtt
//   rtt < T_low:   rate += delta                               (the path is idle: grow)
//   rtt > T_high:  rate *= 1 - b (1 - T_high / rtt)            (a queue: cut hard, whatever the gradient)
//   gradient <= 0: rate += n delta, n = 5 after 5 such samples in a row (hyperactive increase)
//   else:          rate *= 1 - b min(gradient, 1)              (the queue grows: cut in proportion)
// The paper's thresholds are absolute (T_low 50 us, T_high 500 us-1 ms in one datacenter); here they
// are queueing delay above the path's own lowest round trip (T_low = min_rtt + 50 us, T_high =
// min_rtt + 1 ms), so the same controller serves a 20 us rack and a 10 ms path: with absolute ones
// every sample of a path longer than T_high is a cut, and such a flow sits at the floor.
// The paper samples per completion of 16-64 KB; here one sample a round trip, so a is larger than
// its per-packet implementations use. TCP adds what RDMA did not have: a loss (a congestion event,
// at most one a round trip) cuts the rate by b / 8 only, since a queue that overflows has already
// pushed the round trip past T_high, and random loss must not starve a flow whose increase is
// additive (at 1% loss, a cut by b / 2 each round trip held a flow at the floor); a timeout drops
// the rate to the floor. The window (what may be in flight) is
// twice the rate's bytes per round trip, so that the rate, not the window, limits the flow.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::slowpath {

class TimelyRate {
 public:
  static constexpr double kEwma = 0.25;         // a: weight of a new difference
  static constexpr double kBeta = 0.8;          // b: multiplicative decrease
  static constexpr double kLossCut = kBeta / 8;  // a congestion event's cut
  static constexpr double kDelta = 1.25e6;      // delta: additive step, bytes a second (10 Mbit/s)
  static constexpr uint32_t kTLowUs = 50;     // queueing delay above min_rtt: T_low
  static constexpr uint32_t kTHighUs = 1000;  // and T_high
  static constexpr uint32_t kHaiAfter = 5;       // samples with a gradient <= 0 before n = 5
  static constexpr double kMinRate = 1.25e6;     // 10 Mbit/s
  static constexpr double kMaxRate = 12.5e9;     // 100 Gbit/s
  static constexpr uint32_t kMinWindowSegments = 4;

  TimelyRate() : TimelyRate(1460) {}
  explicit TimelyRate(uint32_t mss) : mss_(std::max<uint32_t>(mss, 1)) {}

  uint64_t rate() const { return uint64_t(rate_); }  // bytes a second; 0 before the first sample
  double gradient() const { return gradient_; }
  // Bytes that may be in flight: the rate's bytes over two round trips; before the first sample,
  // the initial window every algorithm starts with (RFC 6928).
  uint32_t cwnd() const {
    if (rate_ == 0 || srtt_us_ == 0) return kInitialSegments * mss_;
    uint64_t w = uint64_t(rate_ * 2 * srtt_us_ / 1e6);
    return uint32_t(std::clamp<uint64_t>(w, uint64_t{kMinWindowSegments} * mss_, kMaxWindow));
  }
  uint32_t ssthresh() const { return UINT32_MAX; }  // no slow start

  // A tick: `rtt_us` the newest round-trip sample (0: none since the last tick), `min_rtt_us` the
  // lowest seen, `srtt_us` the smoothed one (for the window), `events` congestion events (losses).
  void on_tick(uint32_t rtt_us, uint32_t min_rtt_us, uint32_t srtt_us, uint32_t events) {
    if (srtt_us != 0) srtt_us_ = srtt_us;
    for (uint32_t i = 0; i < events && rate_ > 0; ++i) rate_ = std::max(rate_ * (1 - kLossCut), kMinRate);
    if (rtt_us == 0) return;
    if (rate_ == 0) {  // the first sample: the initial window's rate, as a window-based start
      rate_ = std::clamp(double(kInitialSegments * mss_) * 1e6 / double(rtt_us), kMinRate, kMaxRate);
      prev_rtt_us_ = rtt_us;
      return;
    }
    // A TCP receiver acknowledges every second segment, holding the first one's ACK until the
    // next arrives: at a paced rate, one pacing gap later. That delay is the sender's own doing,
    // not a queue: left in, a slow flow's samples pass T_high and cut it further, for good.
    double gap_us = double(mss_) * 1e6 / rate_;
    rtt_us = uint32_t(std::max(double(rtt_us) - gap_us, double(std::max<uint32_t>(min_rtt_us, 1))));
    double diff = double(rtt_us) - double(prev_rtt_us_);
    prev_rtt_us_ = rtt_us;
    rtt_diff_ = (1 - kEwma) * rtt_diff_ + kEwma * diff;
    gradient_ = rtt_diff_ / double(std::max(min_rtt_us, kTLowUs));
    uint32_t t_low = min_rtt_us + kTLowUs, t_high = min_rtt_us + kTHighUs;
    if (rtt_us < t_low) {
      negative_run_ = 0;
      rate_ += kDelta;
    } else if (rtt_us > t_high) {
      negative_run_ = 0;
      rate_ *= 1 - kBeta * (1 - double(t_high) / double(rtt_us));
    } else if (gradient_ <= 0) {
      ++negative_run_;
      rate_ += (negative_run_ >= kHaiAfter ? 5 : 1) * kDelta;
    } else {
      negative_run_ = 0;
      rate_ *= 1 - kBeta * std::min(gradient_, 1.0);
    }
    rate_ = std::clamp(rate_, kMinRate, kMaxRate);
  }

  void on_timeout() {
    if (rate_ > 0) rate_ = kMinRate;
    negative_run_ = 0;
  }

 private:
  static constexpr uint32_t kInitialSegments = 10;  // RFC 6928, as the windows start
  static constexpr uint64_t kMaxWindow = 1u << 30;
  uint32_t mss_;
  double rate_ = 0;
  double rtt_diff_ = 0;
  double gradient_ = 0;
  uint32_t prev_rtt_us_ = 0;
  uint32_t srtt_us_ = 0;
  uint32_t negative_run_ = 0;
};

}  // namespace virtuoso::slowpath

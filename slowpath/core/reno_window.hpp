// Congestion window arithmetic (RFC 5681 Reno with RFC 3465 byte counting, RFC 6928 initial
// window), driven by what the fast path reports once per slow-path tick, not per ACK.
//
// The slow path computes each flow's window; the fast path only enforces it (FlowEntry::cwnd).
// A tick sees the bytes acknowledged and the loss recoveries entered since the last tick (on_tick):
// recoveries within a round trip of the last cut are one congestion event (one cut); slow start
// adds the bytes acknowledged, congestion avoidance one segment per window acknowledged.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::slowpath {

class RenoWindow {
 public:
  static constexpr uint32_t kInitialSegments = 10;  // RFC 6928

  RenoWindow() : RenoWindow(1460) {}
  explicit RenoWindow(uint32_t mss)
      : mss_(std::max<uint32_t>(mss, 1)), cwnd_(kInitialSegments * mss_), ssthresh_(kUnlimited) {}

  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }

  // Bytes newly acknowledged since the last call.
  void on_acked(uint64_t bytes) {
    if (bytes == 0) return;
    uint64_t grow;
    if (in_slow_start()) {
      grow = bytes;  // RFC 3465 byte counting: a tick sums many ACKs, each of a few segments
    } else {
      acc_ += bytes;
      grow = acc_ / cwnd_ * mss_;  // one segment per window's worth acknowledged
      acc_ %= cwnd_;
    }
    cwnd_ = uint32_t(std::min<uint64_t>(uint64_t(cwnd_) + grow, kMaxCwnd));
  }

  // A loss repaired by fast retransmit or SACK (RFC 5681 3.2 step 2): halve what was in flight.
  // With SACK the bytes between snd_una and snd_nxt may be far more than the window (SACKed data
  // above holes leaves the pipe, RFC 6675), and halving them would raise the window: at most the
  // window is halved (as Linux's tcp_reno_ssthresh, which halves cwnd).
  void on_loss(uint32_t flight) {
    prior_cwnd_ = cwnd_;
    prior_ssthresh_ = ssthresh_;
    ssthresh_ = std::max(std::min(flight, cwnd_) / 2, 2 * mss_);
    cwnd_ = ssthresh_;
    acc_ = 0;
  }

  // One slow-path tick of ACK clock: `acked` bytes acknowledged and `events` congestion events
  // (loss recoveries at least a round trip apart) since the last tick, with `flight` bytes in
  // flight now. Per-ACK Reno would have interleaved growth and cuts; the tick replays that: the
  // bytes in events + 1 equal parts, a cut between parts (the first halves the flight, later
  // ones the window then). A tick spans many round trips on a fast link, so dropping the growth
  // of a tick that saw a loss would pin the window at its floor under steady random loss.
  void on_tick(uint64_t acked, uint32_t events, uint32_t flight) {
    uint64_t part = acked / (uint64_t(events) + 1);
    for (uint32_t i = 0; i < events; ++i) {
      on_acked(part);
      on_loss(i == 0 ? flight : cwnd_);
    }
    on_acked(acked - part * events);
  }

  // The last loss's cut was needless (its resends were all reported as duplicates, RFC 3708):
  // the window and threshold from before it, or what has grown since if more. Once per cut.
  void undo() {
    if (prior_cwnd_ == 0) return;
    cwnd_ = std::max(cwnd_, prior_cwnd_);
    ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
    prior_cwnd_ = 0;
  }

  // A cut to `w` bytes (at least two segments) that ends slow start: ECN's answer to congestion
  // (RFC 3168 6.1.2 halves; DCTCP, RFC 8257 3.3, takes alpha / 2).
  void reduce(uint32_t w) {
    prior_cwnd_ = 0;  // an ECN answer is never undone
    ssthresh_ = std::max(w, 2 * mss_);
    cwnd_ = ssthresh_;
    acc_ = 0;
  }

  // A retransmission timeout (RFC 5681 3.1, eq. 4): the loss window is one segment.
  void on_timeout(uint32_t flight) {
    prior_cwnd_ = 0;
    ssthresh_ = std::max(std::min(flight, cwnd_) / 2, 2 * mss_);
    cwnd_ = mss_;
    acc_ = 0;
  }

 private:
  static constexpr uint32_t kUnlimited = UINT32_MAX;
  static constexpr uint32_t kMaxCwnd = 1u << 30;
  uint32_t mss_;
  uint32_t cwnd_;
  uint32_t ssthresh_;
  uint64_t acc_ = 0;  // bytes acknowledged in congestion avoidance not yet turned into growth
  uint32_t prior_cwnd_ = 0;  // before the last loss's cut, for undo(); 0: nothing to undo
  uint32_t prior_ssthresh_ = 0;
};

}  // namespace virtuoso::slowpath

// Congestion window arithmetic (RFC 5681 Reno with RFC 3465 byte counting, RFC 6928 initial
// window), driven by what the fast path reports once per slow-path tick, not per ACK.
//
// The slow path computes each flow's window; the fast path only enforces it (FlowEntry::cwnd).
// A tick sees the bytes acknowledged and whether anything was resent since the last tick: one
// loss cuts the window at most once per round trip; slow start adds the bytes acknowledged,
// congestion avoidance one segment per window acknowledged.
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
  void on_loss(uint32_t flight) {
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = ssthresh_;
    acc_ = 0;
  }

  // A retransmission timeout (RFC 5681 3.1, eq. 4): the loss window is one segment.
  void on_timeout(uint32_t flight) {
    ssthresh_ = std::max(flight / 2, 2 * mss_);
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
};

}  // namespace virtuoso::slowpath

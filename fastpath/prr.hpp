// Proportional Rate Reduction (RFC 6937, with the slow-start reduction bound): how many bytes a
// flow in loss recovery may send in answer to each ACK, so that its window comes down to the
// slow path's new threshold smoothly over the recovery instead of stopping and then bursting.
//
// Pure arithmetic on byte counts; the fast path (tcp_recovery.cpp) feeds it each ACK's delivered
// bytes and its estimate of the pipe, and spends the allowance on resends first, then new data.
#pragma once
#include <algorithm>
#include <cstdint>

namespace virtuoso::fastpath {

class Prr {
 public:
  bool active() const { return active_; }

  // A recovery begins from a window of `recover_fs` bytes (RecoverFS) towards the one congestion
  // control will cut to (ssthresh).
  void start(uint32_t ssthresh, uint32_t recover_fs) {
    active_ = true;
    ssthresh_ = ssthresh;
    recover_fs_ = std::max<uint32_t>(recover_fs, 1);
    delivered_ = 0;
    out_ = 0;
    allowance_ = 0;
  }
  void stop() { active_ = false; }

  // An ACK during the recovery: `delivered` bytes newly acknowledged or SACKed, `pipe` bytes
  // still believed in the network. Sets what may be sent now (replacing what the last ACK left).
  void on_ack(uint32_t delivered, uint32_t pipe, uint32_t mss) {
    delivered_ += delivered;
    int64_t sndcnt;
    if (pipe > ssthresh_) {
      // Proportional: over the recovery, ssthresh/RecoverFS of what is delivered goes out again.
      uint64_t due = (delivered_ * ssthresh_ + recover_fs_ - 1) / recover_fs_;
      sndcnt = int64_t(due) - int64_t(out_);
    } else {
      // The pipe fell below the target (more losses than expected): grow back towards it no
      // faster than slow start would (PRR-SSRB).
      int64_t limit = std::max<int64_t>(int64_t(delivered_) - int64_t(out_), delivered) + mss;
      sndcnt = std::min<int64_t>(int64_t(ssthresh_) - int64_t(pipe), limit);
    }
    // The ACK that starts a recovery always releases the fast retransmit (RFC 6937bis), also when
    // it delivered nothing new (a third duplicate ACK without SACK blocks).
    if (sndcnt <= 0 && out_ == 0) sndcnt = mss;
    allowance_ = uint32_t(std::clamp<int64_t>(sndcnt, 0, INT32_MAX));
  }

  // May another segment go? It may be up to a segment longer than what is left: the overshoot is
  // counted in prr_out and taken from the next ACK's share.
  // With nothing in flight no ACK will come to release more: then one may always go (a recovery
  // entered after a timeout's go-back-N can ack everything resent below its recovery point).
  bool may_send(bool nothing_in_flight = false) const {
    return !active_ || allowance_ > 0 || nothing_in_flight;
  }
  void sent(uint32_t bytes) {
    if (!active_) return;
    out_ += bytes;
    allowance_ = bytes >= allowance_ ? 0 : allowance_ - bytes;
  }

  uint64_t delivered() const { return delivered_; }
  uint64_t out() const { return out_; }

 private:
  bool active_ = false;
  uint32_t ssthresh_ = 0;
  uint32_t recover_fs_ = 1;
  uint64_t delivered_ = 0;  // prr_delivered
  uint64_t out_ = 0;        // prr_out
  uint32_t allowance_ = 0;  // sndcnt left from the last ACK
};

}  // namespace virtuoso::fastpath

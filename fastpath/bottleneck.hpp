// The emulated bottleneck: one direction's link of a given rate behind a FIFO, with tail drop at a
// byte limit and CE marking (RFC 3168) of ECN-capable frames that find more than a threshold queued.
//
// The fault injector (fault_port.hpp) puts one in each direction, after its own faults, so that
// congestion control meets a real queue: a rate, a standing queue, marks and drops. A frame's
// departure time is set on entry (the link serialises frames in order at the rate), so the bytes
// still waiting are (link busy until - now) x rate, exact however often the loop looks. The FIFO is
// a fixed array made at construction: nothing allocates per frame. One lcore owns it.
//
// After the link, an optional propagation delay: a frame is due delay_us after its departure. The
// delay is the same for every frame, so the FIFO keeps their order; frames on the wire still take
// slots of the array (2048 frames: 3 MB of full frames, 48 ms of wire at 500 Mbit/s).
#pragma once
#include <array>
#include <cstdint>

#include "port.hpp"
#include "virtuoso/abi/fault_settings.hpp"

namespace virtuoso::fastpath {

class Bottleneck {
 public:
  static constexpr uint32_t kCapacity = 2048;  // frames; each holds a packet buffer while it waits

  // New settings; frames already queued keep their departure times. Rate 0 and delay 0 turn it
  // off: what is queued then leaves at once. Rate 0 with a delay: a delay line, no queue.
  void configure(const abi::FaultDirection& s);
  bool active() const { return rate_mbps_ > 0 || delay_ns_ > 0; }
  uint32_t size() const { return count_; }

  // Offers `frame` at `now_us`: true if queued (the bottleneck owns it until take_due gives it
  // back), false if dropped at the tail (the caller frees it). Marks it CE on entry if it is
  // ECN-capable and more than mark_bytes wait ahead of it.
  bool offer(const Frame& frame, uint64_t now_us, abi::BottleneckCounters& c);
  // The first frame, if it has left the link and crossed the delay by `now_us` (any queued frame
  // once inactive).
  bool take_due(uint64_t now_us, Frame& out);
  // Bytes not yet sent at `now_us`.
  uint64_t backlog_bytes(uint64_t now_us) const;

 private:
  struct Slot {
    Frame frame;
    uint64_t depart_ns;
  };
  std::array<Slot, kCapacity> ring_{};
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  double rate_mbps_ = 0;
  uint64_t limit_bytes_ = 0;
  uint64_t mark_bytes_ = 0;
  uint64_t delay_ns_ = 0;
  uint64_t busy_until_ns_ = 0;  // when the link finishes the last frame queued
};

}  // namespace virtuoso::fastpath

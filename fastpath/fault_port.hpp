// The fault injector: a PacketPort that wraps another and loses, delays (reorders), duplicates and
// corrupts frames, independently per direction, from a seeded generator; then, if set, passes them
// through an emulated bottleneck (bottleneck.hpp): a rate, a queue, CE marks, tail drop.
//
// rx faults apply to frames from the wire (inner rx_burst), tx faults to frames we send (send).
// Held (reordered) frames wait in a fixed array made at construction, so nothing allocates per
// frame; when it is full the frame due first leaves early. A given seed and input sequence
// reproduce the same faults, and each direction has its own generator, so traffic one way never
// changes the faults the other way. Not thread-safe: owned by one lcore, like the port it wraps.
#pragma once
#include <array>
#include <cstdint>

#include "bottleneck.hpp"
#include "clock.hpp"
#include "port.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::fastpath {

// xoshiro256** (Blackman and Vigna), seeded through splitmix64: small, fast, good enough for faults.
class FaultRng {
 public:
  explicit FaultRng(uint64_t seed = 1) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next();
  // True with probability threshold / 2^53 (see FaultPort::threshold); draws nothing for 0.
  bool chance(uint64_t threshold) { return threshold != 0 && (next() >> 11) < threshold; }

 private:
  std::array<uint64_t, 4> s_{};
};

class FaultPort final : public PacketPort {
 public:
  static constexpr uint16_t kHoldCapacity = 128;  // reordered frames held per direction
  static constexpr uint16_t kMaxBurst = 64;       // frames taken from the inner port per rx_burst

  // With `shared` (the control region's header), the counters go to its FpStats and FaultControl
  // and poll_control() follows its FaultControl; without, the port keeps its counters itself.
  FaultPort(PacketPort& inner, const Clock& clock, const abi::FaultSettings& settings,
            abi::ControlHeader* shared = nullptr);
  ~FaultPort() override;
  FaultPort(const FaultPort&) = delete;
  FaultPort& operator=(const FaultPort&) = delete;

  // New settings: both generators restart from settings.seed and the burst state is reset, so a
  // change at run time is as reproducible as the start. Frames already held keep their times.
  void apply(const abi::FaultSettings& settings);
  const abi::FaultSettings& settings() const { return settings_; }

  // Applies settings newly published in the shared FaultControl block (a seqlock read: one load
  // when nothing changed) and reports the generation applied. Returns true when it applied.
  bool poll_control();

  uint16_t rx_burst(Frame* frames, uint16_t max) override;
  bool alloc(Frame& frame) override { return inner_.alloc(frame); }
  void free(Frame& frame) override { inner_.free(frame); }
  void send(Frame& frame) override;
  void flush() override;
  PortCounters counters() const override { return inner_.counters(); }

  const abi::FaultCounters& rx_counters() const { return *rx_.counters; }
  const abi::FaultCounters& tx_counters() const { return *tx_.counters; }
  uint64_t rx_released_early() const { return *rx_.released_early; }
  uint64_t tx_released_early() const { return *tx_.released_early; }
  const abi::BottleneckCounters& rx_queue_counters() const { return *rx_.queue_counters; }
  const abi::BottleneckCounters& tx_queue_counters() const { return *tx_.queue_counters; }
  // Frames waiting to be released (the loop must not sleep long while there are any).
  uint32_t held() const { return uint32_t(rx_.held_count) + tx_.held_count + rx_.queue.size() + tx_.queue.size(); }

  // Probability p as a threshold for FaultRng::chance.
  static uint64_t threshold(double p);

 private:
  struct Held {
    Frame frame;
    uint64_t due_us;
  };
  struct Direction {
    FaultRng rng;
    bool active = false;
    bool in_burst = false;
    uint64_t loss = 0, burst_start = 0, burst_end = 0, reorder = 0, duplicate = 0, corrupt = 0;
    uint64_t delay_us = 0;
    abi::FaultCounters own{};
    uint64_t own_released_early = 0;
    abi::FaultCounters* counters = &own;
    uint64_t* released_early = &own_released_early;
    std::array<Held, kHoldCapacity> held{};
    uint16_t held_count = 0;
    Bottleneck queue;
    abi::BottleneckCounters own_queue{};
    abi::BottleneckCounters* queue_counters = &own_queue;
  };
  enum class Verdict { kPass, kDrop, kHold };

  void configure(Direction& d, const abi::FaultDirection& s, uint64_t seed);
  // Loss, corruption and the reordering decision for one frame; a duplicate, if any, in `copy`.
  Verdict judge(Direction& d, Frame& frame, Frame& copy);
  bool lost(Direction& d);
  void corrupt(Direction& d, Frame& frame);
  // A release time within the delay bound.
  uint64_t due_time(Direction& d, uint64_t now);
  // Holds `frame` until `due`; if the hold is full, the frame due first is returned in `evicted`
  // (and true), to be released at once.
  bool hold(Direction& d, const Frame& frame, uint64_t due, Frame& evicted);
  // Removes and returns a held frame that is due at `now`; false if none.
  bool take_due(Direction& d, uint64_t now, Frame& out);
  // A frame that passed the faults: into the direction's bottleneck if it has one, else out at
  // once (true: the caller hands it on; false: queued or dropped, the bottleneck saw to it).
  bool through_bottleneck(Direction& d, const Frame& frame, uint64_t now);
  // Sends what passed the tx faults.
  void send_on(const Frame& frame, uint64_t now);

  PacketPort& inner_;
  const Clock& clock_;
  abi::ControlHeader* shared_;
  abi::FaultSettings settings_{};
  Direction rx_;
  Direction tx_;
  uint32_t seen_generation_ = 0;
  std::array<Frame, kMaxBurst> scratch_{};
};

}  // namespace virtuoso::fastpath

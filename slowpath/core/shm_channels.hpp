// The slow path's producer side of the shared-memory queues: inject and cmd (to the fast path),
// and each app's ctl queue, with a waiting list per queue so that nothing is dropped when one is full.
//
// Ordering: entries of one queue leave in order. A frame flagged kPacketProcessAsRx additionally
// waits until the fast path has taken every command pushed before it (the flow it belongs to must
// be installed before the fast path replays the frame).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::slowpath {

// Writes the eventfd doorbells; the daemon implements it, tests count calls.
class Doorbells {
 public:
  virtual ~Doorbells() = default;
  virtual void ring_fastpath() = 0;
  virtual void ring_app(uint16_t ctx) = 0;
};

class ShmChannels {
 public:
  ShmChannels(abi::ControlRegionView ctrl, uint32_t max_contexts);

  void push_frame(const uint8_t* data, size_t len, uint16_t flags);
  void push_command(const abi::FpCommand& cmd);
  void push_ctl(uint16_t ctx, const abi::CtlEvent& ev);

  void add_context(uint16_t ctx, abi::AppRegionView view);
  // Drops the context's waiting events: its app is gone.
  void remove_context(uint16_t ctx);

  // Moves waiting entries into queues that have room, then rings each consumer that was given
  // something and says it sleeps (full fence between the pushes and reading the flags).
  void flush(Doorbells& bells);
  // True while entries wait for room (the caller retries soon).
  bool waiting() const;
  uint64_t deferred_total() const { return deferred_; }

 private:
  struct PendingFrame {
    abi::PacketSlot slot;
    uint32_t cmd_mark;  // commands enqueued before this frame
  };
  struct Ctx {
    bool active = false;
    abi::AppRegionView view{};
    std::deque<abi::CtlEvent> waiting;
    bool dirty = false;
  };

  uint32_t commands_consumed() const;
  bool frame_ready(const PendingFrame& f) const;
  void flush_commands();
  void flush_frames();
  void flush_ctl(Ctx& c);

  abi::ControlRegionView ctrl_;
  std::deque<abi::FpCommand> cmd_waiting_;
  std::deque<PendingFrame> frame_waiting_;
  std::vector<Ctx> ctxs_;
  uint32_t cmd_pushed_ = 0;    // commands in the queue so far (the queue head, which we own)
  uint32_t cmd_enqueued_ = 0;  // commands accepted from the control plane (pushed or waiting)
  bool fp_dirty_ = false;
  uint64_t deferred_ = 0;
};

}  // namespace virtuoso::slowpath

// The busy word of a slot other processes may take (FlowSlot::app_busy): a shared connection's
// app-owned fields, ring bytes and commands are touched only between slot_acquire and release.
//
// A connection is shared once it crossed fork() (Socket::forked): another holder's claim makes the
// slow path swap app_busy 0 -> kSlotTaken whenever this process is not working on the slot, and
// move the flow away. Holding kSlotBusy (stack lock held, never across a sleep) keeps it here for
// one non-blocking step; finding it taken means the socket must be claimed back. Sockets that are
// not shared never touch the word.
#pragma once
#include <cstdint>

#include "context.hpp"
#include "socket.hpp"
#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {

// kSlotBusy on the slot of generation `gen`; false if it was taken (or the slot holds another
// flow by now: then what we set is undone).
inline bool slot_acquire(abi::FlowSlot& fs, uint32_t gen) {
  if (!shm::compare_exchange(fs.app_busy, 0u, abi::kSlotBusy)) return false;
  if (shm::load_acquire(fs.gen) == gen) return true;
  shm::store_release(fs.app_busy, 0u);
  return false;
}

inline void slot_release(abi::FlowSlot& fs) { shm::store_release(fs.app_busy, 0u); }

// One step of work on a connected socket's slot: free for sockets that are not shared; for shared
// ones, ok() is false if the slot was taken (nothing may be touched; the socket is to be claimed).
class SlotWork {
 public:
  explicit SlotWork(const Socket& s) {
    if (!s.forked) return;
    abi::FlowSlot& fs = s.ctx->flow_slot(s.slot);
    if (slot_acquire(fs, s.gen)) {
      held_ = &fs;
    } else {
      ok_ = false;
    }
  }
  ~SlotWork() {
    if (held_ != nullptr) slot_release(*held_);
  }
  SlotWork(const SlotWork&) = delete;
  SlotWork& operator=(const SlotWork&) = delete;
  bool ok() const { return ok_; }

 private:
  abi::FlowSlot* held_ = nullptr;
  bool ok_ = true;
};

}  // namespace virtuoso::shim

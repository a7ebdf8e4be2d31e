// References fork() children hold on their ancestors' connections and listeners (the state behind fork_holds.cpp).
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace virtuoso::slowpath {

// Linux counts file references: a socket a forked child still holds stays open when its parent
// closes it or exits. Here each process holding a descriptor holds a reference. The owner app's
// own reference is SlotInfo::app_holds (a connection) or the listener record itself; every other
// holder is a hold link not yet passed on (a child that has not registered) or a context that
// inherited the reference and has not used (kClaim, kShareListener) or dropped it yet.
struct HoldRefs {
  struct FlowRef {
    uint32_t flow = 0;
    uint64_t serial = 0;  // Conn::serial: a reference outlives nothing, the entry may be reused
  };
  std::vector<FlowRef> flows;
  std::vector<uint32_t> listeners;  // listener ids are never reused
  bool empty() const { return flows.empty() && listeners.empty(); }
};

struct HoldState {
  struct Link {
    uint16_t origin = 0;  // the context whose app asked for the hold (directly, or via its own hold)
    uint16_t tenant = 0;  // the origin's tenant: only a context of the same tenant may take the link
    HoldRefs refs;
  };
  std::unordered_map<uint32_t, Link> links;    // hold id -> a hold link not passed on yet
  std::unordered_map<uint16_t, HoldRefs> ctxs;  // context -> references it inherited
  uint32_t next_hold = 1;
  uint64_t next_serial = 1;
};

}  // namespace virtuoso::slowpath

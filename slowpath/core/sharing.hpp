// State of listeners shared across fork(): which contexts descend from which, listener groups on one port.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace virtuoso::slowpath {

// A forked child holds references on its parent's listeners (fork_holds.hpp). It may join one
// (kShareListener): the child gets its own listener record on the same port, and the port's
// reservation points at the member that takes the next connection, chosen among the members whose
// app accepts on it (kAccepting).
struct ShareState {
  struct Group {
    std::vector<uint32_t> members;  // listener ids, oldest first
    size_t next = 0;                // round-robin cursor into members
  };
  std::unordered_map<uint32_t, uint32_t> group_of;               // listener id -> group id
  std::unordered_map<uint32_t, Group> groups;                    // group id (its first listener) -> group
  std::unordered_set<uint32_t> accepting;                        // listeners whose app takes connections
};

}  // namespace virtuoso::slowpath

// Small value types of the slow path core: injected time, connection 4-tuples.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace virtuoso::slowpath {

// Monotonic milliseconds. The core never reads a clock: every input carries `now`.
using TimeMs = uint64_t;

// A connection as seen from this host. Host byte order. `vni` names the virtual network the
// addresses belong to: 0 for the host's own (plain mode), else a tenant's VXLAN network id, so
// tenants with overlapping subnets never share a tuple.
struct FourTuple {
  uint32_t local_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint32_t vni = 0;
  bool operator==(const FourTuple&) const = default;
};

struct FourTupleHash {
  size_t operator()(const FourTuple& t) const {
    uint64_t a = uint64_t(t.local_ip) << 32 | t.remote_ip;
    uint64_t b = uint64_t(t.vni) << 32 | uint64_t(t.local_port) << 16 | t.remote_port;
    return std::hash<uint64_t>()(a * 0x9e3779b97f4a7c15ULL ^ b);
  }
};

inline constexpr uint32_t kNoFlow = UINT32_MAX;

}  // namespace virtuoso::slowpath

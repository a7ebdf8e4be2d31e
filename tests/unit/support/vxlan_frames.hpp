// Frames as a remote VTEP sends them: a peer's inner segment, wrapped in outer Ethernet/IPv4/UDP/VXLAN.
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "support/fake_fastpath.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::test {

// The peer's segment as its machine sent it inside the virtual network.
inline std::vector<uint8_t> inner_segment(FastpathHarness& h, uint32_t seq, uint32_t ack, uint8_t flags,
                                          const std::string& payload = "") {
  auto f = h.peer_frame(seq, ack, flags, payload);
  std::memcpy(f.data(), FastpathHarness::kInnerLocalMac.data(), 6);
  std::memcpy(f.data() + 6, FastpathHarness::kInnerRemoteMac.data(), 6);
  return f;
}

// `inner` as VTEP `vtep` sends it to us inside VNI `vni`, from UDP port `src_port` (no outer
// UDP checksum).
inline std::vector<uint8_t> encapsulate(const std::vector<uint8_t>& inner, uint32_t vni, uint32_t vtep,
                                        uint16_t src_port) {
  std::vector<uint8_t> f(wire::kVxlanOverhead + inner.size());
  std::memcpy(f.data() + wire::kVxlanOverhead, inner.data(), inner.size());
  wire::VxlanOuter o{};
  o.src_mac = FastpathHarness::kRemoteMac;
  o.dst_mac = FastpathHarness::kLocalMac;
  o.src_ip = vtep;
  o.dst_ip = FastpathHarness::kLocalIp;
  o.src_port = src_port;
  o.vni = vni;
  f.resize(wire::build_vxlan_outer(f.data(), o, inner.size()));
  return f;
}

}  // namespace virtuoso::test

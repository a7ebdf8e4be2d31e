// Keyed hashing for values a remote host must not predict: initial sequence numbers (RFC 6528)
// ephemeral port offsets (RFC 6056 algorithm 3) and timestamp offsets (RFC 7323). SipHash-2-4 is the keyed function.
#pragma once
#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace virtuoso::slowpath {

uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t* data, size_t len);

class KeyedHash {
 public:
  KeyedHash(uint64_t k0, uint64_t k1) : k0_(k0), k1_(k1) {}

  // RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a
  // timer ticking every 4 microseconds, so a reused 4-tuple starts above the old connection.
  uint32_t initial_seq(const FourTuple& t, TimeMs now) const;

  // RFC 7323 5.4: a per-connection offset for our timestamp clock, so TSvals reveal no uptime
  // and differ between connections.
  uint32_t ts_offset(const FourTuple& t) const;

  // RFC 6056 3.3.3: where the ephemeral port search starts for a given destination.
  uint32_t port_offset(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port) const;

  // RFC 4987 3.6: the keyed part of a SYN cookie, over the connection (with its VNI), the peer's
  // initial sequence number and the cookie's time counter.
  uint32_t syn_cookie(const FourTuple& t, uint32_t irs, uint32_t counter) const;

  // A value an observer cannot predict, different for every `n` (per-second budgets).
  uint32_t draw(uint64_t n) const;

 private:
  uint64_t k0_;
  uint64_t k1_;
};

}  // namespace virtuoso::slowpath

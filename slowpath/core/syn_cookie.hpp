// SYN cookies (RFC 4987 3.6): when a listener's half-open table is full, the SYN-ACK's sequence
// number carries what the connection needs instead of a table entry. Its low 2 bits pick the
// peer's MSS from four values; the other 30 are a keyed hash of the connection, the peer's initial
// sequence number and a counter of 64-second periods. The ACK that completes the handshake gives
// the number back (its ack - 1); it is accepted under this period's counter or the previous one,
// so a cookie lives 64 to 128 s. Options that need state (window scaling, SACK, timestamps, ECN)
// are not offered with a cookie: such a connection works without them.
#pragma once
#include <cstdint>
#include <optional>

#include "keyed_hash.hpp"
#include "types.hpp"

namespace virtuoso::slowpath {

class SynCookies {
 public:
  static constexpr uint16_t kMss[4] = {536, 1220, 1440, 1460};  // the MSS a cookie can say
  static constexpr TimeMs kPeriodMs = 64'000;

  // The largest table MSS the peer's allows (536 when it sent none or a smaller one).
  static uint8_t mss_index(uint16_t peer_mss) {
    uint8_t i = 0;
    for (uint8_t k = 1; k < 4; ++k)
      if (peer_mss >= kMss[k]) i = k;
    return i;
  }

  // Our initial sequence number for a SYN of `t` with the peer's `irs` and MSS, at `now`.
  static uint32_t make(const KeyedHash& h, const FourTuple& t, uint32_t irs, uint16_t peer_mss, TimeMs now) {
    return (h.syn_cookie(t, irs, counter(now)) & ~3u) | mss_index(peer_mss);
  }

  // The MSS `cookie` (an ACK's ack - 1) says, if it is one we made for `t` and `irs` in this
  // period or the last; nullopt for anything else.
  static std::optional<uint16_t> check(const KeyedHash& h, const FourTuple& t, uint32_t irs, uint32_t cookie,
                                       TimeMs now) {
    uint32_t c = counter(now);
    for (uint32_t age = 0; age < 2 && age <= c; ++age) {
      if ((h.syn_cookie(t, irs, c - age) & ~3u) == (cookie & ~3u)) return kMss[cookie & 3u];
    }
    return std::nullopt;
  }

 private:
  static uint32_t counter(TimeMs now) { return uint32_t(now / kPeriodMs); }
};

}  // namespace virtuoso::slowpath

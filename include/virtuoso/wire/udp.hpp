// UDP header (RFC 768): parse with length and optional checksum checks, build with or without one.
#pragma once
#include <cstddef>
#include <cstdint>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/ipv4.hpp"

namespace virtuoso::wire {

inline constexpr size_t kUdpHeaderLen = 8;

struct UdpHeader {
  uint16_t src_port;
  uint16_t dst_port;
  uint16_t length;    // header + payload, as on the wire
  uint16_t checksum;  // 0: the sender computed none (allowed over IPv4, RFC 768)
};

enum class UdpError { kOk, kTruncated, kLength, kChecksum };

struct UdpParse {
  UdpError error;
  UdpHeader hdr;
};

// True when the checksum field is 0 (none sent) or verifies over the pseudo header and `h.length`
// bytes at `p`; the caller has checked that those bytes exist.
inline bool udp_checksum_ok(const uint8_t* p, const UdpHeader& h, uint32_t ip_src,
                            uint32_t ip_dst) {
  if (h.checksum == 0) return true;
  uint32_t sum = pseudo_header_sum(ip_src, ip_dst, kIpProtoUdp, h.length);
  return csum_fold(csum_add(sum, p, h.length)) == 0;
}

// `p`/`len`: the IPv4 payload as bounded by the IPv4 total length. The UDP length must cover the
// header and fit in `len`; bytes past it are ignored (Linux trims them too). A nonzero checksum is
// verified against the pseudo header when `verify_checksum` is set; zero means none was sent.
inline UdpParse parse_udp(const uint8_t* p, size_t len, uint32_t ip_src, uint32_t ip_dst,
                          bool verify_checksum = true) {
  if (len < kUdpHeaderLen) return {UdpError::kTruncated, {}};
  UdpHeader h{load_be16(p), load_be16(p + 2), load_be16(p + 4), load_be16(p + 6)};
  if (h.length < kUdpHeaderLen || h.length > len) return {UdpError::kLength, {}};
  if (verify_checksum && !udp_checksum_ok(p, h, ip_src, ip_dst)) return {UdpError::kChecksum, {}};
  return {UdpError::kOk, h};
}

// Writes the 8-byte header at `p`; the payload must already sit right after it. With `checksum`
// off the field is 0 (no checksum); otherwise a computed 0 goes out as 0xffff (RFC 768), since 0
// on the wire means "none". Returns the datagram length.
inline size_t build_udp(uint8_t* p, uint16_t src_port, uint16_t dst_port, size_t payload_len,
                        uint32_t ip_src, uint32_t ip_dst, bool checksum = true) {
  uint16_t length = uint16_t(kUdpHeaderLen + payload_len);
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be16(p + 4, length);
  store_be16(p + 6, 0);
  if (checksum) {
    uint32_t sum = pseudo_header_sum(ip_src, ip_dst, kIpProtoUdp, length);
    uint16_t c = csum_fold(csum_add(sum, p, length));
    store_be16(p + 6, c == 0 ? 0xffff : c);
  }
  return length;
}

}  // namespace virtuoso::wire

// IPv4 header (RFC 791): parse with validation and build with checksum.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"

namespace virtuoso::wire {

inline constexpr size_t kIpv4MinHeaderLen = 20;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
// RFC 3168 5: the ECN field, the low two bits of the TOS byte.
inline constexpr uint8_t kEcnMask = 0x03;
inline constexpr uint8_t kEcnNotEct = 0x00;
inline constexpr uint8_t kEcnEct0 = 0x02;
inline constexpr uint8_t kEcnCe = 0x03;

struct Ipv4Header {
  uint8_t ihl_bytes;   // header length in bytes
  uint8_t tos;
  uint16_t total_len;  // header + payload
  uint16_t id;
  uint16_t frag;       // flags and fragment offset as on the wire
  uint8_t ttl;
  uint8_t proto;
  uint32_t src;  // host order
  uint32_t dst;
};

enum class Ipv4Error { kOk, kTruncated, kVersion, kHeaderLen, kTotalLen, kChecksum, kFragment };

struct Ipv4Parse {
  Ipv4Error error;
  Ipv4Header hdr;
};

// Validates version, header length, total length against the buffer, header checksum and refuses
// fragments (the stack does not reassemble). Trailing bytes past total_len (Ethernet padding) are allowed.
inline Ipv4Parse parse_ipv4(const uint8_t* p, size_t len, bool verify_checksum = true) {
  Ipv4Parse r{Ipv4Error::kOk, {}};
  if (len < kIpv4MinHeaderLen) return {Ipv4Error::kTruncated, {}};
  if ((p[0] >> 4) != 4) return {Ipv4Error::kVersion, {}};
  Ipv4Header& h = r.hdr;
  h.ihl_bytes = uint8_t((p[0] & 0x0f) * 4);
  if (h.ihl_bytes < kIpv4MinHeaderLen || h.ihl_bytes > len) return {Ipv4Error::kHeaderLen, {}};
  h.tos = p[1];
  h.total_len = load_be16(p + 2);
  if (h.total_len < h.ihl_bytes || h.total_len > len) return {Ipv4Error::kTotalLen, {}};
  h.id = load_be16(p + 4);
  h.frag = load_be16(p + 6);
  h.ttl = p[8];
  h.proto = p[9];
  h.src = load_be32(p + 12);
  h.dst = load_be32(p + 16);
  if (verify_checksum && internet_checksum(p, h.ihl_bytes) != 0) return {Ipv4Error::kChecksum, {}};
  if ((h.frag & 0x3fff) != 0) return {Ipv4Error::kFragment, {}};  // MF set or offset != 0
  return r;
}

// Builds a 20-byte header (no options) with DF set and its checksum.
inline void build_ipv4(uint8_t* p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t payload_len,
                       uint16_t id = 0, uint8_t ttl = 64, uint8_t tos = 0) {
  p[0] = 0x45;
  p[1] = tos;
  store_be16(p + 2, uint16_t(kIpv4MinHeaderLen + payload_len));
  store_be16(p + 4, id);
  store_be16(p + 6, 0x4000);
  p[8] = ttl;
  p[9] = proto;
  store_be16(p + 10, 0);
  store_be32(p + 12, src);
  store_be32(p + 16, dst);
  store_be16(p + 10, internet_checksum(p, kIpv4MinHeaderLen));
}

// Marks the IPv4 header at `p` (`len` bytes available) Congestion Experienced if it is
// ECN-capable (ECT(0) or ECT(1)), updating its checksum incrementally (RFC 1624 eq. 3). False, and
// nothing written, for a short buffer, another version, or a Not-ECT or already CE header.
inline bool ipv4_mark_ce(uint8_t* p, size_t len) {
  if (len < kIpv4MinHeaderLen || (p[0] >> 4) != 4) return false;
  uint8_t ecn = p[1] & kEcnMask;
  if (ecn == kEcnNotEct || ecn == kEcnCe) return false;
  uint16_t old_word = load_be16(p);
  p[1] |= kEcnCe;
  uint16_t new_word = load_be16(p);
  uint32_t sum = uint16_t(~load_be16(p + 10)) + uint32_t(uint16_t(~old_word)) + new_word;
  store_be16(p + 10, csum_fold(sum));
  return true;
}

}  // namespace virtuoso::wire

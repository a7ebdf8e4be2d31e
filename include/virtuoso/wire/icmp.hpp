// ICMP for IPv4 (RFC 792, RFC 1191): checksum, echo, destination unreachable and its quote.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/ipv4.hpp"

namespace virtuoso::wire {

inline constexpr size_t kIcmpHeaderLen = 8;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
// Destination unreachable codes (RFC 792).
inline constexpr uint8_t kIcmpNetUnreachable = 0;
inline constexpr uint8_t kIcmpHostUnreachable = 1;
inline constexpr uint8_t kIcmpProtoUnreachable = 2;
inline constexpr uint8_t kIcmpPortUnreachable = 3;
inline constexpr uint8_t kIcmpFragNeeded =
    4;  // DF set and the next hop's MTU is smaller (RFC 1191)
// RFC 792: an error quotes the original IP header plus at least 64 bits of its data, enough for
// TCP's ports and sequence number (RFC 5927 section 4.1).
inline constexpr size_t kIcmpMinQuotedPayload = 8;
// Errors quote at most this much so the ICMP datagram fits in 576 bytes (RFC 1812 4.3.2.3).
inline constexpr size_t kIcmpMaxQuote = 576 - kIpv4MinHeaderLen - kIcmpHeaderLen;

struct IcmpHeader {
  uint8_t type;
  uint8_t code;
  uint16_t checksum;
  uint32_t rest;  // the type-specific second word: echo id and seq, fragmentation-needed MTU
};

enum class IcmpError {
  kOk,
  kTruncated,  // shorter than the 8-byte header
  kChecksum,
  kNotEcho,         // not an echo request or reply with code 0
  kNotUnreachable,  // not a destination unreachable
  kQuoteTooShort,   // quote lacks the original IP header plus 8 bytes of its payload
  kQuoteNotIpv4,    // quoted header's version is not 4 or its IHL is below 5
};

struct IcmpParse {
  IcmpError error;
  IcmpHeader hdr;
  const uint8_t* body;  // after the 8-byte header
  size_t body_len;
};

// `p`/`len`: the whole ICMP message as bounded by the IPv4 total length; the checksum covers all of
// it.
inline IcmpParse parse_icmp(const uint8_t* p, size_t len, bool verify_checksum = true) {
  if (len < kIcmpHeaderLen) return {IcmpError::kTruncated, {}, nullptr, 0};
  if (verify_checksum && internet_checksum(p, len) != 0)
    return {IcmpError::kChecksum, {}, nullptr, 0};
  return {IcmpError::kOk,
          {p[0], p[1], load_be16(p + 2), load_be32(p + 4)},
          p + kIcmpHeaderLen,
          len - kIcmpHeaderLen};
}

// Writes the header of a message whose body (`body_len` bytes) already follows it, with the
// checksum over both. Returns the message length.
inline size_t build_icmp(uint8_t* p, uint8_t type, uint8_t code, uint32_t rest, size_t body_len) {
  p[0] = type;
  p[1] = code;
  store_be16(p + 2, 0);
  store_be32(p + 4, rest);
  size_t len = kIcmpHeaderLen + body_len;
  store_be16(p + 2, internet_checksum(p, len));
  return len;
}

struct IcmpEcho {
  bool request;  // echo request (type 8), else echo reply (type 0)
  uint16_t id;
  uint16_t seq;
  const uint8_t* data;
  size_t data_len;
};

struct IcmpEchoParse {
  IcmpError error;
  IcmpEcho echo;
};

inline IcmpEchoParse parse_icmp_echo(const uint8_t* p, size_t len, bool verify_checksum = true) {
  auto m = parse_icmp(p, len, verify_checksum);
  if (m.error != IcmpError::kOk) return {m.error, {}};
  bool request = m.hdr.type == kIcmpEchoRequest;
  if ((!request && m.hdr.type != kIcmpEchoReply) || m.hdr.code != 0)
    return {IcmpError::kNotEcho, {}};
  return {IcmpError::kOk,
          {request, uint16_t(m.hdr.rest >> 16), uint16_t(m.hdr.rest), m.body, m.body_len}};
}

// Echo request or reply whose data (`data_len` bytes) already follows the header.
inline size_t build_icmp_echo(uint8_t* p, bool request, uint16_t id, uint16_t seq,
                              size_t data_len) {
  return build_icmp(p, request ? kIcmpEchoRequest : kIcmpEchoReply, 0, uint32_t(id) << 16 | seq,
                    data_len);
}

// The reply to a parsed echo request: same id, sequence number and data (RFC 792). `out` may be the
// request's own message (answering in place). Returns the reply's length.
inline size_t build_icmp_echo_reply(uint8_t* out, const IcmpEcho& req) {
  std::memmove(out + kIcmpHeaderLen, req.data, req.data_len);
  return build_icmp_echo(out, false, req.id, req.seq, req.data_len);
}

struct IcmpUnreachable {
  uint8_t code;
  uint16_t next_hop_mtu;     // kIcmpFragNeeded only (RFC 1191); 0 from routers that predate it
  Ipv4Header quoted_ip;      // as we sent it; total_len is the original datagram's, not the quote's
  const uint8_t* quoted_l4;  // first bytes of the original payload
  size_t quoted_l4_len;      // >= kIcmpMinQuotedPayload
};

struct IcmpUnreachableParse {
  IcmpError error;
  IcmpUnreachable u;
};

// Destination unreachable with its quote. The quoted IPv4 header's checksum and lengths are not
// checked: routers may quote a datagram they changed, and the quote is usually cut short.
inline IcmpUnreachableParse parse_icmp_unreachable(const uint8_t* p, size_t len,
                                                   bool verify_checksum = true) {
  auto m = parse_icmp(p, len, verify_checksum);
  if (m.error != IcmpError::kOk) return {m.error, {}};
  if (m.hdr.type != kIcmpDestUnreachable) return {IcmpError::kNotUnreachable, {}};
  const uint8_t* q = m.body;
  if (m.body_len < kIpv4MinHeaderLen + kIcmpMinQuotedPayload)
    return {IcmpError::kQuoteTooShort, {}};
  size_t ihl = size_t(q[0] & 0x0f) * 4;
  if ((q[0] >> 4) != 4 || ihl < kIpv4MinHeaderLen) return {IcmpError::kQuoteNotIpv4, {}};
  if (m.body_len < ihl + kIcmpMinQuotedPayload) return {IcmpError::kQuoteTooShort, {}};
  IcmpUnreachableParse r{IcmpError::kOk, {}};
  IcmpUnreachable& u = r.u;
  u.code = m.hdr.code;
  u.next_hop_mtu = m.hdr.code == kIcmpFragNeeded ? uint16_t(m.hdr.rest) : 0;
  u.quoted_ip = {uint8_t(ihl), q[1], load_be16(q + 2),  load_be16(q + 4), load_be16(q + 6),
                 q[8],         q[9], load_be32(q + 12), load_be32(q + 16)};
  u.quoted_l4 = q + ihl;
  u.quoted_l4_len = m.body_len - ihl;
  return r;
}

// TCP and UDP both open with the source and destination ports.
inline uint16_t quoted_src_port(const IcmpUnreachable& u) {
  return load_be16(u.quoted_l4);
}
inline uint16_t quoted_dst_port(const IcmpUnreachable& u) {
  return load_be16(u.quoted_l4 + 2);
}
// The quoted TCP sequence number, which RFC 5927 checks against the unacknowledged window.
inline uint32_t quoted_tcp_seq(const IcmpUnreachable& u) {
  return load_be32(u.quoted_l4 + 4);
}

// Destination unreachable quoting the first `quote_len` bytes of the offending datagram `orig`
// (from its IPv4 header on). Callers quote at least its header plus kIcmpMinQuotedPayload bytes and
// at most kIcmpMaxQuote. `next_hop_mtu` is written only with kIcmpFragNeeded. `orig` must not
// overlap `p`. Returns the message length.
inline size_t build_icmp_unreachable(uint8_t* p, uint8_t code, uint16_t next_hop_mtu,
                                     const uint8_t* orig, size_t quote_len) {
  std::memcpy(p + kIcmpHeaderLen, orig, quote_len);
  return build_icmp(p, kIcmpDestUnreachable, code, code == kIcmpFragNeeded ? next_hop_mtu : 0,
                    quote_len);
}

}  // namespace virtuoso::wire

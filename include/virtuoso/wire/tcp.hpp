// TCP header and options (RFC 9293, RFC 7323, RFC 2018): parse with validation, build with checksum.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include "virtuoso/wire/bytes.hpp"
#include "virtuoso/wire/checksum.hpp"
#include "virtuoso/wire/ipv4.hpp"

namespace virtuoso::wire {

inline constexpr size_t kTcpMinHeaderLen = 20;
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

// One SACK block (RFC 2018): bytes [start, end) the receiver holds beyond its cumulative ACK.
struct SackBlock {
  uint32_t start = 0;
  uint32_t end = 0;
};
inline constexpr size_t kMaxSackBlocks = 4;  // what fits in 40 option bytes without timestamps
inline constexpr size_t kTcpTimestampsLen = 12;  // NOP NOP + the 10-byte option, on every segment

struct TcpOptions {
  uint16_t mss = 0;          // 0: absent
  int8_t wscale = -1;        // -1: absent; else shift count (clamped to 14, RFC 7323 2.3)
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint8_t n_sack = 0;
  SackBlock sack[kMaxSackBlocks];
};

struct TcpHeader {
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t data_off;  // header length in bytes
  uint8_t flags;
  uint16_t window;   // raw, unscaled
  uint16_t urgent;
  TcpOptions opts;
};

enum class TcpError { kOk, kTruncated, kHeaderLen, kChecksum, kBadOption };

struct TcpParse {
  TcpError error;
  TcpHeader hdr;
};

// Parses options; a malformed option list (length 0 or 1, running past the header) is an error.
inline bool parse_tcp_options(const uint8_t* p, size_t len, TcpOptions& o) {
  size_t i = 0;
  while (i < len) {
    uint8_t kind = p[i];
    if (kind == 0) break;       // end of option list
    if (kind == 1) { ++i; continue; }  // no-op
    if (i + 1 >= len) return false;
    uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return false;
    switch (kind) {
      case 2:
        if (olen != 4) return false;
        o.mss = load_be16(p + i + 2);
        break;
      case 3:
        if (olen != 3) return false;
        o.wscale = int8_t(p[i + 2] > 14 ? 14 : p[i + 2]);
        break;
      case 4:
        if (olen != 2) return false;
        o.sack_permitted = true;
        break;
      case 8:
        if (olen != 10) return false;
        o.has_timestamps = true;
        o.ts_val = load_be32(p + i + 2);
        o.ts_ecr = load_be32(p + i + 6);
        break;
      case 5:
        if (olen < 10 || (olen - 2) % 8 != 0) return false;
        o.n_sack = 0;
        for (size_t b = i + 2; b + 8 <= i + olen && o.n_sack < kMaxSackBlocks; b += 8)
          o.sack[o.n_sack++] = {load_be32(p + b), load_be32(p + b + 4)};
        break;
      default:
        break;  // unknown options are skipped (RFC 9293 3.2)
    }
    i += olen;
  }
  return true;
}

// `p`/`len`: the TCP segment (header + payload) as bounded by the IPv4 total length.
// The checksum is verified against the pseudo header when `verify_checksum` is set.
inline TcpParse parse_tcp(const uint8_t* p, size_t len, uint32_t ip_src, uint32_t ip_dst,
                          bool verify_checksum = true) {
  TcpParse r{TcpError::kOk, {}};
  if (len < kTcpMinHeaderLen) return {TcpError::kTruncated, {}};
  TcpHeader& h = r.hdr;
  h.src_port = load_be16(p);
  h.dst_port = load_be16(p + 2);
  h.seq = load_be32(p + 4);
  h.ack = load_be32(p + 8);
  h.data_off = uint8_t((p[12] >> 4) * 4);
  h.flags = p[13];
  h.window = load_be16(p + 14);
  h.urgent = load_be16(p + 18);
  if (h.data_off < kTcpMinHeaderLen || h.data_off > len) return {TcpError::kHeaderLen, {}};
  if (verify_checksum) {
    uint32_t sum = pseudo_header_sum(ip_src, ip_dst, kIpProtoTcp, uint16_t(len));
    if (csum_fold(csum_add(sum, p, len)) != 0) return {TcpError::kChecksum, {}};
  }
  if (!parse_tcp_options(p + kTcpMinHeaderLen, h.data_off - kTcpMinHeaderLen, h.opts))
    return {TcpError::kBadOption, {}};
  return r;
}

// Which options build_tcp writes. Kept apart from TcpOptions so senders state intent explicitly.
struct TcpOptionsOut {
  uint16_t mss = 0;        // written when nonzero (SYN only)
  int8_t wscale = -1;      // written when >= 0 (SYN only)
  bool sack_permitted = false;
  bool timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint8_t n_sack = 0;  // SACK blocks written (NOP NOP + 2 + 8 each); callers keep the total <= 40
  SackBlock sack[kMaxSackBlocks];
};

// Length of the options build_tcp writes, padded to 4 bytes.
inline size_t tcp_options_len(const TcpOptionsOut& o) {
  size_t n = 0;
  if (o.mss) n += 4;
  if (o.wscale >= 0) n += 4;  // NOP + 3
  if (o.sack_permitted && !o.timestamps) n += 4;  // NOP NOP + 2
  if (o.timestamps) n += kTcpTimestampsLen;  // (SACK-permitted or NOP NOP) + 10
  if (o.n_sack) n += 4 + 8 * size_t(o.n_sack);
  return n;
}

struct TcpSegmentOut {
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t flags;
  uint16_t window;
  TcpOptionsOut opts;
};

// Writes the TCP header with options at `p`; the payload (`payload_len` bytes) must already sit
// right after the header. Computes the checksum over header + payload. Returns the header length.
inline size_t build_tcp(uint8_t* p, const TcpSegmentOut& s, uint32_t ip_src, uint32_t ip_dst,
                        size_t payload_len) {
  size_t opt_len = tcp_options_len(s.opts);
  size_t hlen = kTcpMinHeaderLen + opt_len;
  store_be16(p, s.src_port);
  store_be16(p + 2, s.dst_port);
  store_be32(p + 4, s.seq);
  store_be32(p + 8, s.ack);
  p[12] = uint8_t((hlen / 4) << 4);
  p[13] = s.flags;
  store_be16(p + 14, s.window);
  store_be16(p + 16, 0);
  store_be16(p + 18, 0);
  uint8_t* o = p + kTcpMinHeaderLen;
  if (s.opts.mss) {
    o[0] = 2, o[1] = 4;
    store_be16(o + 2, s.opts.mss);
    o += 4;
  }
  if (s.opts.wscale >= 0) {
    o[0] = 1, o[1] = 3, o[2] = 3, o[3] = uint8_t(s.opts.wscale);
    o += 4;
  }
  if (s.opts.timestamps) {
    if (s.opts.sack_permitted) {
      o[0] = 4, o[1] = 2;
    } else {
      o[0] = 1, o[1] = 1;
    }
    o[2] = 8, o[3] = 10;
    store_be32(o + 4, s.opts.ts_val);
    store_be32(o + 8, s.opts.ts_ecr);
    o += 12;
  } else if (s.opts.sack_permitted) {
    o[0] = 1, o[1] = 1, o[2] = 4, o[3] = 2;
    o += 4;
  }
  if (s.opts.n_sack) {
    o[0] = 1, o[1] = 1, o[2] = 5, o[3] = uint8_t(2 + 8 * s.opts.n_sack);
    o += 4;
    for (uint8_t b = 0; b < s.opts.n_sack; ++b, o += 8) {
      store_be32(o, s.opts.sack[b].start);
      store_be32(o + 4, s.opts.sack[b].end);
    }
  }
  size_t seg_len = hlen + payload_len;
  uint32_t sum = pseudo_header_sum(ip_src, ip_dst, kIpProtoTcp, uint16_t(seg_len));
  store_be16(p + 16, csum_fold(csum_add(sum, p, seg_len)));
  return hlen;
}

// Sequence space a segment occupies: payload plus one for each of SYN and FIN.
inline uint32_t seg_len(const TcpHeader& h, size_t payload_len) {
  return uint32_t(payload_len) + ((h.flags & kTcpSyn) ? 1 : 0) + ((h.flags & kTcpFin) ? 1 : 0);
}

}  // namespace virtuoso::wire

// SipHash-2-4 (Aumasson and Bernstein) and the ISN / port-offset functions built on it.
#include "keyed_hash.hpp"

#include <cstring>

namespace virtuoso::slowpath {
namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

uint64_t load_le64(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

}  // namespace

uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t* data, size_t len) {
  SipState s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
             k1 ^ 0x7465646279746573ULL};
  size_t full = len / 8 * 8;
  for (size_t i = 0; i < full; i += 8) s.compress(load_le64(data + i, 8));
  s.compress(uint64_t(len & 0xff) << 56 | load_le64(data + full, len - full));
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

namespace {
// The 4-tuple behind a domain byte, so each use of the key hashes different inputs.
uint32_t tuple_hash(uint64_t k0, uint64_t k1, char domain, const FourTuple& t) {
  uint8_t buf[13];
  buf[0] = uint8_t(domain);
  std::memcpy(buf + 1, &t.local_ip, 4);
  std::memcpy(buf + 5, &t.remote_ip, 4);
  std::memcpy(buf + 9, &t.local_port, 2);
  std::memcpy(buf + 11, &t.remote_port, 2);
  return uint32_t(siphash24(k0, k1, buf, sizeof buf));
}
}  // namespace

uint32_t KeyedHash::initial_seq(const FourTuple& t, TimeMs now) const {
  return tuple_hash(k0_, k1_, 'I', t) + uint32_t(now * 250);  // 250 ticks of 4 us per millisecond
}

uint32_t KeyedHash::ts_offset(const FourTuple& t) const { return tuple_hash(k0_, k1_, 'T', t); }

uint32_t KeyedHash::syn_cookie(const FourTuple& t, uint32_t irs, uint32_t counter) const {
  uint8_t buf[25];
  buf[0] = 'C';
  std::memcpy(buf + 1, &t.local_ip, 4);
  std::memcpy(buf + 5, &t.remote_ip, 4);
  std::memcpy(buf + 9, &t.local_port, 2);
  std::memcpy(buf + 11, &t.remote_port, 2);
  std::memcpy(buf + 13, &t.vni, 4);
  std::memcpy(buf + 17, &irs, 4);
  std::memcpy(buf + 21, &counter, 4);
  return uint32_t(siphash24(k0_, k1_, buf, sizeof buf));
}

uint32_t KeyedHash::port_offset(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port) const {
  uint8_t buf[11];
  buf[0] = 'P';
  std::memcpy(buf + 1, &local_ip, 4);
  std::memcpy(buf + 5, &remote_ip, 4);
  std::memcpy(buf + 9, &remote_port, 2);
  return uint32_t(siphash24(k0_, k1_, buf, sizeof buf));
}

uint32_t KeyedHash::draw(uint64_t n) const {
  uint8_t buf[9];
  buf[0] = 'D';
  std::memcpy(buf + 1, &n, 8);
  return uint32_t(siphash24(k0_, k1_, buf, sizeof buf));
}

}  // namespace virtuoso::slowpath

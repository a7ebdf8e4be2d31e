// Reading and writing the socket addresses of the stack's calls (host byte order inside the shim):
// struct sockaddr_in for AF_INET sockets, struct sockaddr_in6 for dual-stack AF_INET6 sockets,
// whose IPv4 peers appear as v4-mapped addresses (::ffff:a.b.c.d, RFC 4291 2.5.5.2) as on Linux.
#pragma once
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace virtuoso::shim {

// Linux's shortest accepted sockaddr_in6 (without sin6_scope_id, SIN6_LEN_RFC2133).
inline constexpr socklen_t kSockaddrIn6MinLen = 24;

// The IPv4 address an IPv6 address stands for on the stack: :: (any) is 0, ::ffff:a.b.c.d is
// a.b.c.d. False for every other IPv6 address, which the stack (IPv4 only) cannot serve.
inline bool ipv4_of(const struct in6_addr& a, uint32_t& ip) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kAny[16] = {};
  if (std::memcmp(a.s6_addr, kAny, 16) == 0) {
    ip = 0;
    return true;
  }
  if (std::memcmp(a.s6_addr, kMapped, 12) != 0) return false;
  uint32_t be;
  std::memcpy(&be, a.s6_addr + 12, 4);
  ip = ntohl(be);
  return true;
}

// For a socket of `family`: 0, -EFAULT, -EINVAL (too short), -EAFNOSUPPORT (another family), or
// `not_ipv4` for an IPv6 address that is neither :: nor v4-mapped (bind: -EADDRNOTAVAIL, no such
// address here; connect: -ENETUNREACH, no IPv6 route), as Linux's inet and inet6 calls answer.
inline int parse_sockaddr(int family, const struct sockaddr* a, socklen_t len, uint32_t& ip,
                          uint16_t& port, int not_ipv4) {
  if (a == nullptr) return -EFAULT;
  if (family == AF_INET6) {
    if (len < kSockaddrIn6MinLen) return -EINVAL;
    struct sockaddr_in6 sin6;
    std::memset(&sin6, 0, sizeof sin6);
    std::memcpy(&sin6, a, std::min<size_t>(len, sizeof sin6));
    if (sin6.sin6_family != AF_INET6) return -EAFNOSUPPORT;
    if (!ipv4_of(sin6.sin6_addr, ip)) return not_ipv4;
    port = ntohs(sin6.sin6_port);
    return 0;
  }
  if (len < static_cast<socklen_t>(sizeof(struct sockaddr_in))) return -EINVAL;
  struct sockaddr_in sin;
  std::memcpy(&sin, a, sizeof sin);
  if (sin.sin_family != AF_INET) return -EAFNOSUPPORT;
  ip = ntohl(sin.sin_addr.s_addr);
  port = ntohs(sin.sin_port);
  return 0;
}

// Writes as much of the address as *len allows and sets *len to its full size (accept(2) rules).
// AF_INET6: 0.0.0.0 is ::, any other address v4-mapped.
inline int fill_sockaddr(int family, struct sockaddr* a, socklen_t* len, uint32_t ip, uint16_t port) {
  if (a == nullptr) return 0;
  if (len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
  if (family == AF_INET6) {
    struct sockaddr_in6 sin6;
    std::memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    if (ip != 0) {
      sin6.sin6_addr.s6_addr[10] = 0xff;
      sin6.sin6_addr.s6_addr[11] = 0xff;
      uint32_t be = htonl(ip);
      std::memcpy(sin6.sin6_addr.s6_addr + 12, &be, 4);
    }
    std::memcpy(a, &sin6, std::min<size_t>(*len, sizeof sin6));
    *len = sizeof sin6;
    return 0;
  }
  struct sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(ip);
  sin.sin_port = htons(port);
  std::memcpy(a, &sin, std::min<size_t>(*len, sizeof sin));
  *len = sizeof sin;
  return 0;
}

}  // namespace virtuoso::shim

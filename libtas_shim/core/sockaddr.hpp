// Reading and writing struct sockaddr_in for the stack's calls (host byte order inside the shim).
#pragma once
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace virtuoso::shim {

// 0, -EFAULT, -EINVAL (too short) or -EAFNOSUPPORT (not AF_INET), as Linux's inet calls answer.
inline int parse_sockaddr_in(const struct sockaddr* a, socklen_t len, uint32_t& ip,
                             uint16_t& port) {
  if (a == nullptr) return -EFAULT;
  if (len < static_cast<socklen_t>(sizeof(struct sockaddr_in))) return -EINVAL;
  struct sockaddr_in sin;
  std::memcpy(&sin, a, sizeof sin);
  if (sin.sin_family != AF_INET) return -EAFNOSUPPORT;
  ip = ntohl(sin.sin_addr.s_addr);
  port = ntohs(sin.sin_port);
  return 0;
}

// Writes as much of the address as *len allows and sets *len to its full size (accept(2) rules).
inline int fill_sockaddr_in(struct sockaddr* a, socklen_t* len, uint32_t ip, uint16_t port) {
  if (a == nullptr) return 0;
  if (len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
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

// Socket helpers for the benchmarks: address parsing, non-blocking mode, TCP_NODELAY. POSIX only.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace virtuoso::bench {

// IPv4 socket address for `host` ("localhost" or a dotted quad) and `port`. Names are not looked
// up: a benchmark must never send a resolver query off the machine.
inline std::optional<sockaddr_in> ipv4_address(const std::string& host, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  const char* text = host == "localhost" ? "127.0.0.1" : host.c_str();
  if (inet_pton(AF_INET, text, &sa.sin_addr) != 1) return std::nullopt;
  return sa;
}

inline std::string to_string(const sockaddr_in& sa) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof(buf));
  return std::string(buf) + ":" + std::to_string(ntohs(sa.sin_port));
}

inline bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Latency benchmarks must not wait for Nagle to coalesce small requests.
inline bool set_nodelay(int fd) {
  int one = 1;
  return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
}

inline std::string errno_text(int err) { return std::strerror(err); }

// A connected TCP socket (blocking connect, then switched to non-blocking with TCP_NODELAY),
// or -1 with `err` describing what failed.
inline int connect_tcp(const sockaddr_in& sa, std::string& err) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = "socket: " + errno_text(errno);
    return -1;
  }
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 || !set_nonblocking(fd) || !set_nodelay(fd)) {
    err = "connect to " + to_string(sa) + ": " + errno_text(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace virtuoso::bench

// Socket names and options of stack sockets. Options the stack has no use for but apps commonly
// set are accepted and remembered, so getsockopt() reports back what was set; unknown ones fail
// with ENOPROTOOPT as Linux does for options a protocol does not know.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "sockaddr.hpp"
#include "stack.hpp"
#include "stack_keepalive.hpp"

namespace virtuoso::shim {
namespace {

constexpr int kDefaultMss = 536;  // Linux's TCP_MSS_DEFAULT before a connection exists
// What getsockopt reports for a TCP_KEEP* never set: Linux's defaults (tcp_keepalive_time,
// tcp_keepalive_intvl, tcp_keepalive_probes); the stack applies its own configured ones.
constexpr int kDefaultKeepIdle = 7200;
constexpr int kDefaultKeepIntvl = 75;
constexpr int kDefaultKeepCnt = 9;

int read_int(const void* val, socklen_t len, int& out) {
  if (len < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  if (val == nullptr) return -EFAULT;
  std::memcpy(&out, val, sizeof(int));
  return 0;
}

template <typename T>
int read_struct(const void* val, socklen_t len, T& out) {
  if (len < static_cast<socklen_t>(sizeof(T))) return -EINVAL;
  if (val == nullptr) return -EFAULT;
  std::memcpy(&out, val, sizeof(T));
  return 0;
}

// getsockopt(2) copies min(*len, sizeof value) bytes and reports how many.
template <typename T>
int write_value(void* val, socklen_t* len, const T& v) {
  socklen_t n = std::min<socklen_t>(*len, sizeof(T));
  std::memcpy(val, &v, n);
  *len = n;
  return 0;
}

int set_timeout(const void* val, socklen_t len, struct timeval& out) {
  struct timeval tv;
  if (int rc = read_struct(val, len, tv); rc < 0) return rc;
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -EDOM;
  out = tv.tv_sec < 0 ? timeval{0, 0} : tv;
  return 0;
}

int set_socket_level(Socket& s, int name, const void* val, socklen_t len) {
  int v = 0;
  switch (name) {
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_KEEPALIVE: {
      if (int rc = read_int(val, len, v); rc < 0) return rc;
      bool& flag = name == SO_REUSEADDR   ? s.opt.reuseaddr
                   : name == SO_REUSEPORT ? s.opt.reuseport
                                          : s.opt.keepalive;
      flag = v != 0;
      if (name == SO_KEEPALIVE) defer_keepalive(*s.ctx, s);  // a connected socket: tell the slow path now
      return 0;
    }
    case SO_RCVBUF:
    case SO_SNDBUF:
    case SO_RCVBUFFORCE:
    case SO_SNDBUFFORCE:
      return read_int(val, len, v);  // the daemon sizes the rings; getsockopt reports them
    case SO_LINGER: {
      struct linger l;
      if (int rc = read_struct(val, len, l); rc < 0) return rc;
      s.opt.linger_on = l.l_onoff != 0;
      s.opt.linger_secs = l.l_linger;
      return 0;
    }
    case SO_MAX_PACING_RATE: {
      // Linux: an unsigned int, or an unsigned long given room for one; ~0U means no cap.
      uint32_t v32 = 0;
      if (int rc = read_struct(val, len, v32); rc < 0) return rc;
      uint64_t rate = v32 == UINT32_MAX ? UINT64_MAX : v32;
      if (len >= sizeof(uint64_t)) std::memcpy(&rate, val, sizeof rate);
      s.opt.max_pacing_rate = rate;
      s.ctx->publish_pacing_cap(s);  // the slow path applies it at its next look at the flow
      return 0;
    }
    case SO_RCVTIMEO:
      return set_timeout(val, len, s.opt.rcvtimeo);
    case SO_SNDTIMEO:
      return set_timeout(val, len, s.opt.sndtimeo);
  }
  return -ENOPROTOOPT;
}

int set_tcp_level(Socket& s, int name, const void* val, socklen_t len) {
  int v = 0;
  if (int rc = read_int(val, len, v); rc < 0) return rc;
  switch (name) {
    case TCP_NODELAY:  // the stack sends as soon as bytes are queued anyway
      s.opt.nodelay = v != 0;
      return 0;
    case TCP_CORK:
      s.opt.cork = v != 0;
      return 0;
    case TCP_QUICKACK:
      return 0;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
      if (v < 1 || v > 32767) return -EINVAL;
      (name == TCP_KEEPIDLE ? s.opt.keepidle : s.opt.keepintvl) = v;
      if (s.opt.keepalive) defer_keepalive(*s.ctx, s);
      return 0;
    case TCP_KEEPCNT:
      if (v < 1 || v > 127) return -EINVAL;
      s.opt.keepcnt = v;
      if (s.opt.keepalive) defer_keepalive(*s.ctx, s);
      return 0;
  }
  return -ENOPROTOOPT;
}

int set_ip_level(Socket& s, int name, const void* val, socklen_t len) {
  int v = 0;
  switch (name) {
    case IP_TOS:
      if (int rc = read_int(val, len, v); rc < 0) return rc;
      s.opt.tos = v & 0xff;
      return 0;
    case IP_TTL:
      if (int rc = read_int(val, len, v); rc < 0) return rc;
      if (v != -1 && (v < 1 || v > 255)) return -EINVAL;
      s.opt.ttl = v == -1 ? 64 : v;
      return 0;
  }
  return -ENOPROTOOPT;
}

// IPv6 options of a dual-stack socket: Linux applies them to IPv6 traffic only, so for the IPv4
// this socket carries they are kept and read back, nothing more.
int set_ipv6_level(Socket& s, int name, const void* val, socklen_t len) {
  int v = 0;
  switch (name) {
    case IPV6_TCLASS:
      if (int rc = read_int(val, len, v); rc < 0) return rc;
      if (v < -1 || v > 255) return -EINVAL;
      s.v6_tclass = v == -1 ? 0 : v;
      return 0;
    case IPV6_UNICAST_HOPS:
      if (int rc = read_int(val, len, v); rc < 0) return rc;
      if (v < -1 || v > 255) return -EINVAL;
      s.v6_hops = v;
      return 0;
  }
  return -ENOPROTOOPT;
}

}  // namespace

// IPV6_V6ONLY on: the socket will carry IPv6 alone, which the stack does not serve. Before bind it
// becomes a kernel socket under the same descriptor number (flags kept), with one line on stderr
// saying so; afterwards Linux itself refuses the change (EINVAL).
int Stack::to_kernel_v6only(int fd, Socket& s) {
  if (s.state != SockState::kFresh || s.reserved || s.busy || s.fd_refs != 1 || s.inherited) return -EINVAL;
  int flags = k_.fcntl(fd, F_GETFD);
  int kfd = k_.socket(AF_INET6, SOCK_STREAM | (s.nonblocking ? SOCK_NONBLOCK : 0), IPPROTO_TCP);
  if (kfd < 0) return -errno;
  int one = 1;
  if (k_.setsockopt(kfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
      k_.dup3(kfd, fd, (flags >= 0 && (flags & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) {
    int e = errno;
    k_.close(kfd);
    return -e;
  }
  k_.close(kfd);
  std::shared_ptr<Socket> gone = fds_.take(fd);
  if (gone && --gone->fd_refs == 0) release(*gone);
  std::string line = "libtas_shim: socket " + std::to_string(fd) +
                     " (AF_INET6) set IPV6_V6ONLY: it carries only IPv6, which the stack does not serve;"
                     " handed to the kernel\n";
  [[maybe_unused]] ssize_t r = k_.write(2, line.data(), line.size());
  return 0;
}

int Stack::getsockname(int fd, struct sockaddr* addr, socklen_t* len) {
  if (addr == nullptr || len == nullptr) return -EFAULT;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  uint32_t ip = s->local_ip;
  if (ip == 0 && s->state == SockState::kConnected) ip = s->ctx->local_ip();
  return fill_sockaddr(s->family, addr, len, ip, s->local_port);
}

int Stack::getpeername(int fd, struct sockaddr* addr, socklen_t* len) {
  if (addr == nullptr || len == nullptr) return -EFAULT;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  drain(*s->ctx);
  bool connected = s->state == SockState::kConnected || s->state == SockState::kClaiming;
  if (!connected || s->failed || s->closed_by_stack) return -ENOTCONN;
  return fill_sockaddr(s->family, addr, len, s->remote_ip, s->remote_port);
}

int Stack::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  switch (level) {
    case SOL_SOCKET:
      return set_socket_level(*s, name, val, len);
    case IPPROTO_TCP:
      if (name == TCP_CONGESTION) {
        if (val == nullptr) return -EFAULT;
        return set_congestion(*s, val, len);
      }
      return set_tcp_level(*s, name, val, len);
    case IPPROTO_IP:
      return set_ip_level(*s, name, val, len);
    case IPPROTO_IPV6:
      if (s->family != AF_INET6) return -ENOPROTOOPT;  // Linux: not an IPv6 socket
      if (name == IPV6_V6ONLY) {
        int v = 0;
        if (int rc = read_int(val, len, v); rc < 0) return rc;
        if (v == 0) return 0;
        return to_kernel_v6only(fd, *s);
      }
      return set_ipv6_level(*s, name, val, len);
  }
  return -ENOPROTOOPT;
}

int Stack::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  if (val == nullptr || len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
  if (level == IPPROTO_TCP && name == TCP_INFO) {
    if (int rc = adopt(fd); rc < 0) return rc;  // the figures come from the flow
  }
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  drain(*s->ctx);
  const abi::AppLayout& l = s->ctx->view().layout;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE: return write_value(val, len, int{SOCK_STREAM});
      case SO_DOMAIN: return write_value(val, len, s->family);
      case SO_PROTOCOL: return write_value(val, len, int{IPPROTO_TCP});
      case SO_ACCEPTCONN: return write_value(val, len, int{s->state == SockState::kListening});
      case SO_ERROR: {
        int e = s->so_error;
        s->so_error = 0;
        return write_value(val, len, e);
      }
      case SO_REUSEADDR: return write_value(val, len, int{s->opt.reuseaddr});
      case SO_REUSEPORT: return write_value(val, len, int{s->opt.reuseport});
      case SO_KEEPALIVE: return write_value(val, len, int{s->opt.keepalive});
      case SO_RCVBUF: return write_value(val, len, static_cast<int>(l.rx_size));
      case SO_SNDBUF: return write_value(val, len, static_cast<int>(l.tx_size));
      case SO_LINGER:
        return write_value(val, len, linger{s->opt.linger_on ? 1 : 0, s->opt.linger_secs});
      case SO_RCVTIMEO: return write_value(val, len, s->opt.rcvtimeo);
      case SO_SNDTIMEO: return write_value(val, len, s->opt.sndtimeo);
      case SO_MAX_PACING_RATE:  // Linux: 64 bits given room for them, else capped to 32
        if (*len >= sizeof(uint64_t)) return write_value(val, len, s->opt.max_pacing_rate);
        return write_value(val, len, static_cast<uint32_t>(std::min<uint64_t>(s->opt.max_pacing_rate, UINT32_MAX)));
    }
  } else if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return write_value(val, len, int{s->opt.nodelay});
      case TCP_CORK: return write_value(val, len, int{s->opt.cork});
      case TCP_QUICKACK: return write_value(val, len, int{1});
      case TCP_INFO: return tcp_info(*s, val, len);
      case TCP_CONGESTION: return get_congestion(*s, val, len);
      case TCP_KEEPIDLE: return write_value(val, len, s->opt.keepidle ? s->opt.keepidle : kDefaultKeepIdle);
      case TCP_KEEPINTVL: return write_value(val, len, s->opt.keepintvl ? s->opt.keepintvl : kDefaultKeepIntvl);
      case TCP_KEEPCNT: return write_value(val, len, s->opt.keepcnt ? s->opt.keepcnt : kDefaultKeepCnt);
      case TCP_MAXSEG: {
        int mss = (s->state == SockState::kConnected && s->mss != 0) ? s->mss : kDefaultMss;
        return write_value(val, len, mss);
      }
    }
  } else if (level == IPPROTO_IP) {
    switch (name) {
      case IP_TOS: return write_value(val, len, s->opt.tos);
      case IP_TTL: return write_value(val, len, s->opt.ttl);
    }
  } else if (level == IPPROTO_IPV6 && s->family == AF_INET6) {
    switch (name) {
      case IPV6_V6ONLY: return write_value(val, len, int{0});  // set, it would be the kernel's socket
      case IPV6_TCLASS: return write_value(val, len, s->v6_tclass);
      case IPV6_UNICAST_HOPS: return write_value(val, len, s->v6_hops == -1 ? 64 : s->v6_hops);
    }
  }
  return -ENOPROTOOPT;
}

}  // namespace virtuoso::shim

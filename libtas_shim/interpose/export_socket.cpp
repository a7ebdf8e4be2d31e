// Interposed socket-setup calls: AF_INET and dual-stack AF_INET6 stream sockets go to the stack,
// everything else to libc.
#include <netinet/in.h>

#include "shim.hpp"

using namespace virtuoso::shim;

namespace {

// AF_INET6 too: a dual-stack socket (IPV6_V6ONLY off, Linux's default) carries IPv4, which is the
// stack's; one set to IPV6_V6ONLY before bind goes to the kernel (Stack::setsockopt).
bool wants_stack(int domain, int type, int protocol) {
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  return (domain == AF_INET || domain == AF_INET6) && base == SOCK_STREAM &&
         (protocol == 0 || protocol == IPPROTO_TCP);
}

}  // namespace

VIRTUOSO_EXPORT int socket(int domain, int type, int protocol) {
  if (!wants_stack(domain, type, protocol)) return real().socket(domain, type, protocol);
  return to_libc(stack().socket(type, domain));
}

VIRTUOSO_EXPORT int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().bind(fd, addr, len);
  return to_libc(st.bind(fd, addr, len));
}

VIRTUOSO_EXPORT int listen(int fd, int backlog) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().listen(fd, backlog);
  return to_libc(st.listen(fd, backlog));
}

VIRTUOSO_EXPORT int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().accept4(fd, addr, len, flags);
  return to_libc(st.accept(fd, addr, len, flags));
}

VIRTUOSO_EXPORT int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().accept(fd, addr, len);
  return to_libc(st.accept(fd, addr, len, 0));
}

VIRTUOSO_EXPORT int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().connect(fd, addr, len);
  return to_libc(st.connect(fd, addr, len));
}

VIRTUOSO_EXPORT int shutdown(int fd, int how) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().shutdown(fd, how);
  return to_libc(st.shutdown(fd, how));
}

VIRTUOSO_EXPORT int getsockname(int fd, struct sockaddr* addr, socklen_t* len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().getsockname(fd, addr, len);
  return to_libc(st.getsockname(fd, addr, len));
}

VIRTUOSO_EXPORT int getpeername(int fd, struct sockaddr* addr, socklen_t* len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().getpeername(fd, addr, len), fd);
  return to_libc(st.getpeername(fd, addr, len));
}

VIRTUOSO_EXPORT int setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().setsockopt(fd, level, name, val, len);
  return to_libc(st.setsockopt(fd, level, name, val, len));
}

VIRTUOSO_EXPORT int getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().getsockopt(fd, level, name, val, len);
  return to_libc(st.getsockopt(fd, level, name, val, len));
}

// Interposed data calls (and glibc's _FORTIFY_SOURCE variants, which fortified programs call
// instead of read/recv/recvfrom): stack sockets use the rings, everything else goes to libc.
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "shim.hpp"

using namespace virtuoso::shim;

extern "C" [[noreturn]] void __chk_fail(void);

namespace {

ssize_t stack_recv(Stack& st, int fd, void* buf, size_t len, int flags) {
  struct iovec iov = {buf, len};
  return to_libc(st.recv(fd, &iov, 1, flags));
}

ssize_t stack_send(Stack& st, int fd, const void* buf, size_t len, int flags) {
  struct iovec iov = {const_cast<void*>(buf), len};
  return send_result(st.send(fd, &iov, 1, flags), flags);
}

// TCP does not report a source address: Linux sets the length to 0.
void no_address(socklen_t* len) {
  if (len != nullptr) *len = 0;
}

}  // namespace

VIRTUOSO_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().read(fd, buf, len), fd);
  return stack_recv(st, fd, buf, len, 0);
}

VIRTUOSO_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().read_chk(fd, buf, len, buflen), fd);
  if (len > buflen) __chk_fail();
  return stack_recv(st, fd, buf, len, 0);
}

VIRTUOSO_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().write(fd, buf, len), fd);
  return stack_send(st, fd, buf, len, 0);
}

VIRTUOSO_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().recv(fd, buf, len, flags), fd);
  return stack_recv(st, fd, buf, len, flags);
}

VIRTUOSO_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().recv_chk(fd, buf, len, buflen, flags), fd);
  if (len > buflen) __chk_fail();
  return stack_recv(st, fd, buf, len, flags);
}

VIRTUOSO_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().send(fd, buf, len, flags), fd);
  return stack_send(st, fd, buf, len, flags);
}

VIRTUOSO_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* src,
                                 socklen_t* srclen) {
  Stack& st = stack();
  if (!st.is_socket(fd))
    return passed_through(real().recvfrom(fd, buf, len, flags, src, srclen), fd);
  ssize_t r = stack_recv(st, fd, buf, len, flags);
  if (r >= 0 && src != nullptr) no_address(srclen);
  return r;
}

VIRTUOSO_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                                       struct sockaddr* src, socklen_t* srclen) {
  Stack& st = stack();
  if (!st.is_socket(fd))
    return passed_through(real().recvfrom_chk(fd, buf, len, buflen, flags, src, srclen), fd);
  if (len > buflen) __chk_fail();
  ssize_t r = stack_recv(st, fd, buf, len, flags);
  if (r >= 0 && src != nullptr) no_address(srclen);
  return r;
}

VIRTUOSO_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags,
                               const struct sockaddr* dst, socklen_t dstlen) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().sendto(fd, buf, len, flags, dst, dstlen), fd);
  return stack_send(st, fd, buf, len, flags);  // TCP ignores the address on a connected socket
}

VIRTUOSO_EXPORT ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().readv(fd, iov, iovcnt), fd);
  return to_libc(st.recv(fd, iov, iovcnt, 0));
}

VIRTUOSO_EXPORT ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().writev(fd, iov, iovcnt), fd);
  return send_result(st.send(fd, iov, iovcnt, 0), 0);
}

VIRTUOSO_EXPORT ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().recvmsg(fd, msg, flags), fd);
  if (msg == nullptr) {
    errno = EFAULT;
    return -1;
  }
  ssize_t r = to_libc(st.recv(fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags));
  if (r >= 0) {
    msg->msg_namelen = 0;
    msg->msg_controllen = 0;
    msg->msg_flags = 0;
  }
  return r;
}

VIRTUOSO_EXPORT ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return passed_through(real().sendmsg(fd, msg, flags), fd);
  if (msg == nullptr) {
    errno = EFAULT;
    return -1;
  }
  return send_result(st.send(fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags), flags);
}

VIRTUOSO_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  Stack& st = stack();
  if (!st.is_socket(out_fd) && !st.is_socket(in_fd)) {
    return real().sendfile(out_fd, in_fd, offset, count);
  }
  if (!st.is_socket(out_fd)) {
    errno = EINVAL;  // a stack socket as the input: the kernel cannot map it
    return -1;
  }
  return send_result(st.sendfile(out_fd, in_fd, offset, count), 0);
}

VIRTUOSO_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) {
  static_assert(sizeof(off64_t) == sizeof(off_t), "64-bit file offsets only");
  Stack& st = stack();
  if (!st.is_socket(out_fd) && !st.is_socket(in_fd)) {
    return real().sendfile64(out_fd, in_fd, offset, count);
  }
  return sendfile(out_fd, in_fd, reinterpret_cast<off_t*>(offset), count);
}

// sendmmsg/recvmmsg on a stack socket: one sendmsg/recvmsg per entry, as the kernel does for
// TCP; a partial or failed entry ends the batch (an error only if it is the first).
VIRTUOSO_EXPORT int sendmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().sendmmsg(fd, vec, vlen, flags);
  if (vec == nullptr && vlen > 0) {
    errno = EFAULT;
    return -1;
  }
  unsigned int done = 0;
  for (; done < vlen; ++done) {
    msghdr& m = vec[done].msg_hdr;
    size_t want = 0;
    for (size_t i = 0; i < m.msg_iovlen; ++i) want += m.msg_iov[i].iov_len;
    ssize_t r = st.send(fd, m.msg_iov, static_cast<int>(m.msg_iovlen), flags);
    if (r < 0) {
      if (done == 0) return static_cast<int>(send_result(r, flags));
      break;
    }
    vec[done].msg_len = static_cast<unsigned int>(r);
    if (static_cast<size_t>(r) < want) {
      ++done;
      break;
    }
  }
  return static_cast<int>(done);
}

// The timeout is not applied (Linux checks it only between messages): entries after the first
// wait as `flags` say (MSG_WAITFORONE: not at all).
VIRTUOSO_EXPORT int recvmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags,
                             struct timespec* timeout) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().recvmmsg(fd, vec, vlen, flags, timeout);
  if (vec == nullptr && vlen > 0) {
    errno = EFAULT;
    return -1;
  }
  unsigned int done = 0;
  for (; done < vlen; ++done) {
    int f = flags & ~MSG_WAITFORONE;
    if (done > 0 && (flags & MSG_WAITFORONE)) f |= MSG_DONTWAIT;
    msghdr& m = vec[done].msg_hdr;
    ssize_t r = st.recv(fd, m.msg_iov, static_cast<int>(m.msg_iovlen), f);
    if (r < 0) {
      if (done == 0) return static_cast<int>(to_libc(r));
      break;
    }
    vec[done].msg_len = static_cast<unsigned int>(r);
    m.msg_namelen = 0;
    m.msg_controllen = 0;
    m.msg_flags = 0;
    if (r == 0) {  // end of stream: report it in this entry, stop
      ++done;
      break;
    }
  }
  return static_cast<int>(done);
}

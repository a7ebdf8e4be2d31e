// Interposed descriptor calls: close, dup*, fcntl, ioctl, close_range. The shim's own descriptors
// (doorbells, its link to the daemon, kick eventfds) are protected from an app closing "all fds".
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "shim.hpp"

using namespace virtuoso::shim;

namespace {

int do_fcntl(int fd, int cmd, uintptr_t arg, int (*real_fn)(int, int, ...)) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real_fn(fd, cmd, arg);
  return to_libc(st.fcntl(fd, cmd, arg));
}

int close_one(Stack& st, int fd) {
  switch (st.fd_kind(fd)) {
    case FdTable::Kind::kNone:
      return real().close(fd);
    case FdTable::Kind::kSocket:
      return to_libc(st.close(fd));
    case FdTable::Kind::kEpoll:
      return to_libc(st.epoll_closing(fd));
    case FdTable::Kind::kInternal:
      break;
  }
  errno = EBADF;  // not the app's descriptor
  return -1;
}

}  // namespace

VIRTUOSO_EXPORT int close(int fd) { return close_one(stack(), fd); }

VIRTUOSO_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  Stack& st = stack();
  if (real().close_range == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // Marking close-on-exec harms nothing of ours; plain libc unless shim descriptors are in range.
  if ((flags & CLOSE_RANGE_CLOEXEC) || first > last) return real().close_range(first, last, flags);
  unsigned top = std::min<unsigned>(last, FdTable::kMaxFds - 1);
  unsigned run = first;  // start of a stretch that libc may close in one call
  for (unsigned fd = first; fd <= top; ++fd) {
    if (st.fd_kind(static_cast<int>(fd)) == FdTable::Kind::kNone) continue;
    if (fd > run && real().close_range(run, fd - 1, flags) < 0) return -1;
    close_one(st, static_cast<int>(fd));  // EBADF for ours is expected and ignored
    run = fd + 1;
  }
  if (run <= last) return real().close_range(run, last, flags);
  return 0;
}

VIRTUOSO_EXPORT int dup(int fd) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().dup(fd);
  return to_libc(st.dup(fd, 0, false));
}

VIRTUOSO_EXPORT int dup2(int oldfd, int newfd) {
  Stack& st = stack();
  if (!st.is_socket(oldfd) && st.fd_kind(newfd) == FdTable::Kind::kNone) {
    return real().dup2(oldfd, newfd);
  }
  return to_libc(st.dup3(oldfd, newfd, 0, true));
}

VIRTUOSO_EXPORT int dup3(int oldfd, int newfd, int flags) {
  Stack& st = stack();
  if (!st.is_socket(oldfd) && st.fd_kind(newfd) == FdTable::Kind::kNone) {
    return real().dup3(oldfd, newfd, flags);
  }
  return to_libc(st.dup3(oldfd, newfd, flags, false));
}

VIRTUOSO_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  uintptr_t arg = va_arg(ap, uintptr_t);  // every fcntl argument fits a register word
  va_end(ap);
  return do_fcntl(fd, cmd, arg, real().fcntl);
}

VIRTUOSO_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  uintptr_t arg = va_arg(ap, uintptr_t);
  va_end(ap);
  return do_fcntl(fd, cmd, arg, real().fcntl64 != nullptr ? real().fcntl64 : real().fcntl);
}

VIRTUOSO_EXPORT int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  Stack& st = stack();
  if (!st.is_socket(fd)) return real().ioctl(fd, req, arg);
  return to_libc(st.ioctl(fd, req, arg));
}

// The kernel calls the shim core makes, as a table: the interposer fills it with libc's own symbols
// (dlsym RTLD_NEXT) so the core never re-enters its own exports; tests fill it with plain libc.
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace virtuoso::shim {

struct KernelOps {
  ssize_t (*read)(int, void*, size_t) = nullptr;
  ssize_t (*write)(int, const void*, size_t) = nullptr;
  int (*close)(int) = nullptr;
  int (*ppoll)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*) = nullptr;
  int (*epoll_ctl)(int, int, int, struct epoll_event*) = nullptr;
  int (*epoll_pwait)(int, struct epoll_event*, int, int, const sigset_t*) = nullptr;
  // Null where libc lacks it: waits then round up to whole milliseconds with epoll_pwait.
  int (*epoll_pwait2)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*) = nullptr;
  int (*socket)(int, int, int) = nullptr;
  int (*connect)(int, const struct sockaddr*, socklen_t) = nullptr;
  int (*bind)(int, const struct sockaddr*, socklen_t) = nullptr;
  int (*getsockname)(int, struct sockaddr*, socklen_t*) = nullptr;
  int (*getsockopt)(int, int, int, void*, socklen_t*) = nullptr;
  ssize_t (*sendmsg)(int, const struct msghdr*, int) = nullptr;
  ssize_t (*recvmsg)(int, struct msghdr*, int) = nullptr;
  int (*setsockopt)(int, int, int, const void*, socklen_t) = nullptr;
  int (*fcntl)(int, int, ...) = nullptr;
  int (*dup3)(int, int, int) = nullptr;
  int (*ioctl)(int, unsigned long, ...) = nullptr;
};

// The table of plain libc functions (unit tests, and tools that are not preloaded).
KernelOps libc_kernel_ops();

// Writes 1 to an eventfd (a doorbell or a kick); errors are ignored: a full counter already wakes.
void ring_eventfd(const KernelOps& k, int fd);
// Resets an eventfd if it is readable. Only its one reader may call this.
void drain_eventfd(const KernelOps& k, int fd);

}  // namespace virtuoso::shim

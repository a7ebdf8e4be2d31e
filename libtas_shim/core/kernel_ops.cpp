// The libc-backed KernelOps table and the eventfd helpers shared by the doorbell code.
#include "kernel_ops.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>

namespace virtuoso::shim {
namespace {
constexpr struct timespec kZeroTimeout = {0, 0};
}  // namespace

KernelOps libc_kernel_ops() {
  KernelOps k;
  k.read = ::read;
  k.write = ::write;
  k.close = ::close;
  k.ppoll = ::ppoll;
  k.epoll_ctl = ::epoll_ctl;
  k.epoll_pwait = ::epoll_pwait;
  k.epoll_pwait2 = ::epoll_pwait2;
  k.socket = ::socket;
  k.connect = ::connect;
  k.bind = ::bind;
  k.getsockname = ::getsockname;
  k.getsockopt = ::getsockopt;
  k.sendmsg = ::sendmsg;
  k.recvmsg = ::recvmsg;
  k.setsockopt = ::setsockopt;
  k.fcntl = ::fcntl;
  k.dup3 = ::dup3;
  k.ioctl = ::ioctl;
  return k;
}

void ring_eventfd(const KernelOps& k, int fd) {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = k.write(fd, &one, sizeof one);
}

void drain_eventfd(const KernelOps& k, int fd) {
  // Checked first: a read of a zero counter would block, and an edge seen through epoll may be
  // older than a reset someone else already did.
  struct pollfd p = {fd, POLLIN, 0};
  if (k.ppoll(&p, 1, &kZeroTimeout, nullptr) != 1 || !(p.revents & POLLIN)) return;
  uint64_t v;
  [[maybe_unused]] ssize_t r = k.read(fd, &v, sizeof v);
}

}  // namespace virtuoso::shim

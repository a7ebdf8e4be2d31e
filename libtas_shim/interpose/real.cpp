// Resolving libc's versions of the interposed functions (RTLD_NEXT: the next object after us).
#include "real.hpp"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace virtuoso::shim {
namespace {

template <typename F>
void resolve(F& fn, const char* name, bool required = true) {
  fn = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (fn == nullptr && required) {
    // Nothing can work without libc's socket calls; say which one is missing and stop.
    const char* a = "libtas_shim: libc has no symbol ";
    [[maybe_unused]] ssize_t r = ::syscall(SYS_write, 2, a, strlen(a));
    r = ::syscall(SYS_write, 2, name, strlen(name));
    r = ::syscall(SYS_write, 2, "\n", 1);
    _exit(127);
  }
}

RealFns load() {
  RealFns r;
  resolve(r.socket, "socket");
  resolve(r.bind, "bind");
  resolve(r.listen, "listen");
  resolve(r.accept, "accept");
  resolve(r.accept4, "accept4");
  resolve(r.connect, "connect");
  resolve(r.shutdown, "shutdown");
  resolve(r.getsockname, "getsockname");
  resolve(r.getpeername, "getpeername");
  resolve(r.setsockopt, "setsockopt");
  resolve(r.getsockopt, "getsockopt");
  resolve(r.read, "read");
  resolve(r.write, "write");
  resolve(r.recv, "recv");
  resolve(r.send, "send");
  resolve(r.recvfrom, "recvfrom");
  resolve(r.sendto, "sendto");
  resolve(r.readv, "readv");
  resolve(r.writev, "writev");
  resolve(r.recvmsg, "recvmsg");
  resolve(r.sendmsg, "sendmsg");
  resolve(r.sendmmsg, "sendmmsg");
  resolve(r.recvmmsg, "recvmmsg");
  resolve(r.sendfile, "sendfile");
  resolve(r.sendfile64, "sendfile64");
  resolve(r.read_chk, "__read_chk");
  resolve(r.recv_chk, "__recv_chk");
  resolve(r.recvfrom_chk, "__recvfrom_chk");
  resolve(r.close, "close");
  resolve(r.close_range, "close_range", false);
  resolve(r.dup, "dup");
  resolve(r.dup2, "dup2");
  resolve(r.dup3, "dup3");
  resolve(r.fcntl, "fcntl");
  resolve(r.fcntl64, "fcntl64", false);
  resolve(r.ioctl, "ioctl");
  resolve(r.poll, "poll");
  resolve(r.ppoll, "ppoll");
  resolve(r.poll_chk, "__poll_chk");
  resolve(r.ppoll_chk, "__ppoll_chk", false);
  resolve(r.select, "select");
  resolve(r.pselect, "pselect");
  resolve(r.epoll_create, "epoll_create");
  resolve(r.epoll_create1, "epoll_create1");
  resolve(r.epoll_ctl, "epoll_ctl");
  resolve(r.epoll_wait, "epoll_wait");
  resolve(r.epoll_pwait, "epoll_pwait");
  resolve(r.epoll_pwait2, "epoll_pwait2", false);
  return r;
}

}  // namespace

const RealFns& real() {
  static const RealFns fns = load();
  return fns;
}

KernelOps real_kernel_ops() {
  const RealFns& r = real();
  KernelOps k;
  k.read = r.read;
  k.write = r.write;
  k.close = r.close;
  k.ppoll = r.ppoll;
  k.epoll_ctl = r.epoll_ctl;
  k.epoll_pwait = r.epoll_pwait;
  k.epoll_pwait2 = r.epoll_pwait2;
  k.socket = r.socket;
  k.connect = r.connect;
  k.bind = r.bind;
  k.getsockname = r.getsockname;
  k.getsockopt = r.getsockopt;
  k.sendmsg = r.sendmsg;
  k.recvmsg = r.recvmsg;
  k.setsockopt = r.setsockopt;
  k.fcntl = r.fcntl;
  k.dup3 = r.dup3;
  k.ioctl = r.ioctl;
  return k;
}

}  // namespace virtuoso::shim

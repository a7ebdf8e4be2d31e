// The one process-wide Stack of the preloaded library, and the helpers every export shares.
#pragma once
#include <errno.h>
#include <signal.h>

#include "core/stack.hpp"
#include "real.hpp"

#define VIRTUOSO_EXPORT extern "C" __attribute__((visibility("default")))

namespace virtuoso::shim {

// Created on first use (thread-safe); never destroyed, so calls made during exit still work.
Stack& stack();

// Kernel-style result to libc-style: -errno -> errno, -1.
template <typename T>
inline T to_libc(T r) {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// A libc result for `fd`, which is not a stack socket. A placeholder that came through exec
// without its hold link fails with the shim's reason (EBADF, said once on stderr) instead of its
// own ENOTCONN or EINVAL; only failures pay for the check.
template <typename T>
inline T passed_through(T r, int fd) {
  if (r >= 0 || (errno != ENOTCONN && errno != EINVAL)) return r;
  int e = errno;
  int why = stack().exec_orphan_error(fd);
  errno = why != 0 ? why : e;
  return r;
}

// send-family result: EPIPE raises SIGPIPE unless MSG_NOSIGNAL, as the kernel does.
inline ssize_t send_result(ssize_t r, int flags) {
  if (r == -EPIPE && !(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
  return to_libc(r);
}

}  // namespace virtuoso::shim

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

// send-family result: EPIPE raises SIGPIPE unless MSG_NOSIGNAL, as the kernel does.
inline ssize_t send_result(ssize_t r, int flags) {
  if (r == -EPIPE && !(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
  return to_libc(r);
}

}  // namespace virtuoso::shim

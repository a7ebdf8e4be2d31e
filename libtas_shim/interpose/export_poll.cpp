// Interposed readiness calls. Without stack sockets involved they go straight to libc; with them,
// the stack evaluates its sockets and waits in the kernel for the rest plus its doorbell.
#include <time.h>

#include <algorithm>

#include "shim.hpp"

using namespace virtuoso::shim;

extern "C" [[noreturn]] void __chk_fail(void);

namespace {

bool any_stack_fd(Stack& st, const struct pollfd* fds, nfds_t n) {
  if (!st.any_sockets() || fds == nullptr) return false;
  for (nfds_t i = 0; i < n; ++i) {
    if (st.is_socket(fds[i].fd)) return true;
  }
  return false;
}

bool any_stack_fd(Stack& st, int nfds, const fd_set* rd, const fd_set* wr, const fd_set* ex) {
  if (!st.any_sockets()) return false;
  nfds = std::min(nfds, FdTable::kMaxFds);
  constexpr int kBits = 8 * sizeof(unsigned long);
  for (const fd_set* set : {rd, wr, ex}) {
    if (set == nullptr) continue;
    const auto* w = reinterpret_cast<const unsigned long*>(set);
    for (int fd = 0; fd < nfds; ++fd) {
      if (((w[fd / kBits] >> (fd % kBits)) & 1UL) && st.is_socket(fd)) return true;
    }
  }
  return false;
}

int poll_ms(struct pollfd* fds, nfds_t n, int timeout) {
  Stack& st = stack();
  if (!any_stack_fd(st, fds, n)) return real().poll(fds, n, timeout);
  struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L};
  return to_libc(st.poll(fds, n, timeout < 0 ? nullptr : &ts, nullptr));
}

}  // namespace

VIRTUOSO_EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
  return poll_ms(fds, n, timeout);
}

VIRTUOSO_EXPORT int __poll_chk(struct pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return poll_ms(fds, n, timeout);
}

VIRTUOSO_EXPORT int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* ts,
                          const sigset_t* mask) {
  Stack& st = stack();
  if (!any_stack_fd(st, fds, n)) return real().ppoll(fds, n, ts, mask);
  return to_libc(st.poll(fds, n, ts, mask));
}

VIRTUOSO_EXPORT int __ppoll_chk(struct pollfd* fds, nfds_t n, const struct timespec* ts,
                                const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}

VIRTUOSO_EXPORT int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, struct timeval* tv) {
  Stack& st = stack();
  if (!any_stack_fd(st, nfds, rd, wr, ex)) return real().select(nfds, rd, wr, ex, tv);
  if (tv != nullptr && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
    errno = EINVAL;
    return -1;
  }
  struct timespec ts = {0, 0};
  if (tv != nullptr) {
    ts.tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
    ts.tv_nsec = (tv->tv_usec % 1000000) * 1000;
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int r = select_via_poll(st, nfds, rd, wr, ex, tv != nullptr ? &ts : nullptr, nullptr);
  if (tv != nullptr) {
    // Linux writes back the time not slept.
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left_us = (ts.tv_sec * 1000000LL + ts.tv_nsec / 1000) -
                        ((now.tv_sec - start.tv_sec) * 1000000LL +
                         (now.tv_nsec - start.tv_nsec) / 1000);
    if (left_us < 0) left_us = 0;
    tv->tv_sec = left_us / 1000000;
    tv->tv_usec = left_us % 1000000;
  }
  return to_libc(r);
}

VIRTUOSO_EXPORT int pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex,
                            const struct timespec* ts, const sigset_t* mask) {
  Stack& st = stack();
  if (!any_stack_fd(st, nfds, rd, wr, ex)) return real().pselect(nfds, rd, wr, ex, ts, mask);
  return to_libc(select_via_poll(st, nfds, rd, wr, ex, ts, mask));
}

VIRTUOSO_EXPORT int epoll_create(int size) { return real().epoll_create(size); }

VIRTUOSO_EXPORT int epoll_create1(int flags) { return real().epoll_create1(flags); }

VIRTUOSO_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event* ev) {
  Stack& st = stack();
  if (!st.is_socket(fd)) return to_libc(st.epoll_ctl_kernel(epfd, op, fd, ev));
  return to_libc(st.epoll_ctl(epfd, op, fd, ev));
}

VIRTUOSO_EXPORT int epoll_pwait(int epfd, struct epoll_event* ev, int max, int timeout,
                                const sigset_t* mask) {
  Stack& st = stack();
  if (!st.has_epoll_sets()) return real().epoll_pwait(epfd, ev, max, timeout, mask);
  return to_libc(st.epoll_wait(epfd, ev, max, Deadline::after_ms(timeout), mask));
}

VIRTUOSO_EXPORT int epoll_wait(int epfd, struct epoll_event* ev, int max, int timeout) {
  Stack& st = stack();
  if (!st.has_epoll_sets()) return real().epoll_wait(epfd, ev, max, timeout);
  return to_libc(st.epoll_wait(epfd, ev, max, Deadline::after_ms(timeout), nullptr));
}

VIRTUOSO_EXPORT int epoll_pwait2(int epfd, struct epoll_event* ev, int max,
                                 const struct timespec* ts, const sigset_t* mask) {
  Stack& st = stack();
  if (!st.has_epoll_sets() && real().epoll_pwait2 != nullptr) {
    return real().epoll_pwait2(epfd, ev, max, ts, mask);
  }
  if (ts != nullptr && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
    errno = EINVAL;  // as the kernel answers
    return -1;
  }
  return to_libc(st.epoll_wait(epfd, ev, max, Deadline::after(ts), mask));
}

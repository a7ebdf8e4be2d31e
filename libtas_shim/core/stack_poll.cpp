// poll/ppoll/select over stack sockets and kernel descriptors together. Stack sockets are
// evaluated in the shim; their placeholders are hidden from the kernel (fd -1), and a sleeping
// call adds its kick (and, as leader, the doorbell) to the kernel wait so a stack event wakes it.
#include <errno.h>

#include <algorithm>

#include "readiness.hpp"
#include "stack.hpp"

namespace virtuoso::shim {
namespace {

constexpr struct timespec kZero = {0, 0};
constexpr int64_t kPendingCmdRetryNs = 100 * 1000;

bool is_zero(const struct timespec* ts) {
  return ts != nullptr && ts->tv_sec == 0 && ts->tv_nsec == 0;
}

}  // namespace

int Stack::poll(struct pollfd* fds, nfds_t n, const struct timespec* timeout,
                const sigset_t* mask) {
  if (n > 0 && fds == nullptr) return -EFAULT;
  Guard g(*this);
  std::vector<std::pair<nfds_t, std::shared_ptr<Socket>>> socks;
  std::vector<struct pollfd> kfds(fds, fds + n);
  size_t kernel_entries = 0;
  for (nfds_t i = 0; i < n; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    if (std::shared_ptr<Socket> s = is_socket(fds[i].fd) ? lookup(fds[i].fd) : nullptr) {
      socks.emplace_back(i, std::move(s));
      kfds[i].fd = -1;  // the kernel ignores negative descriptors and reports nothing for them
    } else {
      ++kernel_entries;
    }
  }
  if (socks.empty()) {
    g.unlock();
    int r = k_.ppoll(fds, n, timeout, mask);
    return r < 0 ? -errno : r;
  }
  // Only a live context can wake us; sockets of a dead one are always ready.
  Context* ctx = nullptr;
  for (auto& [i, s] : socks) {
    if (!s->inherited && !s->ctx->dead()) ctx = s->ctx.get();
  }
  auto eval = [&] {
    int ready = 0;
    for (auto& [i, s] : socks) {
      fds[i].revents = static_cast<short>(poll_mask(*s) & (fds[i].events | POLLERR | POLLHUP));
      if (fds[i].revents != 0) ++ready;
    }
    return ready;
  };
  // Copies kernel results into the caller's array and counts them.
  auto take_kernel = [&] {
    int ready = 0;
    for (nfds_t i = 0; i < n; ++i) {
      if (kfds[i].fd < 0) continue;
      fds[i].revents = kfds[i].revents;
      if (kfds[i].revents != 0) ++ready;
    }
    return ready;
  };
  auto finish = [&](int stack_ready) {
    if (kernel_entries == 0) return stack_ready;
    g.unlock();
    int r = k_.ppoll(kfds.data(), n, &kZero, nullptr);
    int err = errno;
    g.lock();
    if (r < 0) return stack_ready > 0 ? stack_ready : -err;
    return stack_ready + take_kernel();
  };

  Deadline dl = Deadline::after(timeout);
  if (ctx) drain(*ctx);
  int ready = eval();
  if (ready > 0 || is_zero(timeout) || ctx == nullptr) {
    if (ready > 0 || is_zero(timeout)) return finish(ready);
    // No live context: nothing in the stack can change; wait for the kernel alone.
    g.unlock();
    int r = k_.ppoll(kfds.data(), n, timeout, mask);
    int err = errno;
    g.lock();
    return r < 0 ? -err : take_kernel();
  }
  if (kernel_entries == 0 && mask == nullptr) {
    int w = block(g, *ctx, dl, [&] { return eval() > 0; });
    if (w == -EINTR) return w;
    return eval();
  }
  // The kernel descriptors are not looked at while spinning: at most poll_us of extra delay.
  if (spin(g, *ctx, dl, [&] { return eval() > 0; })) return finish(eval());
  SleepScope scope(*this, *ctx);
  scope.enter(take_kick(), false);
  for (;;) {
    drain(*ctx, &scope.sleeper());
    ready = eval();
    if (ready > 0 || dl.expired() || ctx->dead()) {
      scope.leave();
      return finish(ready);
    }
    kfds.resize(n);
    for (auto& p : kfds) p.revents = 0;
    size_t extra = ctx->hub().append_wait_fds(scope.sleeper(), kfds);
    struct timespec buf;
    const struct timespec* ts = dl.remaining(buf, ctx->cmds_pending() ? kPendingCmdRetryNs : -1);
    g.unlock();
    int r = k_.ppoll(kfds.data(), kfds.size(), ts, mask);
    int err = errno;
    g.lock();
    if (ctx->hub().after_poll(scope.sleeper(), kfds.data() + n, extra)) ctx->mark_dead();
    kfds.resize(n);
    if (r < 0) {
      scope.leave();
      return -err;
    }
    int kernel_ready = take_kernel();
    if (kernel_ready > 0) {
      drain(*ctx, &scope.sleeper());
      ready = eval();
      scope.leave();
      return ready + kernel_ready;
    }
  }
}

int select_via_poll(Stack& st, int nfds, fd_set* rd, fd_set* wr, fd_set* ex,
                    const struct timespec* timeout, const sigset_t* mask) {
  if (nfds < 0) return -EINVAL;
  // fd_set is a bit array; callers may pass larger ones than FD_SETSIZE, so index it by hand.
  constexpr int kBits = 8 * sizeof(unsigned long);
  auto test = [](fd_set* set, int fd) {
    if (set == nullptr) return false;
    auto* w = reinterpret_cast<unsigned long*>(set);
    return ((w[fd / kBits] >> (fd % kBits)) & 1UL) != 0;
  };
  std::vector<struct pollfd> pfds;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (test(rd, fd)) ev |= POLLIN;
    if (test(wr, fd)) ev |= POLLOUT;
    if (test(ex, fd)) ev |= POLLPRI;
    if (ev != 0) pfds.push_back({fd, ev, 0});
  }
  int r = st.poll(pfds.data(), pfds.size(), timeout, mask);
  if (r < 0) return r;
  for (const auto& p : pfds) {
    if (p.revents & POLLNVAL) return -EBADF;
  }
  size_t words = (static_cast<size_t>(nfds) + kBits - 1) / kBits;
  for (fd_set* set : {rd, wr, ex}) {
    if (set != nullptr) std::fill_n(reinterpret_cast<unsigned long*>(set), words, 0UL);
  }
  auto put = [](fd_set* set, int fd) {
    reinterpret_cast<unsigned long*>(set)[fd / kBits] |= 1UL << (fd % kBits);
  };
  int count = 0;
  for (const auto& p : pfds) {
    // Linux's POLLIN_SET / POLLOUT_SET / POLLEX_SET.
    if ((p.events & POLLIN) && (p.revents & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))) {
      put(rd, p.fd);
      ++count;
    }
    if ((p.events & POLLOUT) && (p.revents & (POLLOUT | POLLWRNORM | POLLERR))) {
      put(wr, p.fd);
      ++count;
    }
    if ((p.events & POLLPRI) && (p.revents & POLLPRI)) {
      put(ex, p.fd);
      ++count;
    }
  }
  return count;
}

}  // namespace virtuoso::shim

// epoll over stack sockets and kernel descriptors together. The app's epoll fd is the real kernel
// instance: kernel descriptors live in it directly. Stack sockets live in the shim's EpollSet for
// that fd, and the kernel instance gets the shim's kick, doorbell and hang-up descriptors
// (edge-triggered, reserved data) so a stack event ends a kernel wait.
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include <algorithm>

#include "stack.hpp"

namespace virtuoso::shim {
namespace {

// Milliseconds for epoll_pwait, rounded up so a wait never ends before its deadline.
int wait_ms(const struct timespec* ts) {
  if (ts == nullptr) return -1;
  int64_t ms = (int64_t{ts->tv_sec} * 1000000000 + ts->tv_nsec + 999999) / 1000000;
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

}  // namespace

std::shared_ptr<EpollSet> Stack::epoll_set_for(int epfd, bool create, int& err) {
  err = 0;
  auto it = epolls_.find(epfd);
  if (it != epolls_.end()) return it->second;
  if (!create) return nullptr;
  int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (kick < 0) {
    err = -errno;
    return nullptr;
  }
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = EpollSet::kKickData;
  // Also proves that epfd is an epoll instance (EBADF / EINVAL otherwise).
  if (k_.epoll_ctl(epfd, EPOLL_CTL_ADD, kick, &ev) < 0) {
    err = -errno;
    k_.close(kick);
    return nullptr;
  }
  fds_.mark_internal(kick);
  fds_.mark_epoll(epfd);
  auto set = std::make_shared<EpollSet>(epfd, kick, [this](int fd) {
    fds_.unmark_internal(fd);  // stack lock held: the last reference goes inside a call
    k_.close(fd);
  });
  epolls_[epfd] = set;
  epoll_count_.store(static_cast<uint32_t>(epolls_.size()), std::memory_order_relaxed);
  return set;
}

void Stack::register_shim_fds(EpollSet& set, Context& ctx) {
  auto add = [&](int fd, uint32_t events, uint64_t data) {
    if (fd < 0) return;
    struct epoll_event ev = {};
    ev.events = events | EPOLLET;
    ev.data.u64 = data;
    if (k_.epoll_ctl(set.epfd(), EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST) {
      k_.epoll_ctl(set.epfd(), EPOLL_CTL_MOD, fd, &ev);
    }
  };
  add(ctx.hub().doorbell_fd(), EPOLLIN, EpollSet::kDoorbellData);
  add(ctx.hub().hangup_fd(), EPOLLRDHUP, EpollSet::kHangupData);
  set.registered_ctx = &ctx;
}

int Stack::epoll_ctl(int epfd, int op, int fd, struct epoll_event* ev) {
  if (op != EPOLL_CTL_DEL && ev == nullptr) return -EFAULT;
  if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return -EINVAL;
  if (fd == epfd) return -EINVAL;
  if (op != EPOLL_CTL_DEL) {
    if (int rc = adopt(fd); rc < 0) return rc;
  }
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (op != EPOLL_CTL_DEL) declare_accepting(*s);
  int err = 0;
  std::shared_ptr<EpollSet> set = epoll_set_for(epfd, op == EPOLL_CTL_ADD, err);
  if (!set) {
    if (err < 0) return err;
    return k_.fcntl(epfd, F_GETFD) < 0 ? -EBADF : -ENOENT;
  }
  int rc = op == EPOLL_CTL_ADD ? set->add(fd, s, *ev)
           : op == EPOLL_CTL_MOD ? set->modify(fd, *ev)
                                 : set->remove(fd);
  if (rc == 0 && op != EPOLL_CTL_DEL) {
    // A thread already waiting on this set must look at the new registration.
    ring_eventfd(k_, set->kick_fd());
  }
  return rc;
}

int Stack::epoll_filter(Context* ctx, const Sleeper* self, struct epoll_event* ev, int n) {
  int out = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t d = ev[i].data.u64;
    if (!EpollSet::is_reserved(d)) {
      ev[out++] = ev[i];
      continue;
    }
    if (ctx == nullptr) continue;
    if (d == EpollSet::kDoorbellData && self != nullptr && self->leader) {
      ctx->hub().reset_doorbell();
    } else if (d == EpollSet::kHangupData && ctx->hub().hangup_fd() >= 0) {
      // Edge-triggered: make sure it is this context's link that hung up.
      struct pollfd p = {ctx->hub().hangup_fd(), POLLRDHUP, 0};
      struct timespec zero = {0, 0};
      if (k_.ppoll(&p, 1, &zero, nullptr) == 1 && (p.revents & (POLLRDHUP | POLLHUP))) {
        ctx->mark_dead();
      }
    }
  }
  return out;
}

int Stack::epoll_filter_plain(struct epoll_event* ev, int n) {
  int out = 0;
  for (int i = 0; i < n; ++i) {
    if (!EpollSet::is_reserved(ev[i].data.u64)) ev[out++] = ev[i];
  }
  return out;
}

int Stack::epoll_kernel_now(Guard& g, EpollSet& set, Context* ctx, struct epoll_event* ev,
                            int room) {
  // Only the shim's own edge-triggered entries could be there: nothing to look at.
  if (room <= 0 || !epoll_has_kernel_fds(set.epfd())) return 0;
  g.unlock();
  int r = k_.epoll_pwait(set.epfd(), ev, room, 0, nullptr);
  g.lock();
  return r < 0 ? 0 : epoll_filter(ctx, nullptr, ev, r);
}

int Stack::epoll_quick(Guard& g, EpollSet& set, Context* ctx, struct epoll_event* ev, int max) {
  // Alternate which side fills the array first so that neither can starve the other.
  set.kernel_first = !set.kernel_first;
  if (set.kernel_first) {
    int nk = epoll_kernel_now(g, set, ctx, ev, max);
    return nk + set.collect(ev + nk, max - nk);
  }
  int ns = set.collect(ev, max);
  return ns + epoll_kernel_now(g, set, ctx, ev + ns, max - ns);
}

int Stack::kernel_epoll_wait(int epfd, struct epoll_event* ev, int max, const Deadline& dl,
                             int64_t cap_ns, const sigset_t* mask) {
  struct timespec buf;
  const struct timespec* ts = dl.remaining(buf, cap_ns);
  if (k_.epoll_pwait2 != nullptr) return k_.epoll_pwait2(epfd, ev, max, ts, mask);
  return k_.epoll_pwait(epfd, ev, max, wait_ms(ts), mask);
}

int Stack::epoll_wait(int epfd, struct epoll_event* ev, int max, const Deadline& dl,
                      const sigset_t* mask) {
  if (max <= 0) return -EINVAL;
  if (ev == nullptr) return -EFAULT;
  Guard g(*this);
  int err = 0;
  std::shared_ptr<EpollSet> set = epoll_set_for(epfd, false, err);
  while (!set || set->empty()) {
    // No stack sockets in this set: the kernel alone. A stack socket added meanwhile kicks the
    // set (its kick is in the kernel instance); the kick is filtered out and we look again.
    g.unlock();
    int r = kernel_epoll_wait(epfd, ev, max, dl, -1, mask);
    int e = errno;
    g.lock();
    if (r < 0) return -e;
    r = epoll_filter_plain(ev, r);
    if (r > 0 || dl.expired()) return r;
    set = epoll_set_for(epfd, false, err);
  }
  Context* ctx = (ctx_ && !ctx_->dead()) ? ctx_.get() : nullptr;
  if (ctx && set->registered_ctx != ctx) register_shim_fds(*set, *ctx);
  if (ctx) drain(*ctx);
  int n = epoll_quick(g, *set, ctx, ev, max);
  if (n > 0 || dl.expired()) return n;
  if (ctx == nullptr) {
    // No live context: stack sockets cannot change; wait for kernel descriptors only.
    for (;;) {
      g.unlock();
      int r = kernel_epoll_wait(epfd, ev, max, dl, -1, mask);
      int e = errno;
      g.lock();
      if (r < 0) return -e;
      r = epoll_filter(nullptr, nullptr, ev, r);
      if (r > 0 || dl.expired()) return r;
    }
  }
  // After a collect that found nothing the ready list is empty: anything queued now is news.
  // (Kernel descriptors are not looked at while spinning: at most poll_us of extra delay.)
  int64_t started = wait_start();
  if (spin(g, *ctx, dl, [&] { return set->has_queued(); })) {
    n = epoll_quick(g, *set, ctx, ev, max);
    if (n > 0) {
      wait_met(started);
      return n;
    }
  }
  SleepScope scope(*this, *ctx);
  scope.enter(set->kick_fd(), true, Watch{set.get()});
  for (;;) {
    drain(*ctx, &scope.sleeper());
    n = set->collect(ev, max);
    if (n > 0 || dl.expired() || ctx->dead()) {
      scope.leave();
      if (n > 0) wait_met(started);
      return n + epoll_kernel_now(g, *set, ctx, ev + n, max - n);
    }
    int64_t cap = sleep_cap_ns(*ctx, scope.sleeper());
    g.unlock();
    int r = kernel_epoll_wait(epfd, ev, max, dl, cap, mask);
    int e = errno;
    g.lock();
    if (r < 0) {
      scope.leave();
      return -e;
    }
    r = epoll_filter(ctx, &scope.sleeper(), ev, r);
    if (r > 0) {
      drain(*ctx, &scope.sleeper());
      r += set->collect(ev + r, max - r);
      scope.leave();
      wait_met(started);
      return r;
    }
  }
}

int Stack::epoll_ctl_kernel(int epfd, int op, int fd, struct epoll_event* ev) {
  if (k_.epoll_ctl(epfd, op, fd, ev) < 0) return -errno;
  if (op == EPOLL_CTL_ADD) {
    std::lock_guard<std::mutex> lk(mu_);
    epolls_with_kernel_fds_.insert(epfd);
  }
  return 0;
}

bool Stack::epoll_has_kernel_fds(int epfd) const {
  return epolls_with_kernel_fds_.count(epfd) != 0;
}

int Stack::epoll_closing(int epfd) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    epolls_with_kernel_fds_.erase(epfd);
    auto it = epolls_.find(epfd);
    if (it != epolls_.end()) {
      epolls_.erase(it);  // a thread still inside epoll_wait keeps its own reference
      epoll_count_.store(static_cast<uint32_t>(epolls_.size()), std::memory_order_relaxed);
    }
    fds_.unmark_epoll(epfd);
  }
  return k_.close(epfd) == 0 ? 0 : -errno;
}

}  // namespace virtuoso::shim

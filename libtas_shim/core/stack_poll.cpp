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
constexpr size_t kWatchListMax = 32;

bool is_zero(const struct timespec* ts) {
  return ts != nullptr && ts->tv_sec == 0 && ts->tv_nsec == 0;
}

}  // namespace

// One poll() call over a mix of stack sockets and kernel descriptors.
class PollCall {
 public:
  PollCall(Stack& st, Guard& g, struct pollfd* fds, nfds_t n)
      : st_(st), g_(g), fds_(fds), n_(n), kfds_(fds, fds + n) {}

  // Sorts the entries; false if none is a stack socket.
  bool classify() {
    for (nfds_t i = 0; i < n_; ++i) {
      fds_[i].revents = 0;
      if (fds_[i].fd < 0) continue;
      std::shared_ptr<Socket> s = st_.is_socket(fds_[i].fd) ? st_.lookup(fds_[i].fd) : nullptr;
      if (!s) {
        ++kernel_entries_;
        continue;
      }
      // Only a live context can wake us; sockets of a dead one are always ready.
      if (!s->inherited && !s->ctx->dead()) ctx_ = s->ctx.get();
      if (fds_[i].events & POLLIN) st_.declare_accepting(*s);
      watched_.push_back(s.get());
      socks_.emplace_back(i, std::move(s));
      kfds_[i].fd = -1;  // the kernel ignores negative descriptors and reports nothing for them
    }
    return !socks_.empty();
  }
  Context* ctx() const { return ctx_; }
  // The stack sockets of the call: only their changes wake it. A long list would cost every event
  // a scan of it, so a call over many sockets is woken by any change and re-checks.
  Watch watch() const { return watched_.size() <= kWatchListMax ? Watch{nullptr, &watched_} : Watch{}; }
  bool only_stack() const { return kernel_entries_ == 0; }

  // Stack sockets' revents into the caller's array; how many are ready.
  int eval() {
    int ready = 0;
    for (auto& [i, s] : socks_) {
      fds_[i].revents = static_cast<short>(poll_mask(*s) & (fds_[i].events | POLLERR | POLLHUP));
      if (fds_[i].revents != 0) ++ready;
    }
    return ready;
  }

  // Kernel descriptors without waiting, added to `stack_ready`.
  int finish(int stack_ready) {
    if (kernel_entries_ == 0) return stack_ready;
    int r = kernel_wait(&kZero, nullptr);
    if (r < 0) return stack_ready > 0 ? stack_ready : r;
    return stack_ready + take_kernel();
  }

  // Kernel descriptors alone, waiting up to `timeout`.
  int kernel_only(const struct timespec* timeout, const sigset_t* mask) {
    int r = kernel_wait(timeout, mask);
    return r < 0 ? r : take_kernel();
  }

  // Sleeps until a stack socket or a kernel descriptor is ready, or the deadline.
  int sleep(const Deadline& dl, const sigset_t* mask) {
    Context& ctx = *ctx_;
    SleepScope scope(st_, ctx);
    scope.enter(st_.take_kick(), false, watch());
    for (;;) {
      st_.drain(ctx, &scope.sleeper());
      int ready = eval();
      if (ready > 0 || dl.expired() || ctx.dead()) {
        scope.leave();
        return finish(ready);
      }
      kfds_.resize(n_);
      size_t extra = ctx.hub().append_wait_fds(scope.sleeper(), kfds_);
      struct timespec buf;
      const struct timespec* ts = dl.remaining(buf, sleep_cap_ns(ctx, scope.sleeper()));
      int r = kernel_wait(ts, mask);
      if (ctx.hub().after_poll(scope.sleeper(), kfds_.data() + n_, extra)) ctx.mark_dead();
      kfds_.resize(n_);
      if (r < 0) return r;
      if (int kernel_ready = take_kernel(); kernel_ready > 0) {
        st_.drain(ctx, &scope.sleeper());
        return eval() + kernel_ready;
      }
    }
  }

 private:
  int kernel_wait(const struct timespec* ts, const sigset_t* mask) {
    for (auto& p : kfds_) p.revents = 0;
    g_.unlock();
    int r = st_.k_.ppoll(kfds_.data(), kfds_.size(), ts, mask);
    int err = errno;
    g_.lock();
    return r < 0 ? -err : r;
  }
  // Copies the kernel's results for kernel descriptors into the caller's array; counts them.
  int take_kernel() {
    int ready = 0;
    for (nfds_t i = 0; i < n_; ++i) {
      if (kfds_[i].fd < 0) continue;
      fds_[i].revents = kfds_[i].revents;
      if (kfds_[i].revents != 0) ++ready;
    }
    return ready;
  }

  Stack& st_;
  Guard& g_;
  struct pollfd* fds_;
  nfds_t n_;
  std::vector<struct pollfd> kfds_;  // the caller's entries with stack sockets hidden, + ours
  std::vector<std::pair<nfds_t, std::shared_ptr<Socket>>> socks_;
  std::vector<const void*> watched_;
  size_t kernel_entries_ = 0;
  Context* ctx_ = nullptr;
};

int Stack::poll(struct pollfd* fds, nfds_t n, const struct timespec* timeout,
                const sigset_t* mask) {
  if (n > 0 && fds == nullptr) return -EFAULT;
  if (n > 0) {
    if (int rc = adopt_fds(&fds[0].fd, n, sizeof fds[0]); rc < 0) return rc;
  }
  Guard g(*this);
  PollCall call(*this, g, fds, n);
  if (!call.classify()) {
    g.unlock();
    int r = k_.ppoll(fds, n, timeout, mask);
    return r < 0 ? -errno : r;
  }
  Context* ctx = call.ctx();
  if (ctx) drain(*ctx);
  int ready = call.eval();
  if (ready > 0 || is_zero(timeout)) return call.finish(ready);
  // No live context: nothing in the stack can change; wait for the kernel alone.
  if (ctx == nullptr) return call.kernel_only(timeout, mask);
  Deadline dl = Deadline::after(timeout);
  if (call.only_stack() && mask == nullptr) {
    int w = block(g, *ctx, dl, [&] { return call.eval() > 0; }, call.watch());
    return w == -EINTR ? w : call.eval();
  }
  // The kernel descriptors are not looked at while spinning: at most poll_us of extra delay.
  int64_t started = wait_start();
  if (spin(g, *ctx, dl, [&] { return call.eval() > 0; })) {
    wait_met(started);
    return call.finish(call.eval());
  }
  int r = call.sleep(dl, mask);
  if (r > 0) wait_met(started);
  return r;
}

int select_via_poll(Stack& st, int nfds, fd_set* rd, fd_set* wr, fd_set* ex,
                    const struct timespec* timeout, const sigset_t* mask) {
  if (nfds < 0) return -EINVAL;
  nfds = std::min(nfds, FdTable::kMaxFds);  // the kernel also caps it at its table size
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

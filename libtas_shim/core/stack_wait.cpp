// Blocking without spinning forever and without lost wake-ups: deadlines, the spin-then-sleep loop,
// the kick descriptor pool, and the requests a call leaves for after it drops the lock.
#include <errno.h>
#include <sched.h>
#include <sys/eventfd.h>

#include <algorithm>

#include "signal_counts.hpp"
#include "spin_policy.hpp"
#include "stack.hpp"

namespace virtuoso::shim {
namespace {

constexpr int64_t kNsPerSec = 1000000000;

struct timespec now_mono() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts;
}

int64_t to_ns(const struct timespec& ts) { return ts.tv_sec * kNsPerSec + ts.tv_nsec; }

struct timespec from_ns(int64_t ns) {
  return {static_cast<time_t>(ns / kNsPerSec), static_cast<long>(ns % kNsPerSec)};
}

Deadline deadline_in_ns(int64_t ns) {
  Deadline d;
  d.never = false;
  d.at = from_ns(to_ns(now_mono()) + ns);
  return d;
}

// How long a close waits for its kTxFin to reach a full atx queue before telling the slow path.
constexpr int kFlushWaitRounds = 40000;
constexpr struct timespec kFlushWaitStep = {0, 50 * 1000};

}  // namespace

Deadline Deadline::after_ms(int ms) {
  if (ms < 0) return Deadline{};
  return deadline_in_ns(int64_t{ms} * 1000000);
}

Deadline Deadline::after(const struct timespec* ts) {
  if (ts == nullptr) return Deadline{};
  return deadline_in_ns(std::max<int64_t>(0, to_ns(*ts)));
}

Deadline Deadline::after(const struct timeval& tv) {
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return Deadline{};
  return deadline_in_ns(int64_t{tv.tv_sec} * kNsPerSec + int64_t{tv.tv_usec} * 1000);
}

bool Deadline::expired() const { return !never && to_ns(now_mono()) >= to_ns(at); }

const struct timespec* Deadline::remaining(struct timespec& buf, int64_t cap_ns) const {
  if (never && cap_ns < 0) return nullptr;
  int64_t left = never ? cap_ns : std::max<int64_t>(0, to_ns(at) - to_ns(now_mono()));
  if (cap_ns >= 0) left = std::min(left, cap_ns);
  buf = from_ns(left);
  return &buf;
}

Guard::~Guard() {
  if (!lk_.owns_lock()) lk_.lock();
  std::shared_ptr<Context> ctx = st_.ctx_;
  std::vector<Context::Deferred> list;
  if (ctx) list = ctx->take_deferred();
  bool hold_requests = !st_.hold_deferred_.empty();  // a fork() child before it registered
  lk_.unlock();
  if (!list.empty()) st_.send_deferred(ctx, list);
  if (hold_requests) st_.send_hold_deferred();
}

void Stack::send_deferred(const std::shared_ptr<Context>& ctx,
                          std::vector<Context::Deferred>& list) {
  for (Context::Deferred& d : list) {
    if (d.after_slot_cmds) {
      // kClose must not overtake the kTxFin still waiting for room in the atx queue.
      for (int round = 0; round < kFlushWaitRounds; ++round) {
        {
          std::lock_guard<std::mutex> lk(mu_);
          ctx->flush_cmds();
          if (ctx->dead() || !ctx->cmds_pending_for(d.req.slot, d.req.gen)) break;
        }
        nanosleep(&kFlushWaitStep, nullptr);
      }
    }
    abi::AppResponse resp{};
    ctx->request(d.req, resp);  // nobody is left to tell about a failure
  }
}

void Stack::drain(Context& ctx, const Sleeper* self) {
  bool changed = ctx.drain();
  // Connections taken from us (kTaken) are claimed back on use, as inherited ones are.
  if (uint32_t n = ctx.take_newly_taken(); n != 0) to_adopt_.fetch_add(n, std::memory_order_relaxed);
  if (ctx.hub().idle()) return;
  // Only the sleepers whose socket or epoll set changed; a change no socket was noted for (none
  // is known) wakes them all to look.
  if (!ctx.hub().kick_due(self) && changed) ctx.hub().kick_all(self);
}

void Stack::notify(Socket& s) {
  touch_watchers(s);
  if (!s.ctx->hub().idle()) s.ctx->hub().kick_all(nullptr);
}

int Stack::take_kick() {
  if (!kick_pool_.empty()) {
    int fd = kick_pool_.back();
    kick_pool_.pop_back();
    return fd;
  }
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd >= 0 && !fds_.mark_internal(fd)) {
    k_.close(fd);
    fd = -1;
  }
  return fd;
}

void Stack::put_kick(int fd) {
  if (fd >= 0) kick_pool_.push_back(fd);
}

SleepScope::~SleepScope() { leave(); }

void SleepScope::enter(int kick_fd, bool edge, Watch watch) {
  sleeper_.kick_fd = kick_fd;
  sleeper_.kick_is_edge = edge;
  sleeper_.watch = watch;
  ctx_.hub().enter(sleeper_);
  entered_ = true;
}

void SleepScope::leave() {
  if (!entered_) return;
  entered_ = false;
  ctx_.hub().leave(sleeper_);
  if (!sleeper_.kick_is_edge) st_.put_kick(sleeper_.kick_fd);
}

int64_t Stack::wait_start() const { return cfg_.poll_us == 0 ? 0 : to_ns(now_mono()); }

void Stack::wait_met(int64_t started_ns) const {
  if (cfg_.poll_us == 0) return;
  SpinPolicy::waited(uint64_t(to_ns(now_mono()) - started_ns), uint64_t{cfg_.poll_us} * 1000);
}

bool Stack::spin(Guard& g, Context& ctx, const Deadline& dl, const Ready& ready) {
  if (cfg_.poll_us == 0 || !SpinPolicy::worth_it()) return false;
  WaitSpan waiting;
  Deadline spin_end = deadline_in_ns(int64_t{cfg_.poll_us} * 1000);
  while (!spin_end.expired() && !dl.expired()) {
    g.unlock();
    // Yield rather than pause: a thread of this core that has work (the peer app on a shared
    // core) runs now, and the spin costs nobody time; with no one else runnable, it polls on.
    sched_yield();
    g.lock();
    drain(ctx);
    if (ready() || ctx.dead()) return true;
  }
  return false;
}

int Stack::block(Guard& g, Context& ctx, const Deadline& dl, const Ready& ready, Watch watch) {
  int64_t started = wait_start();
  if (spin(g, ctx, dl, ready)) {
    wait_met(started);
    return 0;
  }
  WaitSpan waiting;
  SleepScope scope(*this, ctx);
  // A pooled kick descriptor belongs to this call only; the scope returns it.
  int kick = take_kick();
  scope.enter(kick, false, watch);
  std::vector<struct pollfd> fds;
  SignalCounts sig_before = signal_counts();
  for (;;) {
    drain(ctx, &scope.sleeper());  // after announcing sleep: the re-check of the protocol
    if (ready() || ctx.dead()) {
      wait_met(started);
      return 0;
    }
    if (dl.expired()) return -ETIMEDOUT;
    fds.clear();
    ctx.hub().append_wait_fds(scope.sleeper(), fds);
    struct timespec buf;
    const struct timespec* ts = dl.remaining(buf, sleep_cap_ns(ctx, scope.sleeper()));
    g.unlock();
    int r = k_.ppoll(fds.data(), fds.size(), ts, nullptr);
    int err = errno;
    g.lock();
    if (ctx.hub().after_poll(scope.sleeper(), fds.data(), fds.size())) ctx.mark_dead();
    if (r < 0 && err == EINTR) {
      // signal(7): with SA_RESTART a socket call restarts, unless the socket has a timeout.
      SignalCounts now = signal_counts();
      if (!dl.never || !restart_after(sig_before, now)) return -EINTR;
      sig_before = now;
    }
  }
}

}  // namespace virtuoso::shim

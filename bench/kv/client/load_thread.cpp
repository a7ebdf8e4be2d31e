// kv-client thread: connect, optional preload, barrier, load loop with stall and stop handling.
#include "kv/client/load_thread.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.hpp"
#include "common/net.hpp"

namespace virtuoso::kv {
namespace {

constexpr int kMaxEvents = 256;
constexpr int kIdleTimeoutMs = 10;             // how soon a quiet thread notices the end or a stop
constexpr uint64_t kCheckEveryNs = 1'000'000;  // whole-set scans (done, stalls) at most this often

}  // namespace

LoadThread::~LoadThread() {
  conns_.clear();
  if (ctx_.epfd >= 0) ::close(ctx_.epfd);
}

void LoadThread::run(const std::function<void()>& wait_for_start) {
  ctx_.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (ctx_.epfd < 0) {
    ctx_.result.errors.connect += count_;
    ctx_.report(first_, std::string("epoll_create1: ") + std::strerror(errno));
    wait_for_start();
    return;
  }
  connect_all();
  if (ctx_.opt.preload) preload();
  wait_for_start();
  drive();
}

void LoadThread::connect_all() {
  const auto addr = bench::ipv4_address(ctx_.opt.host, ctx_.opt.port);
  for (uint32_t i = 0; i < count_; ++i) {
    const uint32_t id = first_ + i;
    std::string err = "cannot resolve host '" + ctx_.opt.host + "'";
    const int fd = addr ? bench::connect_tcp(*addr, err) : -1;
    if (fd < 0) {
      ++ctx_.result.errors.connect;
      ctx_.report(id, err);
    } else if (!ctx_.watch(EPOLL_CTL_ADD, fd, EPOLLIN, i)) {
      ++ctx_.result.errors.connect;
      ctx_.report(id, std::string("epoll_ctl: ") + std::strerror(errno));
      ::close(fd);
      conns_.push_back(std::make_unique<KvConn>(id, i, -1, ctx_));
      continue;
    }
    conns_.push_back(std::make_unique<KvConn>(id, i, fd, ctx_));
  }
}

void LoadThread::preload() {
  ctx_.now = bench::now_ns();
  const uint64_t keys = ctx_.opt.keys;
  const uint64_t total = ctx_.opt.connections;
  for (auto& conn : conns_) {
    const uint64_t c = conn->id();
    conn->start_preload(keys * c / total, keys * (c + 1) / total);
  }
  loop([&] {
    return std::all_of(conns_.begin(), conns_.end(),
                       [](const auto& c) { return c->preload_done(); });
  });
}

void LoadThread::drive() {
  ctx_.now = bench::now_ns();
  for (auto& conn : conns_) conn->start_load();
  min_due_ = 0;
  loop([&] {
    return std::all_of(conns_.begin(), conns_.end(), [](const auto& c) { return c->finished(); });
  });
}

template <typename Done>
void LoadThread::loop(Done done) {
  epoll_event events[kMaxEvents];
  uint64_t last_check = 0;
  uint64_t stop_seen = 0;
  while (true) {
    ctx_.now = bench::now_ns();
    if (ctx_.now - last_check >= kCheckEveryNs) {
      last_check = ctx_.now;
      if (done()) return;
      check_stalls();
      if (ctx_.stop.load(std::memory_order_relaxed)) {
        if (stop_seen == 0) stop_seen = ctx_.now;
        if (ctx_.now - stop_seen > kStopGraceNs) {
          for (auto& conn : conns_) conn->abandon("interrupted");
          return;
        }
      }
    }
    const int n = epoll_wait(ctx_.epfd, events, kMaxEvents, timeout_ms());
    if (n < 0 && errno != EINTR) {
      for (auto& conn : conns_) conn->abandon(std::strerror(errno));
      return;
    }
    ctx_.now = bench::now_ns();
    for (int i = 0; i < n; ++i) {
      KvConn& conn = *conns_[events[i].data.u32];
      if (conn.failed()) continue;
      if (events[i].events & EPOLLOUT) conn.on_writable();
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn.on_readable();
    }
    if (n == 0) last_check = 0;  // a quiet spell is the time to look at the whole set
    pump_due();
  }
}

int LoadThread::timeout_ms() const {
  if (!ctx_.opt.open_loop() || min_due_ == UINT64_MAX) return kIdleTimeoutMs;
  if (min_due_ <= ctx_.now) return 0;
  // epoll's timeout is in milliseconds and may overshoot by a fraction of one: within about a
  // millisecond of the next request the loop polls, so the schedule holds to microseconds.
  constexpr uint64_t kMs = 1'000'000;
  const uint64_t delta = min_due_ - ctx_.now;
  if (delta < kMs + kMs / 10) return 0;
  const uint64_t ms = delta / kMs - (delta >= 2 * kMs ? 1 : 0);
  return static_cast<int>(std::min<uint64_t>(ms, kIdleTimeoutMs));
}

void LoadThread::pump_due() {
  if (!ctx_.opt.open_loop() || ctx_.now < min_due_) return;
  min_due_ = UINT64_MAX;
  for (auto& conn : conns_) {
    conn->pump();
    min_due_ = std::min(min_due_, conn->next_due());
  }
}

void LoadThread::check_stalls() {
  for (auto& conn : conns_) {
    if (conn->stalled(ctx_.now, kStallNs)) conn->abandon("no reply for 10 s");
  }
}

}  // namespace virtuoso::kv

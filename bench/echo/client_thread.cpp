// echo-client thread loop: epoll wait, dispatch to connections, open-loop schedule, stall checks.
#include "client_thread.hpp"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "bulk_conn.hpp"
#include "common/clock.hpp"
#include "common/net.hpp"
#include "cpr_conn.hpp"
#include "rr_conn.hpp"

namespace virtuoso::bench {

namespace {
constexpr int kMaxEvents = 256;
constexpr uint64_t kCheckEveryNs = 100'000'000;

// How long to wait for events: until the next scheduled request, at nanosecond resolution
// (epoll_pwait2), so the open-loop client sleeps between requests instead of polling. A client
// that polls would take the core from a server sharing it, and measure the scheduler instead.
timespec wait_timeout(uint64_t due, uint64_t now) {
  uint64_t delta = due == std::numeric_limits<uint64_t>::max() ? kCheckEveryNs
                   : due <= now                                ? 0
                                                               : std::min(due - now, kCheckEveryNs);
  return timespec{time_t(delta / 1'000'000'000), long(delta % 1'000'000'000)};
}
}  // namespace

ClientThread::ClientThread(const ClientConfig& cfg, const Timeline& tl, const std::atomic<bool>& stop,
                           const sockaddr_in& server, std::vector<uint32_t> conn_ids)
    : cfg_(cfg), server_(server), conn_ids_(std::move(conn_ids)), ctx_(cfg, tl, stop, result_, live_) {}

ClientThread::~ClientThread() {
  if (ctx_.epfd >= 0) ::close(ctx_.epfd);
}

void ClientThread::run(std::latch& ready, std::latch& go) {
  ctx_.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (ctx_.epfd < 0) {
    ctx_.error(ErrorKind::kIo, conn_ids_.front(), "epoll_create1: " + errno_text(errno));
    ready.count_down();
    done_.store(true, std::memory_order_release);
    return;
  }
  switch (cfg_.mode()) {
    case ClientMode::kBulk:
    case ClientMode::kBulkOneWay: {
      std::vector<BulkConn> conns;
      uint64_t bytes = cfg_.bulk_bytes ? cfg_.bulk_bytes : UINT64_MAX;  // 0: one-way for --duration
      for (uint32_t i = 0; i < conn_ids_.size(); ++i)
        conns.emplace_back(conn_ids_[i], i, bytes, cfg_.one_way);
      run_conns(conns, true, ready, go);
      for (auto& c : conns) result_.streams.push_back(c.result());
      break;
    }
    case ClientMode::kConnectPerRequest: {
      std::vector<CprConn> conns;
      for (uint32_t i = 0; i < conn_ids_.size(); ++i) conns.emplace_back(conn_ids_[i], i, server_);
      run_conns(conns, false, ready, go);
      break;
    }
    case ClientMode::kClosedLoop:
    case ClientMode::kOpenLoop: {
      std::vector<RrConn> conns;
      for (uint32_t i = 0; i < conn_ids_.size(); ++i) conns.emplace_back(conn_ids_[i], i);
      run_conns(conns, true, ready, go);
      break;
    }
  }
  done_.store(true, std::memory_order_release);
}

template <class Conn>
void ClientThread::run_conns(std::vector<Conn>& conns, bool connect_first, std::latch& ready,
                             std::latch& go) {
  if constexpr (requires(Conn c) { c.open(server_, ctx_); }) {
    if (connect_first) {
      for (auto& c : conns) c.open(server_, ctx_);
    }
  }
  ready.count_down();
  go.wait();
  drive(conns);
}

template <class Conn>
void ClientThread::drive(std::vector<Conn>& conns) {
  ctx_.now = now_ns();
  for (auto& c : conns) c.begin(ctx_);
  epoll_event events[kMaxEvents];
  const bool scheduled = cfg_.mode() == ClientMode::kOpenLoop;
  if (scheduled) prctl(PR_SET_TIMERSLACK, 1UL);  // wake at the due time, not up to 50 us after
  uint64_t next_check = ctx_.now + kCheckEveryNs;
  while (ctx_.finished < conns.size()) {
    ctx_.now = now_ns();
    uint64_t due = std::numeric_limits<uint64_t>::max();
    if (scheduled) {
      for (auto& c : conns) {
        c.tick(ctx_);
        due = std::min(due, c.next_due());
      }
      if (ctx_.finished == conns.size()) break;
    }
    timespec timeout = wait_timeout(due, ctx_.now);
    int n = epoll_pwait2(ctx_.epfd, events, kMaxEvents, &timeout, nullptr);
    if (n < 0 && errno != EINTR) {
      ctx_.error(ErrorKind::kIo, conn_ids_.front(), "epoll_wait: " + errno_text(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      ctx_.now = now_ns();  // per event, so later events in a batch are not timed early
      conns[events[i].data.u32].on_event(events[i].events, ctx_);
    }
    if (ctx_.now >= next_check) {
      for (auto& c : conns) c.check_stall(ctx_);
      next_check = ctx_.now + kCheckEveryNs;
    }
  }
}

}  // namespace virtuoso::bench

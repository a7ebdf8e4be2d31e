// echo-client thread loop: epoll wait, dispatch to connections, open-loop schedule, stall checks.
#include "client_thread.hpp"

#include <sys/epoll.h>
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
constexpr uint64_t kMs = 1'000'000;

// epoll's timeout is in milliseconds and may overshoot by a fraction of one; within ~1 ms of the
// next scheduled request we poll instead, so the open-loop schedule is kept to microseconds.
int wait_timeout_ms(uint64_t due, uint64_t now) {
  if (due == std::numeric_limits<uint64_t>::max()) return int(kCheckEveryNs / kMs);
  if (due <= now) return 0;
  uint64_t delta = due - now;
  if (delta < kMs + kMs / 10) return 0;
  return int(std::min<uint64_t>(delta / kMs - (delta >= 2 * kMs ? 1 : 0), kCheckEveryNs / kMs));
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
  uint64_t next_check = ctx_.now + kCheckEveryNs;
  const bool scheduled = cfg_.mode() == ClientMode::kOpenLoop;
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
    int n = epoll_wait(ctx_.epfd, events, kMaxEvents, wait_timeout_ms(due, ctx_.now));
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

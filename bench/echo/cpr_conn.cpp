// echo-client connect-per-request slot: non-blocking connect, one exchange, close, next connect.
#include "cpr_conn.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/net.hpp"
#include "common/pattern.hpp"

namespace virtuoso::bench {

bool CprConn::may_issue(const RunCtx& ctx) const {
  if (ctx.stopping(ctx.now)) return false;
  if (ctx.cfg.requests == 0 || ctx.now < ctx.tl.measure_start) return true;
  return measured_started_ < ctx.cfg.requests;
}

void CprConn::start_next(RunCtx& ctx) {
  if (!may_issue(ctx)) {
    phase_ = Phase::kDone;
    ctx.finished++;
    return;
  }
  stamp_ = ctx.now;
  sent_ = received_ = 0;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(ErrorKind::kConnect, "socket: " + errno_text(errno), ctx);
  set_nodelay(fd_);
  int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&server_), sizeof(server_));
  if (rc != 0 && errno != EINPROGRESS)
    return fail(ErrorKind::kConnect, "connect to " + to_string(server_) + ": " + errno_text(errno), ctx);
  phase_ = Phase::kConnecting;
  if (!ctx.watch(EPOLL_CTL_ADD, fd_, EPOLLOUT, slot_))
    return fail(ErrorKind::kIo, "epoll_ctl: " + errno_text(errno), ctx);
  measured_started_ += stamp_ >= ctx.tl.measure_start;
}

void CprConn::on_event(uint32_t events, RunCtx& ctx) {
  if (phase_ == Phase::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(ctx);
    return;
  }
  if (phase_ != Phase::kExchanging) return;
  if ((events & EPOLLOUT) && !send_rest(ctx)) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) receive(ctx);
}

void CprConn::on_connected(RunCtx& ctx) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return fail(ErrorKind::kConnect, "connect to " + to_string(server_) + ": " + errno_text(err), ctx);
  phase_ = Phase::kExchanging;
  // send_rest switches to EPOLLIN once the request is out; until then both directions matter.
  if (!send_rest(ctx) || sent_ == ctx.cfg.size) return;
  if (!ctx.watch(EPOLL_CTL_MOD, fd_, EPOLLIN | EPOLLOUT, slot_))
    fail(ErrorKind::kIo, "epoll_ctl: " + errno_text(errno), ctx);
}

bool CprConn::send_rest(RunCtx& ctx) {
  const size_t size = ctx.cfg.size;
  while (sent_ < size) {
    size_t chunk = std::min(size - sent_, ctx.check.size());
    if (ctx.cfg.verify)
      fill_pattern(request_seed(id_, index_), sent_, ctx.check.data(), chunk);
    else
      std::fill_n(ctx.check.data(), chunk, uint8_t{0});
    ssize_t n = send(fd_, ctx.check.data(), chunk, 0);
    if (n > 0) {
      sent_ += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      fail(ErrorKind::kIo, "send: " + errno_text(errno), ctx);
      return false;
    }
  }
  if (!ctx.watch(EPOLL_CTL_MOD, fd_, EPOLLIN, slot_)) {
    fail(ErrorKind::kIo, "epoll_ctl: " + errno_text(errno), ctx);
    return false;
  }
  return true;
}

bool CprConn::receive(RunCtx& ctx) {
  const size_t size = ctx.cfg.size;
  for (;;) {
    ssize_t n = recv(fd_, ctx.rx.data(), ctx.rx.size(), 0);
    if (n > 0) {
      ctx.live.bump(ctx.live.bytes, uint64_t(n));
      if (received_ + size_t(n) > std::min(sent_, size)) {
        fail(ErrorKind::kVerify, "echo longer than the request", ctx);
        return false;
      }
      if (ctx.cfg.verify) {
        uint64_t seed = request_seed(id_, index_);
        size_t bad = first_mismatch(seed, received_, ctx.rx.data(), size_t(n), ctx.check.data());
        if (bad < size_t(n)) {
          fail(ErrorKind::kVerify, "request " + std::to_string(index_) + " byte " +
                                       std::to_string(received_ + bad) + ": echo differs", ctx);
          return false;
        }
      }
      received_ += size_t(n);
      if (received_ == size) {
        complete(ctx);
        return true;
      }
    } else if (n == 0) {
      fail(ErrorKind::kEof, "server closed after " + std::to_string(received_) + " of " +
                                std::to_string(size) + " echoed bytes", ctx);
      return false;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    } else {
      fail(ErrorKind::kIo, "recv: " + errno_text(errno), ctx);
      return false;
    }
  }
}

void CprConn::complete(RunCtx& ctx) {
  ctx.live.bump(ctx.live.requests, 1);
  if (stamp_ >= ctx.tl.measure_start) {
    ctx.result.latency_ns.record(ctx.now - stamp_);
    ctx.result.requests++;
    ctx.result.last_completion_ns = ctx.now;
  }
  close_fd(ctx);
  index_++;
  start_next(ctx);
}

void CprConn::check_stall(RunCtx& ctx) {
  if (phase_ == Phase::kDone || ctx.now - stamp_ < RunCtx::kStallNs) return;
  fail(ErrorKind::kStall, phase_ == Phase::kConnecting ? "connect took over 10 s" : "no echo for 10 s", ctx);
}

void CprConn::close_fd(RunCtx& ctx) {
  if (fd_ < 0) return;
  epoll_ctl(ctx.epfd, EPOLL_CTL_DEL, fd_, nullptr);
  ::close(fd_);
  fd_ = -1;
}

void CprConn::fail(ErrorKind kind, const std::string& what, RunCtx& ctx) {
  ctx.error(kind, id_, what);
  close_fd(ctx);
  if (phase_ != Phase::kDone) {
    phase_ = Phase::kDone;
    ctx.finished++;
  }
}

}  // namespace virtuoso::bench

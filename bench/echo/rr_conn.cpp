// echo-client request/response connection: issue, send, match echoes to requests, verify, time.
#include "rr_conn.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/net.hpp"
#include "common/pattern.hpp"

namespace virtuoso::bench {

namespace {
constexpr size_t kCompactBytes = 1 << 20;
std::string hex2(uint8_t b) {
  char s[8];
  std::snprintf(s, sizeof(s), "0x%02x", b);
  return s;
}
}  // namespace

bool RrConn::open(const sockaddr_in& server, RunCtx& ctx) {
  std::string err;
  fd_ = connect_tcp(server, err);
  if (fd_ < 0 || !ctx.watch(EPOLL_CTL_ADD, fd_, EPOLLIN, slot_)) {
    if (fd_ >= 0) err = "epoll_ctl: " + errno_text(errno);
    fail(ErrorKind::kConnect, err, ctx);
    return false;
  }
  interest_ = EPOLLIN;
  return true;
}

void RrConn::begin(RunCtx& ctx) {
  if (finished_) return;
  last_progress_ = ctx.now;
  if (open_loop(ctx)) {
    // Spread the connections' schedules evenly over one interval so they do not fire together.
    double interval = double(ctx.cfg.connections) * 1e9 / ctx.cfg.rate;
    interval_ns_ = std::max<uint64_t>(1, uint64_t(interval));
    next_due_ = ctx.tl.t0 + uint64_t(interval * id_ / ctx.cfg.connections);
    tick(ctx);
  } else {
    refill(ctx);
    after_io(ctx);
  }
}

bool RrConn::may_issue(uint64_t stamp, const RunCtx& ctx) const {
  if (ctx.stopping(stamp)) return false;
  if (ctx.cfg.requests == 0 || stamp < ctx.tl.measure_start) return true;
  return measured_issued_ < ctx.cfg.requests;
}

void RrConn::issue(uint64_t stamp, RunCtx& ctx) {
  if (inflight_.empty()) last_progress_ = ctx.now;  // the stall clock runs only while waiting
  size_t at = out_.size();
  out_.resize(at + ctx.cfg.size);  // zero bytes unless verifying
  if (ctx.cfg.verify) fill_pattern(request_seed(id_, issued_), 0, out_.data() + at, ctx.cfg.size);
  bool measured = stamp >= ctx.tl.measure_start;
  inflight_.push_back({stamp, measured});
  issued_++;
  measured_issued_ += measured;
}

void RrConn::refill(RunCtx& ctx) {
  while (inflight_.size() < ctx.cfg.pipeline && may_issue(ctx.now, ctx)) issue(ctx.now, ctx);
}

void RrConn::tick(RunCtx& ctx) {
  if (finished_ || !open_loop(ctx)) return;
  bool issued = false;
  while (next_due_ <= ctx.now && inflight_.size() < kOpenLoopMaxInflight && may_issue(next_due_, ctx)) {
    issue(next_due_, ctx);
    next_due_ += interval_ns_;
    issued = true;
  }
  if (!may_issue(next_due_, ctx)) next_due_ = std::numeric_limits<uint64_t>::max();
  if (issued || inflight_.empty()) after_io(ctx);
}

void RrConn::on_event(uint32_t events, RunCtx& ctx) {
  if (finished_) return;
  if ((events & EPOLLOUT) && !flush(ctx)) return;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !receive(ctx)) return;
  if (!open_loop(ctx)) refill(ctx);
  after_io(ctx);
}

// Sends what is queued, watches for writability if some is left, and closes when all is done.
void RrConn::after_io(RunCtx& ctx) {
  if (finished_ || !flush(ctx) || !set_interest(ctx)) return;
  bool more = open_loop(ctx) ? next_due_ != std::numeric_limits<uint64_t>::max() : may_issue(ctx.now, ctx);
  if (inflight_.empty() && !more) finish(ctx);
}

bool RrConn::flush(RunCtx& ctx) {
  while (out_head_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_head_, out_.size() - out_head_, 0);
    if (n > 0) {
      out_head_ += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      fail(ErrorKind::kIo, "send: " + errno_text(errno), ctx);
      return false;
    }
  }
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  } else if (out_head_ >= kCompactBytes) {
    out_.erase(out_.begin(), out_.begin() + ptrdiff_t(out_head_));
    out_head_ = 0;
  }
  return true;
}

bool RrConn::set_interest(RunCtx& ctx) {
  uint32_t want = EPOLLIN | (out_head_ < out_.size() ? uint32_t(EPOLLOUT) : 0u);
  if (want == interest_) return true;
  if (!ctx.watch(EPOLL_CTL_MOD, fd_, want, slot_)) {
    fail(ErrorKind::kIo, "epoll_ctl: " + errno_text(errno), ctx);
    return false;
  }
  interest_ = want;
  return true;
}

bool RrConn::receive(RunCtx& ctx) {
  for (;;) {
    ssize_t n = recv(fd_, ctx.rx.data(), ctx.rx.size(), 0);
    if (n > 0) {
      ctx.live.bump(ctx.live.bytes, uint64_t(n));
      last_progress_ = ctx.now;
      if (!consume(ctx.rx.data(), size_t(n), ctx)) return false;
      if (size_t(n) < ctx.rx.size()) return true;
    } else if (n == 0) {
      fail(ErrorKind::kEof,
           "server closed the connection with " + std::to_string(inflight_.size()) +
               " requests outstanding", ctx);
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

// Splits received bytes over the outstanding requests in order: the echo of request k is bytes
// [k*size, (k+1)*size) of the stream.
bool RrConn::consume(const uint8_t* p, size_t n, RunCtx& ctx) {
  const size_t size = ctx.cfg.size;
  while (n) {
    if (inflight_.empty()) {
      fail(ErrorKind::kVerify, std::to_string(n) + " bytes echoed beyond what was sent", ctx);
      return false;
    }
    size_t take = std::min(n, size - resp_off_);
    if (ctx.cfg.verify) {
      uint64_t req = issued_ - inflight_.size();
      uint64_t seed = request_seed(id_, req);
      size_t bad = first_mismatch(seed, resp_off_, p, take, ctx.check.data());
      if (bad < take) {
        fail(ErrorKind::kVerify,
             "request " + std::to_string(req) + " byte " + std::to_string(resp_off_ + bad) +
                 ": expected " + hex2(pattern_byte(seed, resp_off_ + bad)) + ", got " + hex2(p[bad]),
             ctx);
        return false;
      }
    }
    resp_off_ += take;
    p += take;
    n -= take;
    if (resp_off_ == size) complete(ctx);
  }
  return true;
}

void RrConn::complete(RunCtx& ctx) {
  Pending done = inflight_.front();
  inflight_.pop_front();
  resp_off_ = 0;
  ctx.live.bump(ctx.live.requests, 1);  // the progress line shows warm-up load too
  if (!done.measured) return;
  ctx.result.latency_ns.record(ctx.now - std::min(done.stamp, ctx.now));
  ctx.result.requests++;
  ctx.result.last_completion_ns = ctx.now;
}

void RrConn::check_stall(RunCtx& ctx) {
  if (finished_ || inflight_.empty() || ctx.now - last_progress_ < RunCtx::kStallNs) return;
  fail(ErrorKind::kStall,
       "no echo for 10 s with " + std::to_string(inflight_.size()) + " requests outstanding", ctx);
}

void RrConn::finish(RunCtx& ctx) {
  if (fd_ >= 0) {
    epoll_ctl(ctx.epfd, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
  }
  inflight_.clear();
  out_.clear();
  next_due_ = std::numeric_limits<uint64_t>::max();
  finished_ = true;
  ctx.finished++;
}

void RrConn::fail(ErrorKind kind, const std::string& what, RunCtx& ctx) {
  ctx.error(kind, id_, what);
  finish(ctx);
}

}  // namespace virtuoso::bench

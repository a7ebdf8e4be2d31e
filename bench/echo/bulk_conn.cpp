// echo-client bulk stream: pattern generation, sending with backpressure, verified receive (echo)
// or waiting for the sink's close (one-way).
#include "bulk_conn.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/net.hpp"

namespace virtuoso::bench {

bool BulkConn::open(const sockaddr_in& server, RunCtx& ctx) {
  std::string err;
  fd_ = connect_tcp(server, err);
  if (fd_ < 0 || !ctx.watch(EPOLL_CTL_ADD, fd_, EPOLLIN | EPOLLOUT, slot_)) {
    if (fd_ >= 0) err = "epoll_ctl: " + errno_text(errno);
    fail(ErrorKind::kConnect, err, ctx);
    return false;
  }
  interest_ = EPOLLIN | EPOLLOUT;
  tx_.resize(kTxChunk);
  return true;
}

void BulkConn::begin(RunCtx& ctx) {
  if (finished_) return;
  start_ns_ = last_progress_ = ctx.now;
  if (send_more(ctx)) set_interest(ctx);
}

void BulkConn::on_event(uint32_t events, RunCtx& ctx) {
  if (finished_) return;
  if ((events & EPOLLOUT) && !send_more(ctx)) return;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !(one_way_ ? await_close(ctx) : receive(ctx)))
    return;
  if (!finished_) set_interest(ctx);
}

bool BulkConn::send_more(RunCtx& ctx) {
  // A one-way stream also ends at the end of --duration or on SIGINT/SIGTERM; an echo stream runs
  // to its byte count.
  while (sent_ < total_ && !(one_way_ && ctx.stopping(ctx.now))) {
    if (tx_head_ == tx_len_) {
      tx_len_ = size_t(std::min<uint64_t>(kTxChunk, total_ - sent_));
      tx_head_ = 0;
      fill_pattern(seed_, sent_, tx_.data(), tx_len_);
    }
    ssize_t n = send(fd_, tx_.data() + tx_head_, tx_len_ - tx_head_, 0);
    if (n > 0) {
      tx_sum_.feed(tx_.data() + tx_head_, size_t(n));
      tx_head_ += size_t(n);
      sent_ += uint64_t(n);
      if (one_way_) {
        ctx.live.bump(ctx.live.bytes, uint64_t(n));
        last_progress_ = ctx.now;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      fail(ErrorKind::kIo, "send: " + errno_text(errno), ctx);
      return false;
    }
  }
  // The FIN tells the sink the stream is complete; its close then confirms it read every byte.
  if (one_way_ && !shut_wr_) {
    if (shutdown(fd_, SHUT_WR) != 0) {
      fail(ErrorKind::kIo, "shutdown(SHUT_WR): " + errno_text(errno), ctx);
      return false;
    }
    shut_wr_ = true;
    last_progress_ = ctx.now;
  }
  return true;
}

bool BulkConn::receive(RunCtx& ctx) {
  for (;;) {
    ssize_t n = recv(fd_, ctx.rx.data(), ctx.rx.size(), 0);
    if (n > 0) {
      size_t got = size_t(n);
      ctx.live.bump(ctx.live.bytes, got);
      last_progress_ = ctx.now;
      if (received_ + got > sent_) {
        fail(ErrorKind::kVerify, "echo ran ahead of what was sent", ctx);
        return false;
      }
      size_t bad = first_mismatch(seed_, received_, ctx.rx.data(), got, ctx.check.data());
      if (bad < got) {
        fail(ErrorKind::kVerify, "stream byte " + std::to_string(received_ + bad) + " differs", ctx);
        return false;
      }
      rx_sum_.feed(ctx.rx.data(), got);
      received_ += got;
      if (received_ == total_) {
        end_ns_ = ctx.now;
        complete_ = true;
        finish(ctx);
        return false;
      }
      if (got < ctx.rx.size()) return true;
    } else if (n == 0) {
      fail(ErrorKind::kEof, "server closed after " + std::to_string(received_) + " of " +
                                std::to_string(total_) + " bytes", ctx);
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

// One-way: the sink never writes, so the only thing to read is its close after our FIN.
bool BulkConn::await_close(RunCtx& ctx) {
  for (;;) {
    ssize_t n = recv(fd_, ctx.rx.data(), ctx.rx.size(), 0);
    if (n > 0) {
      fail(ErrorKind::kVerify, "the server sent data back: --one-way needs echo-server --sink", ctx);
      return false;
    } else if (n == 0 && shut_wr_) {
      end_ns_ = ctx.now;
      complete_ = sent_ == total_ || total_ == UINT64_MAX;  // not when a signal cut a byte count short
      finish(ctx);
      return false;
    } else if (n == 0) {
      fail(ErrorKind::kEof, "server closed after " + std::to_string(sent_) + " of " +
                                std::to_string(total_) + " bytes were sent", ctx);
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

bool BulkConn::set_interest(RunCtx& ctx) {
  uint32_t want = EPOLLIN | (sending() ? uint32_t(EPOLLOUT) : 0u);
  if (want == interest_) return true;
  if (!ctx.watch(EPOLL_CTL_MOD, fd_, want, slot_)) {
    fail(ErrorKind::kIo, "epoll_ctl: " + errno_text(errno), ctx);
    return false;
  }
  interest_ = want;
  return true;
}

void BulkConn::check_stall(RunCtx& ctx) {
  // A one-way stream whose socket stays full gets no EPOLLOUT to notice its end by; this does.
  if (one_way_ && !finished_ && !shut_wr_ && ctx.stopping(ctx.now)) {
    if (send_more(ctx)) set_interest(ctx);
    return;
  }
  if (finished_ || ctx.now - last_progress_ < RunCtx::kStallNs) return;
  if (!one_way_)
    fail(ErrorKind::kStall, "no echo for 10 s after " + std::to_string(received_) + " bytes", ctx);
  else if (!shut_wr_)
    fail(ErrorKind::kStall, "no send progress for 10 s after " + std::to_string(sent_) + " bytes", ctx);
  else
    fail(ErrorKind::kStall, "no close from the server for 10 s after all bytes were sent", ctx);
}

BulkStream BulkConn::result() const {
  BulkStream s;
  s.connection = id_;
  s.bytes = one_way_ ? sent_ : received_;
  s.start_ns = start_ns_;
  s.end_ns = end_ns_;
  s.tx_checksum = tx_sum_.value();
  s.rx_checksum = one_way_ ? 0 : rx_sum_.value();
  s.complete = complete_;
  return s;
}

void BulkConn::finish(RunCtx& ctx) {
  if (fd_ >= 0) {
    epoll_ctl(ctx.epfd, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
  }
  if (!finished_) {
    finished_ = true;
    ctx.finished++;
  }
}

void BulkConn::fail(ErrorKind kind, const std::string& what, RunCtx& ctx) {
  ctx.error(kind, id_, what);
  finish(ctx);
}

}  // namespace virtuoso::bench

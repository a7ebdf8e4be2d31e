// Moving bytes through a stack socket: send copies into the flow's tx ring and bumps the fast
// path; recv copies out of the rx ring and reports the space freed. No system call on this path
// but a doorbell when the fast path sleeps.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "call_cycles.hpp"
#include "readiness.hpp"
#include "shared_slot.hpp"
#include "stack.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {
namespace {

// Reports the pending error once (Linux's sock_error()), else `fallback`.
int take_error(Socket& s, int fallback) {
  int e = s.so_error;
  s.so_error = 0;
  return -(e != 0 ? e : fallback);
}

// Publishes whether the app now waits for room (kAppWaitsTx) or bytes (kAppWaitsRx) on the slot,
// for status to tell a waiter nobody woke; a store only when it changes. Slot held (SlotWork).
void note_waiting(Context& c, Socket& s, uint32_t bit, bool waits) {
  uint32_t now = waits ? (s.waiting | bit) : (s.waiting & ~bit);
  if (now == s.waiting) return;
  s.waiting = now;
  shm::store_relaxed(c.flow_slot(s.slot).app_waiting, now);
}

}  // namespace

ssize_t Stack::try_send(Socket& s, IovCursor& cur) {
  switch (s.state) {
    case SockState::kConnecting:
    case SockState::kClaiming:
      return 0;  // Linux waits for the handshake (sk_stream_wait_connect); we for the claim
    case SockState::kFresh:
    case SockState::kListening:
      return take_error(s, EPIPE);
    case SockState::kConnected:
      break;
  }
  Context& c = *s.ctx;
  c.refresh(s);
  if (s.failed || s.shut_wr || s.closed_by_stack) return take_error(s, EPIPE);
  const abi::AppLayout& l = c.view().layout;
  abi::FlowSlot& fs = c.flow_slot(s.slot);
  SlotWork busy(s);
  if (!busy.ok()) return kClaimAgain;
  int64_t used = tx_in_flight(fs, s.tx_head, l.tx_size);  // refresh() checked it is possible
  size_t n = std::min<size_t>(l.tx_size - static_cast<uint32_t>(used), cur.remaining());
  note_waiting(c, s, abi::kAppWaitsTx, n < cur.remaining());
  if (n < cur.remaining() && !s.tx_full_seen) {
    s.tx_full_seen = true;  // the next freed space is an EPOLLOUT edge
    shm::store_release(fs.tx_nospace, 1u);  // and the fast path is to tell us of it (once)
  }
  if (n == 0) return 0;
  cur.drain_to_ring(c.view().tx_buf(s.slot), l.tx_size, s.tx_head, n);
  s.tx_head += static_cast<uint32_t>(n);
  shm::store_release(fs.tx_head, s.tx_head);  // the bytes before the position
  c.push_cmd(s, abi::AppCmdKind::kTxBump);
  return static_cast<ssize_t>(n);
}

ssize_t Stack::send(int fd, const struct iovec* iov, int iovcnt, int flags) {
  ssize_t total = iov_total(iov, iovcnt);
  if (total < 0) return total;
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  IovCursor cur(iov, iovcnt);
  CallSpan span;
  return claiming(fd, [&] {
    Guard g(*this);
    ssize_t r = send_once(g, fd, cur, flags);
    if (r != kClaimAgain) count_io(fd, true, span);
    return r;
  });
}

void Stack::count_io(int fd, bool send, const CallSpan& span) {
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s || !s->ctx || s->ctx->dead()) return;
  abi::AppCallCounters& c = s->ctx->view().header()->calls;
  if (send) {
    count_call(c.sends, c.send_cycles, span.work());
  } else {
    count_call(c.recvs, c.recv_cycles, span.work());
  }
}

ssize_t Stack::send_once(Guard& g, int fd, IovCursor& cur, int flags) {
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  Context& c = *s->ctx;
  bool nonblock = s->nonblocking || (flags & MSG_DONTWAIT);
  Deadline dl = Deadline::after(s->opt.sndtimeo);
  ssize_t sent = 0;
  for (;;) {
    drain(c);
    if (s->taken) return sent > 0 ? sent : kClaimAgain;
    if (int rc = unusable(*s); rc < 0) return sent > 0 ? sent : rc;
    ssize_t r = try_send(*s, cur);
    if (r == kClaimAgain) {
      lost_slot(*s);
      return sent > 0 ? sent : kClaimAgain;
    }
    if (r < 0) return sent > 0 ? sent : r;  // the error is reported by the next call
    sent += r;
    if (cur.done()) return sent;
    if (nonblock) return sent > 0 ? sent : -EAGAIN;
    int w = block(g, c, dl, [&] {
      if (s->released) return true;
      if (s->state == SockState::kConnecting) return false;
      return (poll_mask(*s) & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0;
    }, Watch{s.get()});
    if (w == -ETIMEDOUT) return sent > 0 ? sent : -EAGAIN;
    if (w < 0) return sent > 0 ? sent : w;
  }
}

ssize_t Stack::try_recv(Socket& s, IovCursor& cur, int flags) {
  switch (s.state) {
    case SockState::kListening:
      return -ENOTCONN;
    case SockState::kConnecting:
    case SockState::kClaiming:
      return -EAGAIN;
    case SockState::kFresh:
      if (s.so_error != 0) return take_error(s, ENOTCONN);
      return s.shut_rd ? 0 : -ENOTCONN;
    case SockState::kConnected:
      break;
  }
  Context& c = *s.ctx;
  c.refresh(s);
  const abi::AppLayout& l = c.view().layout;
  abi::FlowSlot& fs = c.flow_slot(s.slot);
  // rx_fin before rx_head: every byte before the FIN is visible once the FIN is.
  bool peer_fin = shm::load_acquire(fs.rx_fin) != 0;
  int64_t avail = s.rings_bad ? 0 : rx_readable(fs, s.rx_tail, l.rx_size);
  if (avail > 0) {
    // Even a peek: once taken, the slot may be given to another flow while we copy.
    SlotWork busy(s);
    if (!busy.ok()) return kClaimAgain;
    note_waiting(c, s, abi::kAppWaitsRx, false);
    size_t n = std::min<size_t>(static_cast<size_t>(avail), cur.remaining());
    if (flags & MSG_PEEK) {
      cur.fill_from_ring(c.view().rx_buf(s.slot), l.rx_size, s.rx_tail, n);
      return static_cast<ssize_t>(n);
    }
    if (flags & MSG_TRUNC) {
      cur.skip(n);  // Linux TCP: discard instead of copying
    } else {
      cur.fill_from_ring(c.view().rx_buf(s.slot), l.rx_size, s.rx_tail, n);
    }
    s.rx_tail += static_cast<uint32_t>(n);
    shm::store_release(fs.rx_tail, s.rx_tail);  // after the copy: the space may be refilled
    c.push_cmd(s, abi::AppCmdKind::kRxConsumed);
    return static_cast<ssize_t>(n);
  }
  if (peer_fin) return 0;  // Linux reports the orderly end before a later error
  if (s.so_error != 0) return take_error(s, ECONNRESET);
  if (s.failed || s.shut_rd || s.closed_by_stack) return 0;
  if ((s.waiting & abi::kAppWaitsRx) == 0) {  // claim the slot only to change it
    SlotWork busy(s);
    if (busy.ok()) note_waiting(c, s, abi::kAppWaitsRx, true);
  }
  return -EAGAIN;
}

ssize_t Stack::recv(int fd, const struct iovec* iov, int iovcnt, int flags) {
  ssize_t total = iov_total(iov, iovcnt);
  if (total < 0) return total;
  if (flags & MSG_OOB) return -EINVAL;  // no urgent data on stack sockets
  if (flags & MSG_ERRQUEUE) return -EAGAIN;  // nothing is ever queued there
  IovCursor cur(iov, iovcnt);
  CallSpan span;
  return claiming(fd, [&] {
    Guard g(*this);
    ssize_t r = recv_once(g, fd, cur, flags, total);
    if (r != kClaimAgain) count_io(fd, false, span);
    return r;
  });
}

ssize_t Stack::recv_once(Guard& g, int fd, IovCursor& cur, int flags, ssize_t total) {
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (s->taken) return kClaimAgain;  // taken after adopt() looked
  if (int rc = unusable(*s); rc < 0) return rc;
  if (s->state == SockState::kListening) return -ENOTCONN;
  if (total == 0) return 0;
  Context& c = *s->ctx;
  bool nonblock = s->nonblocking || (flags & MSG_DONTWAIT);
  Deadline dl = Deadline::after(s->opt.rcvtimeo);
  ssize_t got = 0;
  for (;;) {
    drain(c);
    if (s->taken) return got > 0 ? got : kClaimAgain;
    if (int rc = unusable(*s); rc < 0) return got > 0 ? got : rc;
    ssize_t r = try_recv(*s, cur, flags);
    if (r == kClaimAgain) {
      lost_slot(*s);
      return got > 0 ? got : kClaimAgain;
    }
    if (r > 0) {
      got += r;
      if (!(flags & MSG_WAITALL) || (flags & MSG_PEEK) || cur.done()) return got;
      continue;
    }
    if (r == 0) return got;
    if (r != -EAGAIN) return got > 0 ? got : r;
    if (nonblock) return got > 0 ? got : -EAGAIN;
    int w = block(g, c, dl, [&] {
      if (s->released) return true;
      if (s->state == SockState::kConnecting) return false;
      return (poll_mask(*s) & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0;
    }, Watch{s.get()});
    if (w == -ETIMEDOUT) return got > 0 ? got : -EAGAIN;
    if (w < 0) return got > 0 ? got : w;
  }
}

ssize_t Stack::sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  if (is_socket(in_fd)) return -EINVAL;  // Linux needs a file it can map on the input side
  constexpr size_t kChunk = 64 * 1024;
  std::vector<char> buf(std::min(count, kChunk));
  off_t pos = offset != nullptr ? *offset : 0;
  size_t total = 0;
  while (total < count) {
    size_t want = std::min(kChunk, count - total);
    ssize_t n = offset != nullptr ? ::pread(in_fd, buf.data(), want, pos)
                                  : k_.read(in_fd, buf.data(), want);
    if (n < 0) {
      if (total > 0) break;
      return -errno;
    }
    if (n == 0) break;
    struct iovec iov = {buf.data(), static_cast<size_t>(n)};
    ssize_t m = send(out_fd, &iov, 1, 0);
    // Bytes read but not sent go back to the file position, as if never read.
    if (offset == nullptr && m < n) ::lseek(in_fd, -(n - std::max<ssize_t>(m, 0)), SEEK_CUR);
    if (m < 0) {
      if (total > 0) break;
      return m;
    }
    pos += m;
    total += static_cast<size_t>(m);
    if (m < n) break;
  }
  if (offset != nullptr) *offset = pos;
  return static_cast<ssize_t>(total);
}

}  // namespace virtuoso::shim

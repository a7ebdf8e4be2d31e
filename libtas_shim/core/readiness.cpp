// tcp_poll() for stack sockets: computed from the socket state and the ring positions themselves,
// so readiness stays right even when events were coalesced or the arx queue overflowed.
#include "readiness.hpp"

#include <sys/epoll.h>

#include "context.hpp"
#include "flow_rings.hpp"
#include "shared_slot.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {
namespace {

constexpr uint32_t kIn = EPOLLIN | EPOLLRDNORM;
constexpr uint32_t kOut = EPOLLOUT | EPOLLWRNORM;

uint32_t connected_mask(Socket& s) {
  Context& c = *s.ctx;
  c.refresh(s);
  const abi::FlowSlot& fs = c.flow_slot(s.slot);
  const abi::AppLayout& l = c.view().layout;
  bool peer_fin = shm::load_acquire(fs.rx_fin) != 0;
  bool rx_done = s.failed || s.shut_rd || s.closed_by_stack || peer_fin;
  bool tx_done = s.failed || s.shut_wr || s.closed_by_stack;
  uint32_t m = 0;
  if (s.failed || s.closed_by_stack || (rx_done && tx_done)) m |= EPOLLHUP;
  if (rx_done) m |= kIn | EPOLLRDHUP;
  if (!s.rings_bad && rx_readable(fs, s.rx_tail, l.rx_size) > 0) m |= kIn;
  if (tx_done) {
    m |= kOut;  // Linux reports writable after SEND_SHUTDOWN so writers wake and see EPIPE
  } else {
    int64_t used = tx_in_flight(fs, s.tx_head, l.tx_size);
    if (used >= 0 && stream_writable(static_cast<uint32_t>(used), l.tx_size)) {
      m |= kOut;
      if (s.tx_full_seen) {
        SlotWork busy(s);  // a slot taken meanwhile is left alone: the next call finds out
        if (busy.ok()) shm::store_relaxed(c.flow_slot(s.slot).tx_nospace, 0u);
        // The shortage is over, and that is an EPOLLOUT edge for every watcher, whoever notices
        // first (Linux's sk_stream_write_space). Whoever asks here (poll(), a blocked send, or
        // an epoll set that was evaluating the socket for another reason) must not consume it:
        // the kTxSpace event that announces the same space may be drained only later, when
        // tx_full_seen is already clear, and would then be no edge at all.
        ++s.tx_seq;
        s.tx_full_seen = false;  // later ACKs are not new edges
      }
    }
  }
  if (s.so_error != 0) m |= EPOLLERR;
  return m;
}

}  // namespace

uint32_t poll_mask(Socket& s) {
  // Released: another thread closed it under a blocked call; the slot is no longer ours to read.
  // Taken from us: readable and writable, so that the app's next call claims it back (and then
  // waits for it as for any claim).
  if (s.taken && !s.released) return kIn | kOut;
  // Inherited (not adopted): bound or connecting when the parent forked, unusable here.
  if (s.inherited || s.released) return EPOLLERR | EPOLLHUP;
  switch (s.state) {
    case SockState::kListening:
      // A dead daemon makes accept() fail; readable so that the app calls it and learns.
      return (!s.accept_queue.empty() || s.ctx->dead()) ? kIn : 0;
    case SockState::kConnecting:
      return s.so_error != 0 ? uint32_t{EPOLLERR} : 0u;
    case SockState::kClaiming:
      return 0;  // until kAdopted: neither readable nor writable
    case SockState::kFresh: {
      uint32_t m = kOut | EPOLLHUP;  // TCP_CLOSE: writable (send fails at once) and hung up
      if (s.shut_rd) m |= kIn | EPOLLRDHUP;
      if (s.so_error != 0) m |= EPOLLERR;
      return m;
    }
    case SockState::kConnected:
      return connected_mask(s);
  }
  return 0;
}

}  // namespace virtuoso::shim

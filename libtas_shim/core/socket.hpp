// One stack socket as the shim sees it: where it is in its life, its addresses and options, the
// app-owned ring positions of its flow, and the epoll sets watching it. Guarded by the stack lock.
#pragma once
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace virtuoso::shim {

class Context;
class EpollSet;

enum class SockState : uint8_t {
  kFresh,       // created or bound; also after a failed connect or a stopped listener
  kListening,   // has a listener id; accepted connections queue in accept_queue
  kConnecting,  // kConnect was accepted; waiting for kConnected / kConnectFailed with our cookie
  kConnected,   // owns slot/gen until released with kClose / kAbort
  kClaiming,    // an inherited connection asked for with kClaim (cookie); slot/gen still name it
                //   in context flow_ctx until kAdopted moves it into ours: not readable/writable
};

struct SockOptions {
  bool reuseaddr = false;
  bool reuseport = false;
  bool keepalive = false;
  bool nodelay = false;
  bool cork = false;
  bool linger_on = false;
  int linger_secs = 0;
  int keepidle = 0;  // TCP_KEEP*: 0 until set, leaving the stack's configured default
  int keepintvl = 0;
  int keepcnt = 0;
  int tos = 0;
  int ttl = 64;
  struct timeval rcvtimeo = {0, 0};  // zero: wait forever
  struct timeval sndtimeo = {0, 0};
  uint64_t max_pacing_rate = UINT64_MAX;  // SO_MAX_PACING_RATE, bytes a second (Linux's ~0: none)
};

// An epoll set watching this socket under descriptor `fd`.
struct EpollWatch {
  EpollSet* set;
  int fd;
};

struct Socket {
  explicit Socket(std::shared_ptr<Context> c) : ctx(std::move(c)) {}

  std::shared_ptr<Context> ctx;
  SockState state = SockState::kFresh;
  bool nonblocking = false;
  bool inherited = false;  // crossed fork() and not yet made this process's own (adopt) or closed
  int unadoptable = 0;  // inherited for good: the errno its calls fail with (EOPNOTSUPP: the
                        //   parent's bound or connecting socket; EBADF: no hold to claim it
                        //   with); not counted in Stack's to_adopt_
  bool released = false;   // the last descriptor was closed; nothing may use the flow any more
  bool busy = false;       // a slow-path request for this socket is in flight (lock released)
  int fd_refs = 0;         // descriptors naming this socket (dup)
  // This process forked while holding it (or claimed it from its parent): other processes may
  // hold it too, so a connection's end is the daemon's decision (kCloseShared), and a listener's
  // accepts are spread over the processes (kAccepting).
  bool forked = false;
  // A shared connection (forked) whose slot another holder took while this process was not
  // working on it (kTaken, or FlowSlot::app_busy found kSlotTaken): it no longer names a slot of
  // ours; this process's context holds a reference, and the next call that needs the connection
  // claims it back (inherited is set meanwhile), or close gives the reference back (kDropHold).
  bool taken = false;
  // Claims and kDropHold name the connection by its addresses (kClaimByTuple): it came through
  // exec, or it was taken and may have moved any number of times since.
  bool by_tuple = false;
  // Exec: the placeholder is bound to its exec name (exec_name.hpp), so its O_NONBLOCK is kept
  // equal to `nonblocking` for the program it may be passed to; came_through_exec: this program
  // got it that way, knowing only what the name says (a connection is claimed by its addresses).
  bool exec_named = false;
  bool came_through_exec = false;

  // AF_INET, or AF_INET6 for a dual-stack socket: the same IPv4 connection, its addresses shown
  // v4-mapped (::ffff:a.b.c.d) as on Linux. IPv6 options kept only to be read back (they apply to
  // IPv6 traffic, which such a socket never carries here).
  int family = AF_INET;
  int v6_tclass = 0;
  int v6_hops = -1;

  // Host byte order. local_* come from bind, the daemon's answers or kConnected/kAccepted.
  uint32_t local_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool reserved = false;  // bind() reserved local_ip:local_port with kBind (released by kUnbind)

  // Connect. so_error is the pending asynchronous error, reported once (SO_ERROR, connect, I/O).
  uint32_t cookie = 0;
  bool connect_unreported = false;  // a connect finished; the next connect() call reports it
  int so_error = 0;

  // Flow (kConnected). An inherited or claimed one lives in context flow_ctx until it is adopted.
  uint32_t flow_ctx = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint16_t mss = 0;
  uint32_t rx_tail = 0;  // our own ring positions; the shared copies are written from these
  uint32_t tx_head = 0;
  bool shut_rd = false;
  bool shut_wr = false;
  bool fin_queued = false;  // kTxFin was queued
  bool rx_fin_seen = false;  // the peer's FIN was seen in the slot (TCP_INFO's CLOSE_WAIT)
  bool closed_by_stack = false;  // kClosed: both directions finished
  bool failed = false;           // reset, timed out or bad positions: no more bytes either way
  bool rings_bad = false;        // the fast path's positions were impossible: never read the rings

  // Listener.
  uint32_t listener_id = 0;
  uint32_t backlog = 0;
  bool accept_declared = false;  // kAccepting was sent since then
  std::deque<std::shared_ptr<Socket>> accept_queue;  // established, not yet accept()ed

  // Edge bookkeeping for epoll: bumped on every event that may make the socket newly readable
  // (rx_seq) or writable (tx_seq). Freed space counts as a new EPOLLOUT edge only after a write
  // found the ring full and until it is writable again, as Linux's SOCK_NOSPACE: otherwise
  // every ACK would wake edge-triggered writers.
  uint64_t rx_seq = 0;
  uint64_t tx_seq = 0;
  bool tx_full_seen = false;
  uint32_t waiting = 0;  // what this socket last published in FlowSlot::app_waiting
  std::vector<EpollWatch> watches;

  SockOptions opt;

  // The flow failed with `err`: reported once (SO_ERROR or the next call), then EOF / EPIPE.
  void fail(int err) {
    if (failed) return;
    failed = true;
    so_error = err;
    ++rx_seq;
    ++tx_seq;
  }
  // A kClaim that will not complete: the connection is gone, as after a reset with `err`.
  void fail_claim(int err) {
    state = SockState::kFresh;
    so_error = err;
    shut_rd = true;  // after the error, reads see the end of the stream
    shut_wr = true;
    ++rx_seq;
    ++tx_seq;
  }
};

// The call cannot go on with this socket in this process (or any more): -errno, or 0.
inline int unusable(const Socket& s) {
  if (s.inherited) return s.unadoptable != 0 ? -s.unadoptable : -EOPNOTSUPP;  // the parent's
  if (s.released) return -EBADF;  // closed by another thread meanwhile
  return 0;
}

}  // namespace virtuoso::shim

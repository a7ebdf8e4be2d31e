// The descriptor side of the stack: creating, duplicating, closing and controlling stack sockets,
// attaching to the daemon, and what fork() and exit() mean for them.
#include "stack.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "attach.hpp"
#include "flow_rings.hpp"
#include "readiness.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {

Stack::Stack(const KernelOps& k, StackConfig cfg, ContextFactory attach,
             HoldChannelFactory hold_channel)
    : k_(k), cfg_(cfg), attach_(std::move(attach)), hold_factory_(std::move(hold_channel)) {
  if (!hold_factory_) hold_factory_ = make_unix_channel;
}

Stack::~Stack() {
  std::lock_guard<std::mutex> lk(mu_);
  unexpose_hold();
  epolls_.clear();
  for (int fd : kick_pool_) k_.close(fd);
}

int Stack::ensure_context(std::shared_ptr<Context>& out) {
  auto usable = [&] { return ctx_ && !ctx_->dead() && !ctx_->link_broken(); };
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (usable()) {
      out = ctx_;
      return 0;
    }
  }
  std::lock_guard<std::mutex> attach_lk(attach_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (usable()) {
      out = ctx_;
      return 0;
    }
  }
  if (!attach_) return -EAFNOSUPPORT;
  std::shared_ptr<Context> fresh;
  int rc = attach_(k_, fresh);  // a Unix socket round trip: without the stack lock
  if (rc < 0) return rc;
  // A fork() child: what it inherited becomes this context's (kInherit with the hold link).
  int hold_fd;
  {
    std::lock_guard<std::mutex> lk(mu_);
    hold_fd = hold_fd_;
  }
  abi::AppResponse inherit{};
  if (hold_fd >= 0) {
    abi::AppRequest req{};
    req.kind = static_cast<uint32_t>(abi::AppRequestKind::kInherit);
    rc = fresh->call_with_fd(req, inherit, hold_fd);
    if (rc < 0) return rc;  // the new link broke: the hold stays for the next attempt
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (hold_fd >= 0) pass_hold(*fresh, inherit);
  if (ctx_) {
    for (int fd : ctx_->own_fds()) fds_.unmark_internal(fd);
  }
  for (int fd : fresh->own_fds()) fds_.mark_internal(fd);
  ctx_ = fresh;
  out = fresh;
  return 0;
}

int Stack::new_placeholder(bool cloexec) {
  // An unconnected AF_UNIX socket reserves the descriptor number: fstat() says "socket", and a
  // call that bypasses the shim gets a plain socket error instead of acting on something else.
  int fd = k_.socket(AF_UNIX, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0), 0);
  if (fd < 0) return -errno;
  if (fd >= FdTable::kMaxFds) {
    k_.close(fd);
    return -EMFILE;
  }
  return fd;
}

int Stack::install(int fd, std::shared_ptr<Socket> s) {
  ++s->fd_refs;
  fds_.put(fd, std::move(s));
  return fd;
}

int Stack::socket(int type, int family) {
  std::shared_ptr<Context> ctx;
  int rc = ensure_context(ctx);
  if (rc < 0) return rc;
  Guard g(*this);
  int fd = new_placeholder(type & SOCK_CLOEXEC);
  if (fd < 0) return fd;
  auto s = std::make_shared<Socket>(ctx);
  s->nonblocking = (type & SOCK_NONBLOCK) != 0;
  s->family = family;
  return install(fd, std::move(s));
}

int Stack::family_of(int fd) {
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  return s ? s->family : AF_INET;
}

int Stack::close(int fd) {
  Guard g(*this);
  std::shared_ptr<Socket> s = fds_.take(fd);
  if (!s) {
    g.unlock();
    return k_.close(fd) == 0 ? 0 : -errno;
  }
  k_.close(fd);  // the placeholder; Linux frees the descriptor even when close reports an error
  if (--s->fd_refs == 0) {
    if (!s->inherited) drain(*s->ctx);  // connections already queued for a listener are reset now
    release(*s);
  }
  return 0;
}

void Stack::release(Socket& s) {
  s.released = true;
  // Like Linux, epoll registrations go away with the last descriptor of the socket.
  std::vector<EpollWatch> watches = s.watches;
  for (const EpollWatch& w : watches) w.set->remove(w.fd);
  if (s.inherited) {  // never used here: give back the reference the fork gave us
    drop_inherited(s);
    settle(s);
    return;
  }
  Context& c = *s.ctx;
  switch (s.state) {
    case SockState::kListening:
      stop_listening(s);
      break;
    case SockState::kConnecting:
    case SockState::kClaiming:  // closed when kAdopted brings it (kCloseShared)
      c.orphan_cookie(s.cookie);
      break;
    case SockState::kConnected:
      close_flow(c, s);
      break;
    case SockState::kFresh:
      if (s.reserved) {
        abi::AppRequest r{};
        r.kind = static_cast<uint32_t>(abi::AppRequestKind::kUnbind);
        r.ip = s.local_ip;
        r.port = s.local_port;
        c.defer(r);
        s.reserved = false;
      }
      break;
  }
  // Threads still blocked in this socket must stop looking at the slot.
  if (!c.hub().idle()) c.hub().kick_all(nullptr);
}

void Stack::close_flow(Context& c, Socket& s) {
  c.refresh(s);
  bool linger0 = s.opt.linger_on && s.opt.linger_secs == 0;
  bool abort = linger0;
  abi::AppRequest r{};
  if (s.forked) {
    // Other processes may hold it (it crossed fork()): the daemon ends it, with a FIN, or a reset
    // for unread data, when the last holder lets go, as Linux does on the last close of a file.
    // The slot is marked taken first, so no claim takes it while the kClose is on its way; if a
    // claim took it already, all we hold is a reference.
    abi::FlowSlot& fs = c.flow_slot(s.slot);
    bool ours = shm::compare_exchange(fs.app_busy, 0u, abi::kSlotTaken);
    if (ours && shm::load_acquire(fs.gen) != s.gen) {
      shm::store_release(fs.app_busy, 0u);  // another flow's slot by now: not ours to mark
      ours = false;
    }
    if (!ours) {
      c.lose_slot(s);
      drop_inherited(s);  // kDropHold by its addresses
      s.inherited = false;  // released: nothing is left to claim
      return;
    }
    r.flags = abi::kCloseShared;
  } else {
    // Linux answers a close with unread data, or SO_LINGER {1, 0}, with a reset.
    const abi::AppLayout& l = c.view().layout;
    abort = abort || (!s.rings_bad && rx_readable(c.flow_slot(s.slot), s.rx_tail, l.rx_size) > 0);
    if (!abort && !s.fin_queued && !s.failed) {
      c.push_cmd(s, abi::AppCmdKind::kTxFin);
      s.fin_queued = true;
    }
  }
  c.detach_flow(s);
  r.kind = static_cast<uint32_t>(abort ? abi::AppRequestKind::kAbort : abi::AppRequestKind::kClose);
  r.slot = s.slot;
  r.gen = s.gen;
  c.defer(r, !abort);  // after the bytes (and the FIN) still waiting for room in the atx queue
}

int Stack::dup(int fd, int min_fd, bool cloexec) {
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  int nfd = k_.fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min_fd);
  if (nfd < 0) return -errno;
  if (nfd >= FdTable::kMaxFds) {
    k_.close(nfd);
    return -EMFILE;
  }
  if (!cloexec) expose_for_exec(nfd, *s);
  return install(nfd, std::move(s));
}

int Stack::dup3(int oldfd, int newfd, int flags, bool dup2_semantics) {
  if (is_internal(newfd)) return -EBUSY;  // the shim's own descriptor: refuse to lose it
  Guard g(*this);
  std::shared_ptr<Socket> from = lookup(oldfd);
  if (oldfd == newfd) {
    if (!dup2_semantics) return -EINVAL;
    return (from || k_.fcntl(oldfd, F_GETFD) >= 0) ? newfd : -EBADF;
  }
  if (newfd >= FdTable::kMaxFds && from) return -EBADF;
  if (k_.dup3(oldfd, newfd, flags) < 0) return -errno;
  if (fds_.kind(newfd) == FdTable::Kind::kEpoll) {
    // The kernel closed that epoll instance: drop the shim's set for it.
    epolls_.erase(newfd);
    epolls_with_kernel_fds_.erase(newfd);
    epoll_count_.store(static_cast<uint32_t>(epolls_.size()), std::memory_order_relaxed);
    fds_.unmark_epoll(newfd);
  }
  // The kernel closed newfd's old placeholder atomically; now forget that socket.
  if (std::shared_ptr<Socket> victim = fds_.take(newfd)) {
    if (--victim->fd_refs == 0) release(*victim);
  }
  if (!from) return newfd;
  if (!(flags & O_CLOEXEC)) expose_for_exec(newfd, *from);  // dup2 onto 0 and 1, then exec
  install(newfd, std::move(from));
  return newfd;
}

int Stack::fcntl(int fd, int cmd, uintptr_t arg) {
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    return dup(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC);
  }
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  switch (cmd) {
    case F_GETFL: {
      int fl = k_.fcntl(fd, F_GETFL);
      if (fl < 0) return -errno;
      return (fl & ~O_NONBLOCK) | (s->nonblocking ? O_NONBLOCK : 0);
    }
    case F_SETFL:
      s->nonblocking = (arg & O_NONBLOCK) != 0;
      if (s->exec_named) mirror_nonblocking(fd, *s);
      return 0;
    default: {
      // F_GETFD/F_SETFD and the rest act on the placeholder, which carries FD_CLOEXEC.
      int r = k_.fcntl(fd, cmd, arg);
      if (r < 0) return -errno;
      if (cmd == F_SETFD && !(arg & FD_CLOEXEC)) expose_for_exec(fd, *s);
      return r;
    }
  }
}

int Stack::ioctl(int fd, unsigned long req, void* arg) {
  if (req == FIONREAD || req == TIOCOUTQ) {
    if (int rc = adopt(fd); rc < 0) return rc;  // the counts need the flow
  }
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  switch (req) {
    case FIONBIO:
      if (arg == nullptr) return -EFAULT;
      s->nonblocking = *static_cast<int*>(arg) != 0;
      if (s->exec_named) mirror_nonblocking(fd, *s);
      return 0;
    case FIONCLEX:
      if (k_.ioctl(fd, req, arg) < 0) return -errno;
      expose_for_exec(fd, *s);
      return 0;
    case FIONREAD:  // SIOCINQ
    case TIOCOUTQ: {  // SIOCOUTQ
      if (arg == nullptr) return -EFAULT;
      if (s->state == SockState::kListening) return -EINVAL;
      int n = 0;
      if (s->state == SockState::kConnected && !s->inherited && !s->released) {
        Context& c = *s->ctx;
        drain(c);
        c.refresh(*s);
        const abi::AppLayout& l = c.view().layout;
        const abi::FlowSlot& fs = c.flow_slot(s->slot);
        int64_t v = s->rings_bad ? 0
                    : req == FIONREAD ? rx_readable(fs, s->rx_tail, l.rx_size)
                                      : tx_in_flight(fs, s->tx_head, l.tx_size);
        n = static_cast<int>(v < 0 ? 0 : v);
      }
      *static_cast<int*>(arg) = n;
      return 0;
    }
    default: {
      // Interface queries (SIOCGIFCONF...) work on any socket: let the placeholder answer.
      g.unlock();
      int r = k_.ioctl(fd, req, arg);
      return r < 0 ? -errno : r;
    }
  }
}

void Stack::close_all_at_exit() {
  // Exit closes every descriptor; Linux then sends FIN (or RST for unread data) on each socket.
  // exit() may come from a signal handler that interrupted a call holding the lock: then the
  // daemon's own clean-up (the app's socket closing) has to do.
  bool locked = false;
  for (int i = 0; i < 1000 && !locked; ++i) {
    locked = mu_.try_lock();
    if (!locked) {
      struct timespec step = {0, 100 * 1000};
      nanosleep(&step, nullptr);
    }
  }
  if (!locked) return;
  mu_.unlock();
  Guard g(*this);
  // A socket that crossed fork() may still be held by a child (nginx's master exits after
  // daemonizing; the child keeps the listeners): it is closed with kCloseShared (stop_listening
  // and close_flow), and the daemon keeps it for the other holders, as Linux keeps a file
  // another process holds. Inherited sockets never used need no kDropHold each: the link that
  // holds them closes with the process.
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    if (!s->released && !s->inherited) release(*s);
  });
}

}  // namespace virtuoso::shim

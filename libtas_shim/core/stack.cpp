// The descriptor side of the stack: creating, duplicating, closing and controlling stack sockets,
// attaching to the daemon, and what fork() and exit() mean for them.
#include "stack.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "flow_rings.hpp"
#include "readiness.hpp"

namespace virtuoso::shim {

Stack::Stack(const KernelOps& k, StackConfig cfg, ContextFactory attach)
    : k_(k), cfg_(cfg), attach_(std::move(attach)) {}

Stack::~Stack() {
  std::lock_guard<std::mutex> lk(mu_);
  // An abandoned context may outlive the stack (held by a socket someone else keeps).
  for (const std::weak_ptr<Context>& w : abandoned_) {
    if (std::shared_ptr<Context> c = w.lock()) c->forget_on_gone();
  }
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
  std::lock_guard<std::mutex> lk(mu_);
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

int Stack::socket(int type) {
  std::shared_ptr<Context> ctx;
  int rc = ensure_context(ctx);
  if (rc < 0) return rc;
  Guard g(*this);
  int fd = new_placeholder(type & SOCK_CLOEXEC);
  if (fd < 0) return fd;
  auto s = std::make_shared<Socket>(ctx);
  s->nonblocking = (type & SOCK_NONBLOCK) != 0;
  return install(fd, std::move(s));
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
  if (s.inherited) return;
  Context& c = *s.ctx;
  switch (s.state) {
    case SockState::kListening:
      stop_listening(s);
      break;
    case SockState::kConnecting:
      c.orphan_cookie(s.cookie);
      break;
    case SockState::kConnected: {
      c.refresh(s);
      const abi::AppLayout& l = c.view().layout;
      // Linux answers a close with unread data, or SO_LINGER {1, 0}, with a reset.
      bool unread = !s.rings_bad && rx_readable(c.flow_slot(s.slot), s.rx_tail, l.rx_size) > 0;
      bool abort = (s.opt.linger_on && s.opt.linger_secs == 0) || unread;
      if (!abort && !s.fin_queued && !s.failed) {
        c.push_cmd(s, abi::AppCmdKind::kTxFin);
        s.fin_queued = true;
      }
      c.detach_flow(s);
      abi::AppRequest r{};
      r.kind = static_cast<uint32_t>(abort ? abi::AppRequestKind::kAbort
                                           : abi::AppRequestKind::kClose);
      r.slot = s.slot;
      r.gen = s.gen;
      c.defer(r, !abort);
      break;
    }
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
  if (from) install(newfd, std::move(from));
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
      return 0;
    default: {
      // F_GETFD/F_SETFD and the rest act on the placeholder, which carries FD_CLOEXEC.
      int r = k_.fcntl(fd, cmd, arg);
      return r < 0 ? -errno : r;
    }
  }
}

int Stack::ioctl(int fd, unsigned long req, void* arg) {
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  switch (req) {
    case FIONBIO:
      if (arg == nullptr) return -EFAULT;
      s->nonblocking = *static_cast<int*>(arg) != 0;
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

void Stack::fork_prepare() {
  adopt_mu_.lock();   // adopt_mu_, attach_mu_, then mu_, as everywhere
  attach_mu_.lock();
  mu_.lock();
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
  // daemonizing; the child keeps the listeners): as in Linux, it stays open. The child holds this
  // process's link to the daemon, so the daemon closes such sockets when the last holder exits.
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    if (!s->released && !s->inherited && !s->forked) release(*s);
  });
}

}  // namespace virtuoso::shim

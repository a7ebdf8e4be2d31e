// A stack socket's connection life cycle: bind, listen, accept, connect and shutdown, each a
// synchronous request to the slow path made without the stack lock, completed by ctl events.
#include <errno.h>
#include <sys/socket.h>

#include <algorithm>

#include "readiness.hpp"
#include "shared_slot.hpp"
#include "sockaddr.hpp"
#include "stack.hpp"
#include "stack_keepalive.hpp"

namespace virtuoso::shim {
namespace {

constexpr uint32_t kMaxBacklog = 4096;  // Linux's default somaxconn


}  // namespace

int Stack::request(Socket& s, abi::AppRequest& req, abi::AppResponse& resp, Guard& g) {
  std::shared_ptr<Context> ctx = s.ctx;
  g.unlock();
  int rc = ctx->request(req, resp);
  g.lock();
  if (rc < 0) return rc;
  if (resp.error != 0) return -((resp.error > 0 && resp.error < 4096) ? resp.error : EIO);
  return 0;
}

int Stack::bind(int fd, const struct sockaddr* addr, socklen_t len) {
  uint32_t ip = 0;
  uint16_t port = 0;
  if (int rc = parse_sockaddr(family_of(fd), addr, len, ip, port, -EADDRNOTAVAIL); rc < 0) return rc;
  if (int rc = adopt(fd); rc < 0) return rc;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (int rc = unusable(*s); rc < 0) return rc;
  if (s->state != SockState::kFresh || s->reserved || s->busy) return -EINVAL;
  if (s->ctx->dead()) return -ENETDOWN;
  abi::AppRequest req = make_request(abi::AppRequestKind::kBind);
  req.ip = ip;
  req.port = port;
  abi::AppResponse resp{};
  s->busy = true;
  int rc = request(*s, req, resp, g);
  s->busy = false;
  if (rc < 0) return rc;
  s->local_ip = ip;
  s->local_port = resp.port;
  s->reserved = true;
  if (s->released) {  // closed while we asked: give the port back
    abi::AppRequest undo = make_request(abi::AppRequestKind::kUnbind);
    undo.ip = ip;
    undo.port = resp.port;
    s->ctx->defer(undo);
    return -EBADF;
  }
  return 0;
}

int Stack::listen(int fd, int backlog) {
  if (int rc = adopt(fd); rc < 0) return rc;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (int rc = unusable(*s); rc < 0) return rc;
  uint32_t bl = static_cast<uint32_t>(std::clamp<int>(backlog, 1, kMaxBacklog));
  if (s->state == SockState::kListening) {
    s->backlog = bl;  // Linux lets listen() change the backlog of a listener
    return 0;
  }
  if (s->state != SockState::kFresh || s->busy) return -EINVAL;
  Context& c = *s->ctx;
  if (c.dead()) return -ENETDOWN;
  abi::AppRequest req = make_request(abi::AppRequestKind::kListen);
  req.ip = s->local_ip;
  req.port = s->local_port;
  req.backlog = bl;
  abi::AppResponse resp{};
  c.begin_listen();
  s->busy = true;
  int rc = request(*s, req, resp, g);
  s->busy = false;
  if (rc < 0) {
    c.end_listen(0, nullptr);
    return rc;
  }
  if (s->released) {
    c.end_listen(resp.id, nullptr);
    abi::AppRequest undo = make_request(abi::AppRequestKind::kUnlisten);
    undo.id = resp.id;
    c.defer(undo);
    return -EBADF;
  }
  s->state = SockState::kListening;
  s->listener_id = resp.id;
  s->local_port = resp.port;
  s->reserved = false;  // the reservation became the listener
  s->backlog = bl;
  c.end_listen(resp.id, s.get());
  notify(*s);
  return 0;
}

int Stack::accept(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  if (addr != nullptr && len == nullptr) return -EFAULT;
  if (addr != nullptr && static_cast<int>(*len) < 0) return -EINVAL;
  if (int rc = adopt(fd); rc < 0) return rc;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  declare_accepting(*s);
  Context& c = *s->ctx;
  Deadline dl = Deadline::after(s->opt.rcvtimeo);
  for (;;) {
    drain(c);
    if (int rc = unusable(*s); rc < 0) return rc;
    if (s->state != SockState::kListening) return -EINVAL;
    if (c.dead()) return -ENETDOWN;
    if (!s->accept_queue.empty()) break;
    if (s->nonblocking) return -EAGAIN;
    int w = block(
        g, c, dl,
        [&] { return !s->accept_queue.empty() || s->state != SockState::kListening || s->released; },
        Watch{s.get()});
    if (w == -ETIMEDOUT) return -EAGAIN;
    if (w < 0) return w;
  }
  std::shared_ptr<Socket> child = s->accept_queue.front();
  int nfd = new_placeholder(flags & SOCK_CLOEXEC);
  if (nfd < 0) return nfd;  // EMFILE: the connection stays queued, as in Linux
  s->accept_queue.pop_front();
  child->nonblocking = (flags & SOCK_NONBLOCK) != 0;
  install(nfd, child);
  inherit_keepalive(c, *s, *child);
  child->opt.max_pacing_rate = s->opt.max_pacing_rate;  // as Linux's accepted sockets
  c.publish_pacing_cap(*child);
  fill_sockaddr(child->family, addr, len, child->remote_ip, child->remote_port);
  abi::AppRequest ack = make_request(abi::AppRequestKind::kAcceptAck);
  ack.id = s->listener_id;
  c.defer(ack);  // sent by the guard once the lock is dropped, before accept() returns
  return nfd;
}

int Stack::connect(int fd, const struct sockaddr* addr, socklen_t len) {
  uint32_t ip = 0;
  uint16_t port = 0;
  if (int rc = parse_sockaddr(family_of(fd), addr, len, ip, port, -ENETUNREACH); rc < 0) return rc;
  if (int rc = adopt(fd); rc < 0) return rc;
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (int rc = unusable(*s); rc < 0) return rc;
  Context& c = *s->ctx;
  drain(c);
  switch (s->state) {
    case SockState::kConnected:
      if (s->connect_unreported) {  // a non-blocking connect finished: this call reports success
        s->connect_unreported = false;
        return 0;
      }
      return -EISCONN;
    case SockState::kListening:
    case SockState::kClaiming:
      return -EISCONN;
    case SockState::kConnecting:
      return s->nonblocking ? -EALREADY : connect_wait(g, s);
    case SockState::kFresh:
      if (s->connect_unreported) {  // a non-blocking connect failed: this call reports why
        s->connect_unreported = false;
        int e = s->so_error;
        s->so_error = 0;
        return -(e != 0 ? e : ECONNABORTED);
      }
      break;
  }
  if (s->busy) return -EALREADY;
  if (c.dead()) return -ENETDOWN;
  s->state = SockState::kConnecting;
  s->so_error = 0;
  s->cookie = c.add_cookie(*s);  // before the request: kConnected may beat the answer
  abi::AppRequest req = make_request(abi::AppRequestKind::kConnect);
  req.id = s->cookie;
  req.ip = ip;
  req.port = port;
  req.local_ip = s->local_ip;
  req.local_port = s->local_port;
  abi::AppResponse resp{};
  s->busy = true;
  int rc = request(*s, req, resp, g);
  s->busy = false;
  if (rc < 0) {
    c.drop_cookie(s->cookie);
    if (s->state == SockState::kConnecting) s->state = SockState::kFresh;
    return rc;
  }
  if (s->state == SockState::kConnecting) {
    s->local_ip = resp.ip;
    s->local_port = resp.port;
  }
  s->reserved = false;  // a bind() reservation now belongs to the connection
  if (s->nonblocking) return -EINPROGRESS;
  return connect_wait(g, s);
}

int Stack::connect_wait(Guard& g, const std::shared_ptr<Socket>& s) {
  Context& c = *s->ctx;
  // Linux bounds a blocking connect by SO_SNDTIMEO and then answers EINPROGRESS.
  Deadline dl = Deadline::after(s->opt.sndtimeo);
  for (;;) {
    drain(c);
    if (int rc = unusable(*s); rc < 0) return rc;
    if (s->state == SockState::kConnected) {
      s->connect_unreported = false;
      return 0;
    }
    if (s->state != SockState::kConnecting) {
      s->connect_unreported = false;
      int e = s->so_error;
      s->so_error = 0;
      return -(e != 0 ? e : ECONNABORTED);
    }
    int w = block(g, c, dl, [&] { return s->state != SockState::kConnecting || s->released; }, Watch{s.get()});
    if (w == -ETIMEDOUT) return -EINPROGRESS;
    if (w < 0) return w;
  }
}

void Stack::stop_listening(Socket& s) {
  Context& c = *s.ctx;
  c.remove_listener(s.listener_id);
  abi::AppRequest r = make_request(abi::AppRequestKind::kUnlisten);
  r.id = s.listener_id;
  c.defer(r);
  // Connections nobody accepted are ours (their kAccepted arrived): reset them.
  for (const std::shared_ptr<Socket>& child : s.accept_queue) {
    c.detach_flow(*child);
    child->released = true;
    abi::AppRequest a = make_request(abi::AppRequestKind::kAbort);
    a.slot = child->slot;
    a.gen = child->gen;
    c.defer(a);
  }
  s.accept_queue.clear();
  s.state = SockState::kFresh;
  s.reserved = false;
  notify(s);
}

int Stack::shutdown(int fd, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  bool rd = how != SHUT_WR;
  bool wr = how != SHUT_RD;
  return claiming(fd, [&] { return shutdown_once(fd, rd, wr); });
}

int Stack::shutdown_once(int fd, bool rd, bool wr) {
  Guard g(*this);
  std::shared_ptr<Socket> s = lookup(fd);
  if (!s) return -EBADF;
  if (s->taken) return kClaimAgain;  // taken after adopt() looked
  if (int rc = unusable(*s); rc < 0) return rc;
  Context& c = *s->ctx;
  drain(c);
  if (s->taken) return kClaimAgain;  // the FIN (or SHUT_RD) applies to it once it is ours again
  switch (s->state) {
    case SockState::kListening:
      if (rd) stop_listening(*s);  // wakes threads blocked in accept() (EINVAL), as Linux does
      return 0;
    case SockState::kConnecting:
      c.orphan_cookie(s->cookie);
      s->state = SockState::kFresh;
      notify(*s);
      return 0;
    case SockState::kFresh:
      s->shut_rd = s->shut_rd || rd;
      notify(*s);
      return -ENOTCONN;
    case SockState::kClaiming:  // the FIN is queued once the connection is ours (on_adopted)
      s->shut_rd = s->shut_rd || rd;
      s->shut_wr = s->shut_wr || wr;
      notify(*s);
      return 0;
    case SockState::kConnected:
      break;
  }
  c.refresh(*s);
  if (wr && !s->shut_wr && !s->failed && !s->fin_queued) {
    SlotWork busy(*s);
    if (!busy.ok()) {
      lost_slot(*s);
      return kClaimAgain;
    }
    c.push_cmd(*s, abi::AppCmdKind::kTxFin);
    s->fin_queued = true;
  }
  if (rd) s->shut_rd = true;
  if (wr) s->shut_wr = true;
  notify(*s);
  return (s->failed || s->closed_by_stack) ? -ENOTCONN : 0;
}

}  // namespace virtuoso::shim

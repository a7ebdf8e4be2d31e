// fork() and the sockets a child inherits: the child's own context, listeners shared with the
// parent (kInherit + kShareListener), and telling the daemon which process accepts (kAccepting).
//
// The parent's context is its own: a child must never push to its queues (single producer). So
// the child registers a context of its own the first time it uses an inherited socket, proves its
// descent with the parent's region memfd, and joins the parent's listener: the daemon then gives
// each new connection to one of the processes accepting on the port. An inherited established
// connection stays the parent's: in the child it fails with EOPNOTSUPP (close is harmless).
#include <errno.h>

#include "stack.hpp"

namespace virtuoso::shim {
namespace {

abi::AppRequest make_request(abi::AppRequestKind kind) {
  abi::AppRequest r{};
  r.kind = static_cast<uint32_t>(kind);
  return r;
}

}  // namespace

void Stack::fork_parent() {
  // Listeners may now be shared with the child: from here on the daemon must hear which of the
  // processes accept. A listener already in an epoll set is being accepted on.
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    if (s->inherited || s->released) return;
    s->forked = true;  // also kept open at exit: the child may hold it (see close_all_at_exit)
    if (s->state != SockState::kListening) return;
    s->accept_declared = false;
    if (!s->watches.empty()) declare_accepting(*s);
  });
  mu_.unlock();
  attach_mu_.unlock();
  adopt_mu_.unlock();
}

void Stack::fork_child() {
  mu_.unlock();
  attach_mu_.unlock();
  adopt_mu_.unlock();
  // The locks were held across fork(), so the state is whole; the flows stay the parent's.
  std::lock_guard<std::mutex> lk(mu_);
  fds_.for_each([](int, std::shared_ptr<Socket>& s) {
    s->inherited = true;
    s->accept_queue.clear();  // connections the parent was told of: the parent's to accept
  });
  inherited_any_.store(true, std::memory_order_relaxed);
  if (ctx_) {
    // The parent's doorbells go; its region memfd and link stay (marked internal, so that an
    // app closing "every descriptor" cannot close them) until the last inherited socket goes.
    FdTable* fds = &fds_;
    for (int fd : ctx_->abandon([fds](const std::vector<int>& kept) {
           for (int fd : kept) fds->unmark_internal(fd);
         })) {
      fds_.unmark_internal(fd);
    }
    abandoned_.push_back(ctx_);
    ctx_.reset();  // the last inherited socket of it destroys it
  }
  // Kick descriptors are eventfds shared with the parent: writing one would wake its threads.
  for (int fd : kick_pool_) {
    fds_.unmark_internal(fd);
    k_.close(fd);
  }
  kick_pool_.clear();
}

void Stack::declare_accepting(Socket& s) {
  if (!s.forked || s.accept_declared || s.state != SockState::kListening) return;
  s.accept_declared = true;
  abi::AppRequest r = make_request(abi::AppRequestKind::kAccepting);
  r.id = s.listener_id;
  s.ctx->defer(r);
}

int Stack::adopt_fds(const int* fds, size_t n, size_t stride) {
  if (!inherited_any_.load(std::memory_order_relaxed)) return 0;
  for (size_t i = 0; i < n; ++i) {
    int fd = *reinterpret_cast<const int*>(reinterpret_cast<const char*>(fds) + i * stride);
    if (fd < 0 || !is_socket(fd)) continue;
    if (int rc = adopt(fd); rc < 0) return rc;
  }
  return 0;
}

// Makes inherited socket `fd` this process's own, if it can be: 0 (also when there is nothing to
// do, or when it stays the parent's and the call will say EOPNOTSUPP), or -errno.
int Stack::adopt(int fd) {
  if (!inherited_any_.load(std::memory_order_relaxed)) return 0;
  std::lock_guard<std::mutex> adopt_lk(adopt_mu_);  // one adoption at a time; before mu_
  std::shared_ptr<Socket> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    s = lookup(fd);
    if (!s || !s->inherited || s->released) return 0;
    bool fresh_unbound = s->state == SockState::kFresh && !s->reserved;
    if (!fresh_unbound && s->state != SockState::kListening) return 0;
  }
  std::shared_ptr<Context> own;
  if (int rc = ensure_context(own); rc < 0) return rc;
  Guard g(*this);
  if (!s->inherited || s->released) return 0;
  if (s->state == SockState::kFresh) {  // nothing of it lives in the daemon yet
    s->ctx = own;
    s->inherited = false;
    return 0;
  }
  std::shared_ptr<Context> parent = s->ctx;
  if (!own->inherits_from(parent->ctx_id())) {
    abi::AppRequest req = make_request(abi::AppRequestKind::kInherit);
    abi::AppResponse resp{};
    g.unlock();
    int rc = own->call_with_fd(req, resp, parent->region_fd());
    g.lock();
    if (rc < 0) return rc;
    if (resp.error != 0) return -(resp.error == ESRCH ? EBADF : resp.error);  // the parent's context is gone
    own->add_inherited(parent->ctx_id());
  }
  abi::AppRequest req = make_request(abi::AppRequestKind::kShareListener);
  req.id = s->listener_id;
  req.backlog = s->backlog;
  abi::AppResponse resp{};
  own->begin_listen();  // kAccepted for the new listener may come before the answer
  g.unlock();
  int rc = own->request(req, resp);
  g.lock();
  if (rc == 0 && resp.error != 0) rc = -((resp.error > 0 && resp.error < 4096) ? resp.error : EIO);
  if (rc < 0) {
    own->end_listen(0, nullptr);
    return rc == -EINVAL ? -EBADF : rc;  // the parent closed it before we joined
  }
  if (s->released) {
    own->end_listen(resp.id, nullptr);
    abi::AppRequest undo = make_request(abi::AppRequestKind::kUnlisten);
    undo.id = resp.id;
    own->defer(undo);
    return 0;
  }
  s->ctx = own;
  s->inherited = false;
  s->listener_id = resp.id;
  s->forked = false;
  own->end_listen(resp.id, s.get());
  notify(*s);
  return 0;
}

}  // namespace virtuoso::shim

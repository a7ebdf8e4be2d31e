// fork(): the hold link a parent asks the daemon for before forking, what the child makes of the
// state it inherits, and the child passing the hold on to its own context (kInherit).
//
// Each process holding a descriptor holds a reference on what it names, as Linux counts file
// references: the daemon ends a connection (FIN) or closes a listener when the last holder lets
// go. Before fork() the parent asks for a hold link (kForkHold): a descriptor holding a reference
// on everything the parent holds, for the child alone (the parent closes its copy). The child
// registers a context of its own when it first needs one and passes the link on with kInherit; a
// child that exits or execs before that closes the link, and the daemon drops the references.
// The parent's context stays the parent's: the child never touches its queues or its link.
#include <errno.h>

#include <unordered_set>

#include "stack.hpp"

namespace virtuoso::shim {
namespace {

// The daemon has a record of it that a child can hold a reference on.
bool in_daemon(const Socket& s) {
  return s.state == SockState::kListening || s.state == SockState::kConnected ||
         s.state == SockState::kClaiming;
}

}  // namespace

bool Stack::daemon_holds_anything() {
  bool any = false;
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    any = any || (!s->released && in_daemon(*s) && (!s->inherited || holds_refs_ || s->taken));
  });
  return any;
}

// attach_mu_ held (the hold link and ctx_ cannot be replaced meanwhile), not the stack lock.
int Stack::take_fork_hold() {
  std::shared_ptr<Context> ctx;
  std::vector<Context::Deferred> ctx_list;
  std::vector<abi::AppRequest> hold_list;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!daemon_holds_anything()) return -1;
    if (ctx_ && !ctx_->dead() && !ctx_->link_broken()) {
      ctx = ctx_;
      ctx_list = ctx->take_deferred();
    } else if (!hold_) {
      return -1;  // no link to ask on: the child cannot use what it inherits
    }
    hold_list.swap(hold_deferred_);
  }
  // Closes and drops first: the child's hold must not cover what this process already let go of.
  if (!ctx_list.empty()) send_deferred(ctx, ctx_list);
  abi::AppResponse resp{};
  for (abi::AppRequest& r : hold_list) {
    if (hold_) hold_->call(r, resp);
  }
  abi::AppRequest req = make_request(abi::AppRequestKind::kForkHold);
  int fd = -1;
  int rc = ctx ? ctx->call_receiving_fd(req, resp, fd) : hold_->call_receiving_fd(req, resp, fd);
  if (rc == 0 && resp.error == 0 && fd >= 0) return fd;
  if (fd >= 0) k_.close(fd);
  return -1;
}

void Stack::fork_prepare() {
  adopt_mu_.lock();  // adopt_mu_, attach_mu_, then mu_, as everywhere
  attach_mu_.lock();
  int hold = take_fork_hold();  // a round trip to the daemon: before the stack lock
  mu_.lock();
  fork_hold_fd_ = hold;
  // Connections the daemon announced before it answered are in our queues now, so the child knows
  // every queued one the hold covers (it gives them back, see inherit_on_fork).
  if (hold >= 0 && ctx_ && !ctx_->dead()) drain(*ctx_);
}

void Stack::fork_parent() {
  bool held = fork_hold_fd_ >= 0;
  if (held) k_.close(fork_hold_fd_);  // the child's: only its copy stays open
  fork_hold_fd_ = -1;
  // With a hold, the child may share what this process holds: a connection's end is now the
  // daemon's decision (kCloseShared), and it must hear which processes accept on a listener.
  // A listener already in an epoll set is being accepted on.
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    if (!held || s->inherited || s->released || !in_daemon(*s)) return;
    s->forked = true;
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
  // The locks were held across fork(), so the state is whole.
  std::lock_guard<std::mutex> lk(mu_);
  // A hold link this process had from its own parent holds that process's references, not ours;
  // so do the requests queued for it.
  close_hold();
  hold_deferred_.clear();
  holds_refs_ = fork_hold_fd_ >= 0;
  inherit_refused_ = EBADF;
  if (holds_refs_) {
    hold_fd_ = fork_hold_fd_;
    hold_ = hold_factory_(k_, hold_fd_);
    fds_.mark_internal(hold_fd_);  // an app closing "every descriptor" must not drop it
  }
  fork_hold_fd_ = -1;
  std::unordered_set<Socket*> seen;  // dup()ed descriptors name one socket
  fds_.for_each([&](int, std::shared_ptr<Socket>& s) {
    if (seen.insert(s.get()).second) inherit_on_fork(*s);
  });
  to_adopt_.store(static_cast<uint32_t>(seen.size()), std::memory_order_relaxed);
  expose_on_fork();  // an exec may keep some of them: their names, and the hold for the new program
  if (ctx_) {
    // The parent's link, doorbells and mapping: the parent's. Its Context object stays, empty,
    // as long as inherited sockets name it.
    for (int fd : ctx_->abandon()) fds_.unmark_internal(fd);
    ctx_.reset();
  }
  // The epoll sets' kernel instances hold the parent's doorbell: register ours on the next wait
  // (the Context address alone could be reused by our own context).
  for (auto& [epfd, set] : epolls_) set->registered_ctx = nullptr;
  // Kick descriptors are eventfds shared with the parent: writing one would wake its threads.
  for (int fd : kick_pool_) {
    fds_.unmark_internal(fd);
    k_.close(fd);
  }
  kick_pool_.clear();
}

void Stack::inherit_on_fork(Socket& s) {
  // Connections announced to the parent but not accepted are the parent's to accept: give back
  // the references the hold took on them.
  for (const std::shared_ptr<Socket>& c : s.accept_queue) {
    if (!holds_refs_) break;
    abi::AppRequest r = make_request(abi::AppRequestKind::kDropHold);
    r.ctx = c->ctx->ctx_id();
    r.slot = c->slot;
    r.gen = c->gen;
    queue_hold_request(r);
  }
  s.accept_queue.clear();
  // A connection is claimed and given back by its addresses: by the time the child uses it, the
  // parent's slot may be gone (a sibling took it). One taken from the parent: the parent's
  // context holds that reference, the hold link one for us.
  if (s.state == SockState::kConnected || s.state == SockState::kClaiming) s.by_tuple = true;
  s.taken = false;
  if (s.state == SockState::kClaiming) {
    s.state = SockState::kConnected;  // still where flow_ctx, slot and gen say: claimed again here
  } else if (!s.inherited) {
    s.flow_ctx = s.ctx->ctx_id();
  }
  s.inherited = true;
}

void Stack::pass_hold(Context& fresh, const abi::AppResponse& inherit) {
  if (inherit.error == 0) {
    for (const abi::AppRequest& r : hold_deferred_) fresh.defer(r);  // the context takes them now
  } else {
    // Refused: the inherited sockets cannot be used (EACCES: this process is another tenant's
    // app than its parent; else EBADF).
    holds_refs_ = false;
    inherit_refused_ = inherit.error == EACCES ? EACCES : EBADF;
  }
  hold_deferred_.clear();
  close_hold();  // its references are the context's now (or dropped with the link)
}

void Stack::close_hold() {
  unexpose_hold();
  if (hold_fd_ >= 0) fds_.unmark_internal(hold_fd_);
  hold_.reset();  // closes the descriptor
  hold_fd_ = -1;
}

void Stack::queue_hold_request(const abi::AppRequest& r) {
  if (hold_) {
    hold_deferred_.push_back(r);
  } else if (ctx_ && !ctx_->dead()) {
    ctx_->defer(r);
  }
}

void Stack::send_hold_deferred() {
  std::lock_guard<std::mutex> attach_lk(attach_mu_);  // the hold link stays while we use it
  std::vector<abi::AppRequest> list;
  {
    std::lock_guard<std::mutex> lk(mu_);
    list.swap(hold_deferred_);
  }
  if (!hold_) return;  // passed on with kInherit meanwhile: the context took them
  for (abi::AppRequest& r : list) {
    abi::AppResponse resp{};
    hold_->call(r, resp);  // nobody is left to tell about a failure
  }
}

}  // namespace virtuoso::shim

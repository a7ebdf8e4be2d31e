// Sockets a fork() child inherited, made its own on first use: a listener joins the parent's
// (kShareListener), a connection moves into the child's context (kClaim, completed by kAdopted),
// one closed unused gives its reference back (kDropHold); and a parent that forked telling the
// daemon when it accepts (kAccepting).
//
// A claimed connection moves as soon as the app owning it is not working on it (FlowSlot::app_busy):
// the daemon takes it from that app, which keeps a reference and claims it back (by addresses)
// when it uses it again. Until it arrives it is neither readable nor writable here. A connection is
// used by one process at a time.
#include <errno.h>

#include "stack.hpp"

namespace virtuoso::shim {
namespace {

int answer_error(int rc, const abi::AppResponse& resp) {
  if (rc < 0) return -rc;
  return resp.error == 0 ? 0 : (resp.error > 0 && resp.error < 4096) ? resp.error : EIO;
}

// Names connection `s` by its addresses in a kClaim or kDropHold (slot kClaimByTuple).
void name_by_tuple(abi::AppRequest& r, const Socket& s) {
  r.slot = abi::kClaimByTuple;
  r.local_ip = s.local_ip != 0 ? s.local_ip : s.ctx->local_ip();  // a connection's: the stack's own
  r.local_port = s.local_port;
  r.ip = s.remote_ip;
  r.port = s.remote_port;
}

}  // namespace

void Stack::declare_accepting(Socket& s) {
  if (!s.forked || s.accept_declared || s.state != SockState::kListening) return;
  s.accept_declared = true;
  abi::AppRequest r = make_request(abi::AppRequestKind::kAccepting);
  r.id = s.listener_id;
  s.ctx->defer(r);
}

void Stack::settle(Socket& s) {
  if (!s.inherited) return;
  s.inherited = false;
  if (s.unadoptable == 0) to_adopt_.fetch_sub(1, std::memory_order_relaxed);
}

// An inherited socket that can never become this process's (the parent's bound or connecting
// socket, or no hold to claim it with): it stays inherited, its calls fail, and it no longer
// keeps every other call on the adoption path.
void Stack::give_up(Socket& s, int err) {
  if (!s.inherited || s.unadoptable != 0) return;
  s.unadoptable = err;
  to_adopt_.fetch_sub(1, std::memory_order_relaxed);
}

void Stack::lost_slot(Socket& s) {
  Context& c = *s.ctx;
  c.lose_slot(s);
  to_adopt_.fetch_add(1, std::memory_order_relaxed);
  notify(s);
}

void Stack::drop_inherited(const Socket& s) {
  abi::AppRequest r = make_request(abi::AppRequestKind::kDropHold);
  if (s.taken) {  // our context holds the reference the take left us
    name_by_tuple(r, s);
    s.ctx->defer(r);
    return;
  }
  if (!holds_refs_) return;  // the daemon counts no reference of ours
  if (s.state == SockState::kListening) {
    r.id = s.listener_id;
  } else if (s.state == SockState::kConnected && s.by_tuple) {
    name_by_tuple(r, s);  // it may have moved since the name or the take we know it by
  } else if (s.state == SockState::kConnected) {
    r.ctx = s.flow_ctx;
    r.slot = s.slot;
    r.gen = s.gen;
  } else {
    return;  // bound or connecting when the parent forked: nothing the hold covers
  }
  queue_hold_request(r);
}

int Stack::adopt_fds(const int* fds, size_t n, size_t stride) {
  if (to_adopt_.load(std::memory_order_relaxed) == 0) return 0;
  for (size_t i = 0; i < n; ++i) {
    int fd = *reinterpret_cast<const int*>(reinterpret_cast<const char*>(fds) + i * stride);
    if (fd < 0 || !is_socket(fd)) continue;
    if (int rc = adopt(fd); rc < 0) return rc;
  }
  return 0;
}

// Makes inherited socket `fd` this process's own: 0 (also when there is nothing to do, or when it
// cannot be and the call will say EOPNOTSUPP), or -errno. A claimed connection is kClaiming on
// return; a claim the daemon refused leaves it failed with the daemon's error.
int Stack::adopt(int fd) {
  if (to_adopt_.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard<std::mutex> adopt_lk(adopt_mu_);  // one adoption at a time; before mu_
  std::shared_ptr<Socket> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    s = lookup(fd);
    if (!s || !s->inherited || s->released) return 0;
    bool fresh_unbound = s->state == SockState::kFresh && !s->reserved;
    if (!fresh_unbound && s->state != SockState::kListening && s->state != SockState::kConnected) {
      give_up(*s, EOPNOTSUPP);
      return 0;  // bound or connecting when the parent forked: the parent's
    }
    if (!fresh_unbound && !holds_refs_ && !s->taken) {
      // The parent got no hold for us, the daemon refused it, or VIRTUOSO_HOLD_FD named none:
      // nothing to register a context for.
      if (s->came_through_exec) report_exec_problem();
      give_up(*s, inherit_refused_);
      return -inherit_refused_;
    }
  }
  std::shared_ptr<Context> own;
  if (int rc = ensure_context(own); rc < 0) return rc;  // registers, then kInherit
  Guard g(*this);
  if (!s->inherited || s->released) return 0;
  if (s->state == SockState::kFresh) {  // nothing of it lives in the daemon yet
    s->ctx = own;
    s->forked = false;
    settle(*s);
    return 0;
  }
  if (!holds_refs_ && !s->taken) {  // the daemon refused the hold in kInherit just now
    give_up(*s, inherit_refused_);
    return -inherit_refused_;
  }
  return s->state == SockState::kListening ? share_listener(g, s, own) : claim(g, s, own);
}

int Stack::share_listener(Guard& g, const std::shared_ptr<Socket>& s,
                          const std::shared_ptr<Context>& own) {
  abi::AppRequest req = make_request(abi::AppRequestKind::kShareListener);
  req.id = s->listener_id;
  req.backlog = s->backlog;
  abi::AppResponse resp{};
  own->begin_listen();  // kAccepted for the new listener may come before the answer
  g.unlock();
  int rc = own->request(req, resp);
  g.lock();
  if (int e = answer_error(rc, resp); e != 0) {
    own->end_listen(0, nullptr);
    return -e;
  }
  if (s->released) {  // closed meanwhile (its kDropHold finds the reference used up)
    own->end_listen(resp.id, nullptr);
    abi::AppRequest undo = make_request(abi::AppRequestKind::kUnlisten);
    undo.id = resp.id;
    own->defer(undo);
    return 0;
  }
  s->ctx = own;
  settle(*s);
  s->listener_id = resp.id;
  s->forked = false;  // our own listener record on the port
  own->end_listen(resp.id, s.get());
  notify(*s);
  return 0;
}

int Stack::claim(Guard& g, const std::shared_ptr<Socket>& s, const std::shared_ptr<Context>& own) {
  abi::AppRequest req = make_request(abi::AppRequestKind::kClaim);
  if (s->by_tuple) {
    // Its addresses are all that stays true: it may have moved since the name was made, or since
    // it was taken from us.
    name_by_tuple(req, *s);
  } else {
    req.ctx = s->flow_ctx;
    req.slot = s->slot;
    req.gen = s->gen;
  }
  s->taken = false;  // the claim uses the reference up, whatever the answer
  s->ctx = own;
  s->state = SockState::kClaiming;
  s->cookie = own->add_cookie(*s);  // before the request: kAdopted may beat the answer
  req.id = s->cookie;
  settle(*s);
  abi::AppResponse resp{};
  g.unlock();
  int rc = own->request(req, resp);
  g.lock();
  if (int e = answer_error(rc, resp); e != 0) {
    own->drop_cookie(req.id);  // no kAdopted will come
    if (s->state == SockState::kClaiming) {
      s->fail_claim(e);
      notify(*s);
    }
  }
  return 0;
}

}  // namespace virtuoso::shim

// Applying the daemon's queue entries to the sockets, and queueing commands to the fast path.
#include "context.hpp"

#include <errno.h>

#include <algorithm>

#include "epoll_set.hpp"
#include "flow_rings.hpp"
#include "shared_slot.hpp"
#include "stack_keepalive.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {
namespace {

// An errno value from shared memory or a daemon message, or `fallback` if it is not one.
int sane_errno(int32_t e, int fallback) { return (e > 0 && e < 4096) ? e : fallback; }

}  // namespace

Context::Context(const KernelOps& k, Params p)
    : k_(k),
      p_(std::move(p)),
      hub_(k_, p_.view.header(), p_.app_doorbell,
           p_.channel ? p_.channel->hangup_fd() : -1),
      slots_(p_.view.layout.n_slots, nullptr) {}

Context::~Context() {
  p_.channel.reset();
  if (p_.release) p_.release();
}

std::shared_ptr<Context> Context::detached(const KernelOps& k) {
  auto c = std::make_shared<Context>(k, Params{});
  c->abandon();
  return c;
}

void Context::mark_dead() {
  if (dead_) return;
  dead_ = true;
  for (Socket* s : slots_) {
    if (s == nullptr) continue;
    s->fail(ECONNRESET);
    touch(*s);
  }
  for (auto& [cookie, s] : cookies_) {
    if (s != nullptr && s->state == SockState::kClaiming) {
      s->fail_claim(ECONNRESET);
      touch(*s);
    }
    if (s == nullptr || s->state != SockState::kConnecting) continue;
    s->state = SockState::kFresh;
    s->so_error = ENETDOWN;
    s->connect_unreported = true;
    ++s->tx_seq;
    touch(*s);
  }
  cookies_.clear();
  for (auto& [id, s] : listeners_) touch(*s);
  pending_cmds_.clear();
  hub_.kick_all(nullptr);
}

void Context::push_cmd(const Socket& s, abi::AppCmdKind kind) {
  if (dead_) return;
  abi::AppCmd cmd{s.slot, s.gen, static_cast<uint16_t>(kind), 0, 0};
  if (pending_cmds_.empty() && p_.view.atx().try_push(cmd)) {
    fp_ring_due_ = true;
    ring_fast_path();
    return;
  }
  ++counters_.cmds_deferred;
  // Commands are "look at slot S again": an identical one still waiting covers this one, since
  // the positions it refers to are already published.
  auto same = [&](const abi::AppCmd& c) {
    return c.slot == cmd.slot && c.gen == cmd.gen && c.kind == cmd.kind;
  };
  if (std::find_if(pending_cmds_.begin(), pending_cmds_.end(), same) == pending_cmds_.end()) {
    pending_cmds_.push_back(cmd);
  }
  flush_cmds();
}

bool Context::flush_cmds() {
  auto atx = p_.view.atx();
  while (!pending_cmds_.empty() && atx.try_push(pending_cmds_.front())) {
    pending_cmds_.pop_front();
    fp_ring_due_ = true;
  }
  ring_fast_path();
  return pending_cmds_.empty();
}

bool Context::cmds_pending_for(uint32_t slot, uint32_t gen) const {
  return std::any_of(pending_cmds_.begin(), pending_cmds_.end(),
                     [&](const abi::AppCmd& c) { return c.slot == slot && c.gen == gen; });
}

void Context::ring_fast_path() {
  if (!fp_ring_due_) return;
  fp_ring_due_ = false;
  shm::full_fence();  // our pushes before its flag: it sets the flag, then re-checks the queue
  if (shm::load_relaxed(p_.view.header()->fp_sleeping) != 0) ring_eventfd(k_, p_.fp_doorbell);
}

bool Context::drain() {
  if (link_broken() && !dead_) mark_dead();
  if (dead_) return false;
  bool changed = false;
  abi::AppRegionHeader* h = p_.view.header();
  if (shm::load_acquire(h->arx_overflow) != 0) {
    // Cleared before the rescan, so an overflow during the rescan is seen next time.
    shm::store_seq_cst(h->arx_overflow, uint32_t{0});
    rescan_all();
    changed = true;
  }
  auto arx = p_.view.arx();
  abi::AppEvent ev;
  for (uint32_t budget = 2 * arx.capacity(); budget > 0; --budget) {
    shm::PopResult r = arx.try_pop(ev);
    if (r == shm::PopResult::kEmpty) break;
    if (r == shm::PopResult::kCorrupt) {
      mark_dead();
      return true;
    }
    on_app_event(ev);
    changed = true;
  }
  auto ctl = p_.view.ctl();
  abi::CtlEvent cev;
  for (uint32_t budget = 2 * ctl.capacity(); budget > 0; --budget) {
    shm::PopResult r = ctl.try_pop(cev);
    if (r == shm::PopResult::kEmpty) break;
    if (r == shm::PopResult::kCorrupt) {
      mark_dead();
      return true;
    }
    on_ctl_event(cev);
    changed = true;
  }
  if (!pending_cmds_.empty()) flush_cmds();
  return changed;
}

void Context::refresh(Socket& s) const {
  if (s.state != SockState::kConnected || s.failed) return;
  const abi::FlowSlot& fs = flow_slot(s.slot);
  // A shared connection's slot may have been taken and given to another flow since we drained:
  // its positions say nothing about ours (the next step on the slot finds out it was taken).
  if (s.forked && shm::load_acquire(fs.gen) != s.gen) return;
  const abi::AppLayout& l = p_.view.layout;
  if (rx_readable(fs, s.rx_tail, l.rx_size) < 0 || tx_in_flight(fs, s.tx_head, l.tx_size) < 0) {
    s.rings_bad = true;
    s.fail(EIO);
    return;
  }
  uint32_t err = shm::load_acquire(fs.error);
  if (err != 0) s.fail(sane_errno(static_cast<int32_t>(err), EIO));
}

Socket* Context::socket_for(uint32_t slot, uint32_t gen) {
  if (slot >= slots_.size()) {
    ++counters_.bad_events;
    return nullptr;
  }
  Socket* s = slots_[slot];
  if (s == nullptr || s->gen != gen) {
    ++counters_.stale_events;
    return nullptr;
  }
  return s;
}

bool Context::slot_free(uint32_t slot) const {
  return slot < slots_.size() && slots_[slot] == nullptr;
}

void Context::on_app_event(const abi::AppEvent& ev) {
  Socket* s = socket_for(ev.slot, ev.gen);
  if (s == nullptr) return;
  switch (static_cast<abi::AppEventKind>(ev.kind)) {
    case abi::AppEventKind::kRxData:
    case abi::AppEventKind::kPeerFin:
      ++s->rx_seq;
      break;
    case abi::AppEventKind::kTxSpace:
      if (s->tx_full_seen) ++s->tx_seq;  // an EPOLLOUT edge only if a writer ran out of room
      break;
    case abi::AppEventKind::kError:
      refresh(*s);
      s->fail(EIO);  // no-op if refresh found the reason in FlowSlot::error
      break;
    default:
      ++counters_.bad_events;
      return;
  }
  touch(*s);
}

void Context::on_ctl_event(const abi::CtlEvent& ev) {
  switch (static_cast<abi::CtlEventKind>(ev.kind)) {
    case abi::CtlEventKind::kAccepted:
      on_accepted(ev);
      return;
    case abi::CtlEventKind::kConnected:
      on_connected(ev);
      return;
    case abi::CtlEventKind::kConnectFailed:
      on_connect_failed(ev);
      return;
    case abi::CtlEventKind::kAdopted:
      on_adopted(ev);
      return;
    case abi::CtlEventKind::kTaken:
      on_taken(ev);
      return;
    case abi::CtlEventKind::kReset:
      if (Socket* s = socket_for(ev.slot, ev.gen)) {
        s->fail(sane_errno(ev.error, ECONNRESET));
        touch(*s);
      }
      return;
    case abi::CtlEventKind::kClosed:
      if (Socket* s = socket_for(ev.slot, ev.gen)) {
        s->closed_by_stack = true;
        ++s->rx_seq;
        ++s->tx_seq;
        touch(*s);
      }
      return;
  }
  ++counters_.bad_events;
}

std::shared_ptr<Socket> Context::make_accepted(const abi::CtlEvent& ev) {
  auto child = std::make_shared<Socket>(shared_from_this());
  child->state = SockState::kConnected;
  child->slot = ev.slot;
  child->gen = ev.gen;
  child->local_ip = ev.local_ip;
  child->local_port = ev.local_port;
  child->remote_ip = ev.remote_ip;
  child->remote_port = ev.remote_port;
  child->mss = ev.mss;
  attach_flow(*child);
  return child;
}

void Context::on_accepted(const abi::CtlEvent& ev) {
  if (!slot_free(ev.slot)) {
    ++counters_.bad_events;
    return;
  }
  auto it = listeners_.find(ev.id);
  if (it == listeners_.end()) {
    // Either its kListen answer has not been read yet, or the listener is gone.
    if (listens_in_flight_ > 0) {
      parked_accepts_.push_back(ev);
    } else {
      release_later(abi::AppRequestKind::kAbort, ev.slot, ev.gen);
    }
    return;
  }
  Socket* listener = it->second;
  listener->accept_queue.push_back(make_accepted(ev));
  listener->accept_queue.back()->family = listener->family;  // accepted on [::]: shown v4-mapped
  ++listener->rx_seq;
  touch(*listener);
}

void Context::on_connected(const abi::CtlEvent& ev) {
  auto it = cookies_.find(ev.id);
  Socket* s = it == cookies_.end() ? nullptr : it->second;
  if (it != cookies_.end()) cookies_.erase(it);
  if (!slot_free(ev.slot)) {
    ++counters_.bad_events;
    if (s != nullptr) {
      s->state = SockState::kFresh;
      s->so_error = EIO;
      s->connect_unreported = true;
      touch(*s);
    }
    return;
  }
  if (s == nullptr || s->state != SockState::kConnecting) {
    release_later(abi::AppRequestKind::kAbort, ev.slot, ev.gen);  // nobody wants this connection any more
    return;
  }
  s->state = SockState::kConnected;
  s->slot = ev.slot;
  s->gen = ev.gen;
  s->local_ip = ev.local_ip;
  s->local_port = ev.local_port;
  s->remote_ip = ev.remote_ip;
  s->remote_port = ev.remote_port;
  s->mss = ev.mss;
  s->connect_unreported = true;
  attach_flow(*s);
  keepalive_on_open(*this, *s);
  ++s->rx_seq;
  ++s->tx_seq;
  touch(*s);
}

bool Context::take_cookie(uint32_t cookie, Socket*& s) {
  auto it = cookies_.find(cookie);
  if (it == cookies_.end()) {
    ++counters_.stale_events;
    return false;
  }
  s = it->second;
  cookies_.erase(it);
  return true;
}

void Context::on_connect_failed(const abi::CtlEvent& ev) {
  Socket* s = nullptr;
  if (!take_cookie(ev.id, s)) return;
  if (s == nullptr || s->state != SockState::kConnecting) return;
  s->state = SockState::kFresh;
  s->so_error = sane_errno(ev.error, ECONNREFUSED);
  s->connect_unreported = true;
  ++s->rx_seq;
  ++s->tx_seq;
  touch(*s);
}

void Context::on_adopted(const abi::CtlEvent& ev) {
  Socket* s = nullptr;
  if (!take_cookie(ev.id, s)) return;
  if (ev.error != 0) {
    if (s != nullptr && s->state == SockState::kClaiming) {
      s->fail_claim(sane_errno(ev.error, ECONNRESET));
      touch(*s);
    }
    return;
  }
  if (!slot_free(ev.slot)) {
    ++counters_.bad_events;
    if (s != nullptr && s->state == SockState::kClaiming) {
      s->fail_claim(EIO);
      touch(*s);
    }
    return;
  }
  if (s == nullptr || s->state != SockState::kClaiming) {
    release_later(abi::AppRequestKind::kClose, ev.slot, ev.gen, abi::kCloseShared);  // closed while the claim waited: let go of it now
    return;
  }
  s->state = SockState::kConnected;
  s->slot = ev.slot;
  s->gen = ev.gen;
  if (ev.mss != 0) s->mss = ev.mss;
  s->forked = true;  // the parent or a sibling may still hold it
  attach_flow(*s);   // the positions the parent left: rings were copied, positions preserved
  if (s->shut_wr && !s->fin_queued) {  // shutdown(SHUT_WR) while the claim waited
    SlotWork busy(*s);
    if (busy.ok()) {  // else taken again already: the FIN goes once it is claimed back
      push_cmd(*s, abi::AppCmdKind::kTxFin);
      s->fin_queued = true;
    }
  }
  keepalive_on_open(*this, *s);
  ++s->rx_seq;
  ++s->tx_seq;
  touch(*s);
}

void Context::on_taken(const abi::CtlEvent& ev) {
  // It comes before any later event re-using the slot, so slot/gen still name our socket, unless
  // a call already found app_busy taken and let the slot go.
  Socket* s = socket_for(ev.slot, ev.gen);
  if (s == nullptr || s->state != SockState::kConnected) return;
  lose_slot(*s);
  ++newly_taken_;
}

void Context::lose_slot(Socket& s) {
  detach_flow(s);
  s.taken = true;
  s.by_tuple = true;
  s.inherited = true;  // what an inherited connection is: held, not ours, claimed on use
  ++s.rx_seq;  // watchers and sleepers re-evaluate it (and claim it)
  ++s.tx_seq;
  touch(s);
}

void Context::release_later(abi::AppRequestKind kind, uint32_t slot, uint32_t gen, uint32_t flags) {
  abi::AppRequest r = make_request(kind);
  r.slot = slot;
  r.gen = gen;
  r.flags = flags;
  defer(r);
}

void Context::attach_flow(Socket& s) {
  slots_[s.slot] = &s;
  const abi::FlowSlot& fs = flow_slot(s.slot);
  // The slow path initialised the positions before announcing the flow.
  s.rx_tail = shm::load_relaxed(fs.rx_tail);
  s.tx_head = shm::load_relaxed(fs.tx_head);
  s.waiting = shm::load_relaxed(fs.app_waiting);
  publish_pacing_cap(s);
}

void Context::publish_pacing_cap(const Socket& s) {
  if (s.state != SockState::kConnected || s.slot >= slots_.size() || slots_[s.slot] != &s) return;
  // 0 in the slot: no cap. A cap of 0 bytes a second would stop the flow for good: 1 is the least.
  uint64_t cap = s.opt.max_pacing_rate == UINT64_MAX ? 0 : std::max<uint64_t>(s.opt.max_pacing_rate, 1);
  shm::store_relaxed(flow_slot(s.slot).max_pacing_rate, cap);
}

void Context::detach_flow(const Socket& s) {
  if (s.slot < slots_.size() && slots_[s.slot] == &s) slots_[s.slot] = nullptr;
}

uint32_t Context::add_cookie(Socket& s) {
  uint32_t c;
  do {
    c = next_cookie_++;
  } while (c == 0 || cookies_.count(c) != 0);
  cookies_[c] = &s;
  return c;
}

void Context::drop_cookie(uint32_t cookie) { cookies_.erase(cookie); }

void Context::orphan_cookie(uint32_t cookie) {
  auto it = cookies_.find(cookie);
  if (it != cookies_.end()) it->second = nullptr;
}

void Context::end_listen(uint32_t id, Socket* s) {
  --listens_in_flight_;
  if (s != nullptr) listeners_[id] = s;
  std::vector<abi::CtlEvent> parked;
  parked.swap(parked_accepts_);
  for (const abi::CtlEvent& ev : parked) on_accepted(ev);  // re-parks while other listens are pending
}



void Context::rescan_all() {
  for (Socket* s : slots_) {
    if (s == nullptr) continue;
    ++s->rx_seq;
    ++s->tx_seq;
    touch(*s);
  }
}

void Context::touch(Socket& s) {
  touch_watchers(s);
  if (hub_.idle()) return;
  hub_.note(&s);
  for (const EpollWatch& w : s.watches) hub_.note(w.set);
}

std::vector<int> Context::abandon() {
  std::vector<int> closed;
  if (abandoned_) return closed;  // a grandchild: the grandparent's context was abandoned before
  abandoned_ = true;
  closed = own_fds();
  dead_ = true;
  link_broken_.store(true, std::memory_order_release);
  hub_.forget_all();
  slots_.assign(slots_.size(), nullptr);
  listeners_.clear();
  cookies_.clear();
  parked_accepts_.clear();
  pending_cmds_.clear();
  deferred_.clear();
  p_.channel.reset();            // the parent's link to the daemon
  if (p_.release) p_.release();  // the parent's mapping copy and doorbells
  p_.release = nullptr;
  return closed;
}

std::vector<int> Context::own_fds() const {
  std::vector<int> fds = {p_.app_doorbell, p_.fp_doorbell};
  if (p_.channel && p_.channel->hangup_fd() >= 0) fds.push_back(p_.channel->hangup_fd());
  return fds;
}

void Context::defer(const abi::AppRequest& req, bool after_slot_cmds) {
  if (dead_) return;  // the daemon is gone: nobody to tell
  deferred_.push_back({req, after_slot_cmds});
}

std::vector<Context::Deferred> Context::take_deferred() {
  std::vector<Deferred> out;
  out.swap(deferred_);
  return out;
}

int Context::request(abi::AppRequest& req, abi::AppResponse& resp) {
  if (link_broken()) return -ENETDOWN;
  int rc = p_.channel->call(req, resp);
  if (rc < 0) link_broken_.store(true, std::memory_order_release);
  return rc;
}

int Context::call_with_fd(abi::AppRequest& req, abi::AppResponse& resp, int fd) {
  if (link_broken()) return -ENETDOWN;
  int rc = p_.channel->call_with_fd(req, resp, fd);
  if (rc < 0 && rc != -EOPNOTSUPP) link_broken_.store(true, std::memory_order_release);
  return rc;
}

int Context::call_receiving_fd(abi::AppRequest& req, abi::AppResponse& resp, int& fd) {
  fd = -1;
  if (link_broken()) return -ENETDOWN;
  int rc = p_.channel->call_receiving_fd(req, resp, fd);
  if (rc < 0 && rc != -EOPNOTSUPP) link_broken_.store(true, std::memory_order_release);
  return rc;
}

}  // namespace virtuoso::shim

// Control plane: references fork() children hold (hold links, inherited references), and moving a connection into the process that claims it.
//
// Before fork() the app asks for a hold link (kForkHold): a new reference on every connection and
// listener it holds. Only the child keeps the link; it passes it to its own context (kInherit) or
// the daemon sees it close when the child exits. A connection ends (FIN or RST, as on a last
// close()) when its owner app and every holder let go. A holder that uses an inherited connection
// claims it (kClaim): once no other app holds it, the fast path copies its rings into a slot of
// the claimant's region (kRehome) and the claimant hears kAdopted with the new slot.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;

uint32_t ControlPlane::fork_hold(uint16_t ctx) {
  uint32_t id = holds_.next_hold++;
  HoldState::Link& link = holds_.links[id];
  link.origin = ctx;
  link.tenant = ctxs_[ctx].tenant;
  add_refs(link.refs, ctx);
  if (auto it = holds_.ctxs.find(ctx); it != holds_.ctxs.end()) copy_refs(link.refs, it->second);
  ++stats_.fork_holds;
  spdlog::debug("context {}: fork hold {} ({} connections, {} listeners)", ctx, id, link.refs.flows.size(),
                link.refs.listeners.size());
  return id;
}

uint32_t ControlPlane::fork_hold_from_link(uint32_t hold) {
  auto from = holds_.links.find(hold);
  if (from == holds_.links.end()) return 0;
  uint32_t id = holds_.next_hold++;
  HoldState::Link& link = holds_.links[id];
  link.origin = holds_.links[hold].origin;  // `from` may be invalid after the insertion
  link.tenant = holds_.links[hold].tenant;
  copy_refs(link.refs, holds_.links[hold].refs);
  ++stats_.fork_holds;
  return id;
}

int ControlPlane::inherit_hold(uint16_t ctx, uint32_t hold, uint16_t& origin) {
  auto it = holds_.links.find(hold);
  if (!attached_ctx(ctx) || it == holds_.links.end()) return EINVAL;
  origin = it->second.origin;
  if (ctxs_[ctx].tenant != it->second.tenant) {
    // A fork() child that became another tenant's app (setuid to another tenant's uid, moved to
    // another cgroup) does not carry the first tenant's connections into the second: its own
    // sockets work, the inherited ones fail with EACCES. The link stays, dropped when it closes.
    ++stats_.tenant_refusals;
    if (log_ok(LogKind::kRefusal))
      spdlog::info("context {} (tenant {}): refused fork hold {} of context {} (tenant {})", ctx,
                   ctxs_[ctx].tenant, hold, origin, it->second.tenant);
    return EACCES;
  }
  HoldRefs& mine = holds_.ctxs[ctx];
  HoldRefs& refs = it->second.refs;
  mine.flows.insert(mine.flows.end(), refs.flows.begin(), refs.flows.end());
  mine.listeners.insert(mine.listeners.end(), refs.listeners.begin(), refs.listeners.end());
  holds_.links.erase(it);
  spdlog::debug("context {}: took fork hold {} of context {}", ctx, hold, origin);
  return 0;
}

void ControlPlane::hold_link_gone(uint32_t hold, TimeMs now) {
  now_ = now;
  auto it = holds_.links.find(hold);
  if (it == holds_.links.end()) return;
  HoldRefs refs = std::move(it->second.refs);
  holds_.links.erase(it);
  drop_refs(refs);
}

abi::AppResponse ControlPlane::handle_hold_request(uint32_t hold, const abi::AppRequest& req, TimeMs now) {
  now_ = now;
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  auto it = holds_.links.find(hold);
  if (it == holds_.links.end() || abi::AppRequestKind(req.kind) != abi::AppRequestKind::kDropHold) {
    r.error = EINVAL;
    return r;
  }
  req_drop_hold(it->second.refs, vni_of(it->second.origin), req, r);
  return r;
}

void ControlPlane::add_refs(HoldRefs& into, uint16_t ctx) {
  const Context& x = ctxs_[ctx];
  for (uint32_t slot = 0; slot < x.slots.size(); ++slot) {
    const SlotInfo& si = x.slots[slot];
    if (!si.app_holds || si.flow == kNoFlow) continue;
    Conn& c = conns_[si.flow];
    if (c.state == ConnState::kFree || c.state == ConnState::kSynSent) continue;
    ++c.holds;
    into.flows.push_back({si.flow, c.serial});
  }
  for (auto& [id, l] : listeners_) {
    if (l.ctx != ctx || l.owner_gone) continue;
    ++l.holds;
    into.listeners.push_back(id);
  }
}

void ControlPlane::copy_refs(HoldRefs& into, const HoldRefs& from) {
  for (const HoldRefs::FlowRef& ref : from.flows) {
    if (ref.flow >= conns_.size() || conns_[ref.flow].serial != ref.serial) continue;  // long gone
    ++conns_[ref.flow].holds;
    into.flows.push_back(ref);
  }
  for (uint32_t id : from.listeners) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) continue;
    ++it->second.holds;
    into.listeners.push_back(id);
  }
}

void ControlPlane::drop_refs(HoldRefs& refs) {
  HoldRefs gone = std::move(refs);
  refs = HoldRefs{};
  for (const HoldRefs::FlowRef& ref : gone.flows) drop_flow_ref(ref);
  for (uint32_t id : gone.listeners) drop_listener_ref(id);
}

void ControlPlane::drop_flow_ref(const HoldRefs::FlowRef& ref) {
  if (ref.flow >= conns_.size()) return;
  Conn& c = conns_[ref.flow];
  if (c.state == ConnState::kFree || c.serial != ref.serial || c.holds == 0) return;
  --c.holds;
  if (!shared(c) && !app_holds(c)) end_unheld(ref.flow, c, false);
}

void ControlPlane::drop_listener_ref(uint32_t listener_id) {
  auto it = listeners_.find(listener_id);
  if (it == listeners_.end() || it->second.holds == 0) return;
  Listener& l = it->second;
  if (--l.holds != 0 || !l.owner_gone) return;
  spdlog::debug("listener {}: its last holder let go", listener_id);
  share_leave(listener_id);
  drop_listener(listener_id);
}

bool ControlPlane::take_flow_ref(HoldRefs& refs, uint32_t flow) {
  auto it = std::find_if(refs.flows.begin(), refs.flows.end(), [&](const HoldRefs::FlowRef& r) {
    return r.flow == flow && r.serial == conns_[flow].serial;
  });
  if (it == refs.flows.end()) return false;
  refs.flows.erase(it);
  return true;
}

bool ControlPlane::take_listener_ref(HoldRefs& refs, uint32_t listener_id) {
  auto it = std::find(refs.listeners.begin(), refs.listeners.end(), listener_id);
  if (it == refs.listeners.end()) return false;
  refs.listeners.erase(it);
  return true;
}

void ControlPlane::req_drop_hold(HoldRefs& refs, uint32_t vni, const abi::AppRequest& req, abi::AppResponse& r) {
  if (req.id != 0) {
    if (!take_listener_ref(refs, req.id)) {
      r.error = EINVAL;
      return;
    }
    r.id = req.id;
    drop_listener_ref(req.id);
    return;
  }
  uint32_t flow = claimed_flow(vni, req);
  if (flow == kNoFlow || !take_flow_ref(refs, flow)) {
    r.error = EINVAL;  // not held (or the connection is over: its references are void)
    return;
  }
  drop_flow_ref({flow, conns_[flow].serial});
}

// The connection a kClaim names: by slot, or by addresses (a program exec'd with the socket).
uint32_t ControlPlane::claimed_flow(uint32_t vni, const abi::AppRequest& req) const {
  if (req.slot == abi::kClaimByTuple) {
    auto it = by_tuple_.find(FourTuple{req.local_ip, req.ip, req.local_port, req.port, vni});
    return it == by_tuple_.end() ? kNoFlow : it->second;
  }
  if (req.ctx >= ctxs_.size() || req.slot >= ctxs_[req.ctx].slots.size()) return kNoFlow;
  const SlotInfo& si = ctxs_[req.ctx].slots[req.slot];
  if (!si.used || si.gen != req.gen) return kNoFlow;
  uint32_t flow = si.flow;
  return flow != kNoFlow && conns_[flow].ctx == req.ctx ? flow : kNoFlow;
}

void ControlPlane::req_claim(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  uint32_t flow = claimed_flow(vni_of(ctx), req);
  HoldRefs& mine = holds_.ctxs[ctx];
  if (flow == kNoFlow || !take_flow_ref(mine, flow)) {
    ++stats_.claims_failed;
    r.error = EBADF;  // not a connection this app inherited, or it is over
    return;
  }
  Conn& c = conns_[flow];
  --c.holds;
  r.id = req.id;
  if (!c.installed) {  // it ended: this process's copy is void
    ++stats_.claims_failed;
    r.error = ECONNRESET;
    if (!shared(c) && !app_holds(c)) end_unheld(flow, c, false);
    return;
  }
  if (c.claimant >= 0 || c.moving) {  // another process's claim goes first; this one follows it
    c.claim_queue.emplace_back(ctx, req.id);
    return;
  }
  c.claimant = ctx;
  c.claim_cookie = req.id;
  spdlog::debug("flow {}: claimed by context {}", flow, ctx);
  if (!app_holds(c)) {
    start_move(flow, c);
  } else {
    take_from_owner(flow, c);  // now, or on a later tick if its app is working on it
  }
}

// The claimed connection's owner app still holds it: take the slot while that app is not working
// on it (FlowSlot::app_busy). Its app keeps a reference, and hears kTaken before anything else
// about the slot, so it never touches the slot again; it claims the connection back to use it.
bool ControlPlane::take_from_owner(uint32_t flow, Conn& c) {
  abi::FlowSlot* fs = ctxs_[c.ctx].view.slot(c.slot);
  if (!shm::compare_exchange(fs->app_busy, 0u, abi::kSlotTaken)) return false;
  emit_ctl(c, abi::CtlEventKind::kTaken, 0);
  ctxs_[c.ctx].slots[c.slot].app_holds = false;
  holds_.ctxs[c.ctx].flows.push_back({flow, c.serial});
  ++c.holds;
  ++stats_.flows_taken;
  spdlog::debug("flow {}: taken from context {} for context {}", flow, c.ctx, c.claimant);
  start_move(flow, c);
  return true;
}

void ControlPlane::owner_let_go(uint32_t flow, Conn& c, bool abort) {
  if (c.claimant >= 0 && !c.moving) {
    start_move(flow, c);
  } else if (!shared(c)) {
    end_unheld(flow, c, abort);
  }
}

// Nobody holds the connection any more: what a last close() does.
void ControlPlane::end_unheld(uint32_t flow, Conn& c, bool abort) {
  if (!c.installed) return;
  const Context& x = ctxs_[c.ctx];
  const abi::FlowSlot* fs = x.view.slot(c.slot);
  if (abort || load_relaxed(fs->rx_head) != load_relaxed(fs->rx_tail)) {
    ++stats_.aborts_app;
    abort_flow(flow, c, true);
  } else if (ctxs_[c.ctx].app_gone) {
    orphan_flow(flow, c);
  } else {
    send_fin(flow, c);
  }
}

void ControlPlane::start_move(uint32_t flow, Conn& c) {
  uint16_t to = uint16_t(c.claimant);
  if (!c.installed) {
    claim_failed(c, c.end_error ? c.end_error : ECONNRESET);
    return;
  }
  std::optional<uint32_t> slot = attached_ctx(to) ? alloc_slot(to, flow) : std::nullopt;
  if (!slot) {
    claim_failed(c, attached_ctx(to) ? EMFILE : ECONNRESET);  // no free slot in the claimant's region
    next_claim(flow, c);
    return;
  }
  c.moving = true;
  c.move_slot = *slot;
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kRehome);
  cmd.ctx = to;
  cmd.flow = flow;
  cmd.slot = *slot;
  cmd.gen = ctxs_[to].slots[*slot].gen;
  out_.command(cmd);
}

void ControlPlane::claim_failed(Conn& c, int error) {
  tell_claim_failed(uint16_t(c.claimant), c.claim_cookie, error);
  c.claimant = -1;
}

void ControlPlane::fail_queued_claims(Conn& c, int error) {
  for (auto [ctx, cookie] : c.claim_queue) tell_claim_failed(ctx, cookie, error);
  c.claim_queue.clear();
}

void ControlPlane::tell_claim_failed(uint16_t ctx, uint32_t cookie, int error) {
  ++stats_.claims_failed;
  if (!attached_ctx(ctx)) return;
  abi::CtlEvent ev{};
  ev.kind = uint16_t(abi::CtlEventKind::kAdopted);
  ev.id = cookie;
  ev.error = error;
  out_.ctl_event(ctx, ev);
}

// The current claim is over (done or failed): the next process waiting for the connection gets its
// turn, taking it from the one that has it as soon as that one is not in a call on it. With nobody
// waiting, a connection nobody holds any more ends.
void ControlPlane::next_claim(uint32_t flow, Conn& c) {
  while (c.claimant < 0 && !c.moving && !c.claim_queue.empty()) {
    auto [ctx, cookie] = c.claim_queue.front();
    c.claim_queue.pop_front();
    if (!attached_ctx(ctx)) continue;
    c.claimant = ctx;
    c.claim_cookie = cookie;
    if (!c.installed) {
      claim_failed(c, c.end_error ? c.end_error : ECONNRESET);
    } else if (!app_holds(c)) {
      start_move(flow, c);
    } else {
      take_from_owner(flow, c);  // now, or on a later tick
    }
  }
  if (!shared(c) && !app_holds(c)) end_unheld(flow, c, false);
}

// kRehomed: the fast path moved the flow into the claimant's slot (or refused, error != 0).
void ControlPlane::on_moved(uint32_t flow, Conn& c, int error) {
  if (!c.moving) return;
  c.moving = false;
  uint16_t to = uint16_t(c.claimant);
  Context& y = ctxs_[to];
  if (error != 0) {
    y.slots[c.move_slot].flow = kNoFlow;
    free_slot(to, c.move_slot);
    --y.conns;
    claim_failed(c, c.end_error ? c.end_error : ECONNRESET);
    maybe_detach(to);
    next_claim(flow, c);
    return;
  }
  uint16_t from = c.ctx;
  Context& x = ctxs_[from];
  SlotInfo& old = x.slots[c.slot];
  old.flow = kNoFlow;
  if (!old.app_holds) free_slot(from, c.slot);
  --x.conns;
  c.ctx = to;
  c.slot = c.move_slot;
  c.gen = y.slots[c.slot].gen;
  c.claimant = -1;
  ++stats_.flows_moved;
  spdlog::debug("flow {}: moved from context {} to context {} (slot {})", flow, from, to, c.slot);
  if (attached_ctx(to)) {
    y.slots[c.slot].app_holds = true;
    emit_ctl(c, abi::CtlEventKind::kAdopted, 0, c.claim_cookie);
    if (c.state == ConnState::kRemoving)  // it ended while moving: tell the new owner how
      emit_ctl(c, c.end_error ? abi::CtlEventKind::kReset : abi::CtlEventKind::kClosed, c.end_error);
  }
  next_claim(flow, c);  // a claim queued behind this one, or the end if the claimant exited meanwhile
  maybe_detach(from);
}

void ControlPlane::listener_owner_gone(uint32_t listener_id) {
  Listener& l = listeners_.at(listener_id);
  l.owner_gone = true;
  share_.accepting.erase(listener_id);
  if (auto g = share_.group_of.find(listener_id); g != share_.group_of.end()) share_retarget(g->second, false);
  spdlog::debug("listener {}: its owner let go; {} forked holders keep it", listener_id, l.holds);
}

// The app of `ctx` is gone: its inherited references go, and claims it made are void.
void ControlPlane::ctx_refs_gone(uint16_t ctx) {
  if (auto it = holds_.ctxs.find(ctx); it != holds_.ctxs.end()) {
    HoldRefs refs = std::move(it->second);
    holds_.ctxs.erase(it);
    drop_refs(refs);
  }
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state == ConnState::kFree) continue;
    size_t queued = c.claim_queue.size();
    std::erase_if(c.claim_queue, [ctx](const auto& q) { return q.first == ctx; });
    bool was_claimant = c.claimant == ctx && !c.moving;
    if (was_claimant) c.claimant = -1;
    if (was_claimant || queued != c.claim_queue.size()) next_claim(flow, c);
  }
}

}  // namespace virtuoso::slowpath

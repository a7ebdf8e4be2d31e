// Control plane: app contexts (attach, detach, faults) and the slots of their regions.
#include <spdlog/spdlog.h>

#include "control_plane.hpp"
#include "regions.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

std::optional<uint16_t> ControlPlane::add_context(abi::AppRegionView view, uint16_t tenant) {
  if (tenant > s_.tenants.size()) return std::nullopt;
  auto id = ctx_ids_.alloc();
  if (!id) return std::nullopt;
  Context& x = ctxs_[*id];
  x = Context{};
  x.state = CtxState::kAttaching;
  x.tenant = tenant;
  x.view = view;
  x.slots.assign(view.layout.n_slots, SlotInfo{});
  x.free_slots = IdPool(view.layout.n_slots);
  init_app_region(view, uint16_t(*id));
  write_congestion_name(view.header()->default_congestion, congestion_algo_of(uint16_t(*id)));
  return uint16_t(*id);
}

void ControlPlane::attach_context(uint16_t ctx) {
  if (ctx_state(ctx) != CtxState::kAttaching) return;
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kAttachCtx);
  cmd.ctx = ctx;
  cmd.layout = ctxs_[ctx].view.layout;
  out_.command(cmd);
}

void ControlPlane::cancel_context(uint16_t ctx) {
  if (ctx_state(ctx) != CtxState::kAttaching) return;
  ctxs_[ctx] = Context{};
  ctx_ids_.release(ctx);
}

ControlPlane::Context* ControlPlane::attached_ctx(uint16_t ctx) {
  if (ctx >= ctxs_.size()) return nullptr;
  Context& x = ctxs_[ctx];
  return x.state == CtxState::kAttached && !x.app_gone ? &x : nullptr;
}

std::optional<uint32_t> ControlPlane::alloc_slot(uint16_t ctx, uint32_t flow) {
  Context& x = ctxs_[ctx];
  auto slot = x.free_slots.alloc();
  if (!slot) return std::nullopt;
  SlotInfo& si = x.slots[*slot];
  si.gen = si.gen + 1 == 0 ? 1 : si.gen + 1;  // generation 0 means "never used"
  si.flow = flow;
  si.used = true;
  si.app_holds = false;
  ++x.conns;
  // The slot is nobody's until the app hears of it: reset every position, then publish the generation.
  abi::FlowSlot* fs = x.view.slot(*slot);
  shm::store_relaxed(fs->rx_head, 0u);
  shm::store_relaxed(fs->rx_fin, 0u);
  shm::store_relaxed(fs->error, 0u);
  shm::store_relaxed(fs->rx_tail, 0u);
  shm::store_relaxed(fs->tx_head, 0u);
  shm::store_relaxed(fs->tx_tail, 0u);
  shm::store_relaxed(fs->tx_nospace, 0u);  // a former flow's writer may have left it set
  shm::store_relaxed(fs->app_busy, 0u);
  shm::store_relaxed(fs->app_waiting, 0u);
  shm::store_release(fs->gen, si.gen);
  return *slot;
}

void ControlPlane::free_slot(uint16_t ctx, uint32_t slot) {
  Context& x = ctxs_[ctx];
  SlotInfo& si = x.slots[slot];
  si.used = false;
  si.flow = kNoFlow;
  si.app_holds = false;
  x.free_slots.release(slot);
}

void ControlPlane::on_ctx_attached(uint16_t ctx, int error) {
  if (ctx_state(ctx) != CtxState::kAttaching) return;
  if (error != 0) {
    spdlog::warn("context {}: the fast path could not map its region (errno {})", ctx, error);
    ctxs_[ctx] = Context{};
    ctx_ids_.release(ctx);
    out_.context_attached(ctx, error);
    return;
  }
  ctxs_[ctx].state = CtxState::kAttached;
  spdlog::debug("context {}: attached", ctx);
  out_.context_attached(ctx, 0);
  maybe_detach(ctx);  // the app may have gone while we waited
}

namespace {

void add_calls(abi::AppCallCounters& sum, const abi::AppRegionView& view) {
  const abi::AppCallCounters& c = view.header()->calls;
  sum.sends += shm::load_relaxed(c.sends);
  sum.send_cycles += shm::load_relaxed(c.send_cycles);
  sum.recvs += shm::load_relaxed(c.recvs);
  sum.recv_cycles += shm::load_relaxed(c.recv_cycles);
}

}  // namespace

abi::AppCallCounters ControlPlane::app_calls() const {
  abi::AppCallCounters sum = departed_calls_;
  for (const Context& x : ctxs_)
    if (x.state != CtxState::kFree && x.view.base != nullptr) add_calls(sum, x.view);
  return sum;
}

void ControlPlane::on_ctx_detached(uint16_t ctx) {
  if (ctx_state(ctx) != CtxState::kDetaching) return;
  spdlog::debug("context {}: detached", ctx);
  add_calls(departed_calls_, ctxs_[ctx].view);
  ctxs_[ctx] = Context{};
  ctx_ids_.release(ctx);
  out_.context_detached(ctx);
}

void ControlPlane::on_ctx_fault(uint16_t ctx, int error) {
  if (ctx >= ctxs_.size() || ctxs_[ctx].state == CtxState::kFree) return;
  ++stats_.ctx_faults;
  if (log_ok(LogKind::kFault)) spdlog::warn("context {}: broke the queue protocol (errno {}); failing its flows", ctx, error);
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state != ConnState::kFree && c.ctx == ctx && c.installed) fail_flow(flow, c, error > 0 ? error : EIO, true);
  }
}

void ControlPlane::maybe_detach(uint16_t ctx) {
  Context& x = ctxs_[ctx];
  if (!x.app_gone || x.state != CtxState::kAttached || x.conns != 0) return;
  x.state = CtxState::kDetaching;
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kDetachCtx);
  cmd.ctx = ctx;
  out_.command(cmd);
}

// Linux closes a dying process's sockets like close(): what was queued is still delivered and a
// FIN follows; only a socket with unread received data is reset (RFC 2525 2.17). The context
// (region and fast-path mapping) stays until its last orphan is removed. Orphans hold their flow
// entry and slot, so max_flows and n_slots bound them, and every one ends: FIN_WAIT_2 after
// fin_wait2_timeout_ms, anything unacknowledged after max_retries.
void ControlPlane::app_disconnected(uint16_t ctx, TimeMs /*now*/) {
  if (ctx >= ctxs_.size() || ctxs_[ctx].state == CtxState::kFree || ctxs_[ctx].app_gone) return;
  Context& x = ctxs_[ctx];
  x.app_gone = true;
  if (x.state != CtxState::kAttached) return;  // still attaching: on_ctx_attached finishes the job
  ctx_refs_gone(ctx);
  share_ctx_gone(ctx);
  std::vector<uint32_t> owned;
  for (const auto& [id, l] : listeners_)
    if (l.ctx == ctx && !l.owner_gone) owned.push_back(id);
  for (uint32_t id : owned) {
    if (listeners_.at(id).holds != 0) {
      listener_owner_gone(id);  // a forked child still holds it: it stays, port and all
    } else {
      drop_listener(id);
    }
  }
  ports_of(vni_of(ctx)).release_ctx(ctx, [this](const Reservation& r) {
    return r.kind == ReservationKind::kListen && listeners_.count(r.listener) != 0;
  });
  for (SlotInfo& si : x.slots) si.app_holds = false;
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state == ConnState::kFree || c.ctx != ctx) continue;
    if (c.state == ConnState::kSynSent) {
      release_conn(flow);
    } else if (c.installed && shared(c)) {
      owner_let_go(flow, c, false);  // a forked process holds it: it lives on, or moves to its claimant
    } else if (c.installed) {
      end_unheld(flow, c, false);  // as a last close(): RST for unread bytes, else a FIN
    }
  }
  maybe_detach(ctx);
}

}  // namespace virtuoso::slowpath

// The app side of the datapath: validating app commands, and events back to apps.
#include <algorithm>
#include <cerrno>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::fastpath {

using abi::AppCmdKind;
using abi::AppEventKind;

uint32_t Datapath::poll_apps() {
  uint32_t work = 0;
  for (uint16_t id : active_ctxs_) {
    Context& ctx = ctxs_[id];
    if (!ctx.active || ctx.view.atx().empty()) continue;
    uint32_t acct = account_of_tenant(ctx.tenant);
    if (!may_run(acct)) {
      ++budget_accounts_[acct].deferred_apps;  // its commands wait for a refill
      continue;
    }
    meter_.switch_to(acct);
    uint32_t n = poll_app(id, ctx);
    if (n) note_work(acct);
    work += n;
  }
  return work;
}

uint32_t Datapath::poll_app(uint16_t ctx_id, Context& ctx) {
  auto q = ctx.view.atx();
  abi::AppCmd cmd;
  uint32_t n = 0;
  while (n < cfg_.app_batch) {
    shm::PopResult r = q.try_pop(cmd);
    if (r == shm::PopResult::kEmpty) break;
    if (r == shm::PopResult::kCorrupt) {
      // The app broke its own queue: stop reading it; the slow path fails its sockets.
      ++stats_->app_cmd_bad;
      emit_sp_event(abi::FpEventKind::kCtxFault, ctx_id, 0, EPROTO);
      ctx.active = false;
      break;
    }
    handle_app_cmd(ctx_id, ctx, cmd);
    ++n;
  }
  return n;
}

void Datapath::handle_app_cmd(uint16_t ctx_id, Context& ctx, const abi::AppCmd& cmd) {
  // Is the entry about a slot of this context, holding an installed flow of the same generation?
  if (cmd.slot >= ctx.slot_flow.size() || ctx.slot_flow[cmd.slot] == FlowTable::kNone) {
    ++stats_->app_cmd_bad;  // also normal right after a flow was removed
    return;
  }
  uint32_t flow = ctx.slot_flow[cmd.slot];
  abi::FlowEntry& e = *ctrl_.flow(flow);
  if (cmd.gen != e.gen || e.ctx != ctx_id) {
    ++stats_->app_cmd_bad;
    return;
  }
  switch (AppCmdKind(cmd.kind)) {
    case AppCmdKind::kTxBump:
      queue_tx(flow);
      break;
    case AppCmdKind::kRxConsumed:
      window_update(flow);
      break;
    case AppCmdKind::kTxFin:
      queue_fin(flow);
      break;
    default:
      ++stats_->app_cmd_bad;
      break;
  }
}

// Sends a window update only when it opens the window noticeably (RFC 9293 3.8.6.2.2).
void Datapath::window_update(uint32_t flow_id) {
  if (uint32_t peer = priv_[flow_id].circuit; peer != kNoCircuit) {
    queue_tx(peer);  // room for what the other end of the circuit waits to move
    return;
  }
  abi::FlowEntry& e = *ctrl_.flow(flow_id);
  Context* ctx = context_of(e);
  if (!ctx) return;
  uint32_t before = priv_[flow_id].adv_wnd_edge - e.rcv_nxt;
  uint32_t now = uint32_t(advertised_window(flow_id)) << e.rcv_wscale;
  uint32_t threshold = std::min<uint32_t>(ctx->view.layout.rx_size / 2, 2u * e.mss);
  if (now > before && (now - before >= threshold || before < e.mss)) queue_ack(flow_id);
}

// The peer has `n` more bytes: they leave the tx ring. True if that room is news the app is owed:
// like Linux's SOCK_NOSPACE, only for a writer short of room or one that had filled half the ring,
// not after every ACK (which would wake a request/response server once more per reply).
bool Datapath::free_tx(uint32_t flow_id, uint32_t n) {
  abi::FlowEntry& e = *ctrl_.flow(flow_id);
  abi::FlowSlot* s = slot_of(e);
  if (!s) return false;
  uint32_t used = shm::load_acquire(s->tx_head) - s->tx_tail;
  bool owed = shm::load_acquire(s->tx_nospace) != 0 || used >= context_of(e)->view.layout.tx_size / 2;
  shm::store_release(s->tx_tail, s->tx_tail + n);
  return owed;
}

void Datapath::emit_app_event(uint32_t flow_id, AppEventKind kind) {
  abi::FlowEntry& e = *ctrl_.flow(flow_id);
  Context* ctx = context_of(e);
  if (!ctx) return;
  abi::AppEvent ev{e.slot, e.gen, uint16_t(kind), 0, 0};
  if (!ctx->view.arx().try_push(ev))
    shm::store_release(ctx->view.header()->arx_overflow, 1u);  // the app rescans all its slots
  ctx->ring_pending = true;
}

// A burst of segments for one flow owes its app one event per kind, not one per segment: each
// entry is a cache line the app's core must pull across.
void Datapath::note_app_event(uint32_t flow_id, AppEventKind kind) {
  FlowPriv& p = priv_[flow_id];
  if (!p.app_events) event_flows_.push_back(flow_id);
  p.app_events |= uint8_t(1u << uint16_t(kind));
}

void Datapath::flush_app_events() {
  for (uint32_t id : event_flows_) {
    uint8_t bits = priv_[id].app_events;
    priv_[id].app_events = 0;
    for (AppEventKind k : {AppEventKind::kRxData, AppEventKind::kTxSpace, AppEventKind::kPeerFin})
      if (bits & (1u << uint16_t(k))) emit_app_event(id, k);
  }
  event_flows_.clear();
}

void Datapath::fail_flow(uint32_t flow_id, int err) {
  abi::FlowEntry& e = *ctrl_.flow(flow_id);
  if (abi::FlowSlot* s = slot_of(e)) shm::store_release(s->error, uint32_t(err));
  emit_app_event(flow_id, AppEventKind::kError);
  emit_sp_event(abi::FpEventKind::kFlowError, e.ctx, flow_id, err);
  // Stop working on it until the slow path removes it.
  circuit_leave(flow_id);
  priv_[flow_id].active = false;
  table_.erase(flow_key(e));
  if (Context* ctx = context_of(e); ctx && e.slot < ctx->slot_flow.size())
    ctx->slot_flow[e.slot] = FlowTable::kNone;
}

}  // namespace virtuoso::fastpath

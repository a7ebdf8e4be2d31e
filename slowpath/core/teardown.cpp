// Control plane: orderly close (FIN events), aborts, resets, removal and freeing of flows and slots.
#include <spdlog/spdlog.h>

#include <cerrno>

#include "control_plane.hpp"
#include "log_format.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;

void ControlPlane::on_peer_fin(uint32_t flow, Conn& c, TimeMs now) {
  switch (c.state) {
    case ConnState::kEstablished: {
      // Our FIN already in flight makes this a simultaneous close: CLOSING, then TIME_WAIT.
      uint32_t fl = load_relaxed(ctrl_.flow(flow)->fp_flags);
      bool fin_out = (fl & abi::kFlowFinSent) && !(fl & abi::kFlowFinAcked);
      c.state = fin_out ? ConnState::kClosing : ConnState::kCloseWait;
      break;
    }
    case ConnState::kFinWait2: enter_time_wait(flow, c, now); break;
    default: return;  // duplicate, or the flow is going away
  }
  spdlog::debug("flow {}: peer FIN -> {}", flow, c.state == ConnState::kRemoving ? "TIME-WAIT" : to_string(c.state));
}

void ControlPlane::on_fin_acked(uint32_t flow, Conn& c, TimeMs now) {
  switch (c.state) {
    case ConnState::kEstablished:
      c.state = ConnState::kFinWait2;
      c.state_deadline = 0;
      break;
    case ConnState::kCloseWait:  // LAST_ACK done: both directions finished, nothing to wait for
      ++stats_.closed_orderly;
      if (app_holds(c)) emit_ctl(c, abi::CtlEventKind::kClosed, 0);
      remove_flow(flow, c);
      break;
    case ConnState::kClosing: enter_time_wait(flow, c, now); break;
    default: return;
  }
  spdlog::debug("flow {}: our FIN acknowledged -> {}", flow, to_string(c.state));
}

// Both FINs are acknowledged: the app may have its slot back and the fast path its entry; the
// 2MSL wait goes on in a slow-path record (time_wait.cpp). The fast path ACKed the peer's FIN
// before reporting it, so nothing is left to send from the entry.
void ControlPlane::enter_time_wait(uint32_t flow, Conn& c, TimeMs now) {
  ++stats_.closed_orderly;
  if (app_holds(c)) emit_ctl(c, abi::CtlEventKind::kClosed, 0);
  const abi::FlowEntry& e = *ctrl_.flow(flow);
  TimeWait tw;
  tw.path = c.path;
  tw.snd_nxt = load_relaxed(e.snd_nxt);
  tw.rcv_nxt = load_relaxed(e.rcv_nxt);
  tw.window = rcv_window(c);
  tw.tcp_opts = c.tcp_opts;
  tw.ts_offset = c.ts_offset;
  tw.deadline = now + s_.time_wait_ms;
  add_time_wait(c.tuple, tw);
  remove_flow(flow, c);
}

void ControlPlane::remove_flow(uint32_t flow, Conn& c) {
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kRemove);
  cmd.ctx = c.ctx;
  cmd.flow = flow;
  out_.command(cmd);
  c.installed = false;
  c.state = ConnState::kRemoving;
  c.rto_deadline = 0;
}

// The app is gone: the fast path sends the FIN after every byte the app wrote (FpCommand kFin),
// and the usual close events finish the flow.
void ControlPlane::orphan_flow(uint32_t flow, Conn& c) {
  ++stats_.orphans_closed;
  spdlog::debug("flow {}: orphaned in {}, closing it", flow, to_string(c.state));
  send_fin(flow, c);
}

// FpCommand kFin, unless our FIN is out already.
void ControlPlane::send_fin(uint32_t flow, const Conn& c) {
  if (c.state != ConnState::kEstablished && c.state != ConnState::kCloseWait) return;
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kFin);
  cmd.ctx = c.ctx;
  cmd.flow = flow;
  out_.command(cmd);
}

// kRemove first, then the reset, at once. Until the fast path takes the kRemove it may still send
// bytes the app wrote; a RST carrying the snd_nxt from before them falls below the peer's window
// and is dropped (RFC 5961 3.2), so kRemoved sends another at the final snd_nxt if it moved.
void ControlPlane::abort_flow(uint32_t flow, Conn& c, bool send_rst) {
  bool installed = c.installed;
  remove_flow(flow, c);
  if (!send_rst) return;
  c.rst_seq = send_rst_now(flow, c);
  c.rst_sent = installed;
}

uint32_t ControlPlane::send_rst_now(uint32_t flow, const Conn& c) {
  const abi::FlowEntry& e = *ctrl_.flow(flow);
  uint32_t seq = load_relaxed(e.snd_nxt);
  send_segment({c.tuple, c.path, seq, load_relaxed(e.rcv_nxt), uint8_t(wire::kTcpRst | wire::kTcpAck), 0, {}});
  return seq;
}

void ControlPlane::fail_flow(uint32_t flow, Conn& c, int error, bool send_rst) {
  c.end_error = error;
  if (c.claimant >= 0 && !c.moving) claim_failed(c, error);
  fail_queued_claims(c, error);
  if (app_holds(c)) {
    shm::store_release(ctxs_[c.ctx].view.slot(c.slot)->error, uint32_t(error));
    emit_ctl(c, abi::CtlEventKind::kReset, error);
  }
  spdlog::debug("flow {}: failed with errno {} in {}", flow, error, to_string(c.state));
  abort_flow(flow, c, send_rst);
}

// The entry is ours again (kRemoved), or the connection never reached the fast path.
void ControlPlane::release_conn(uint32_t flow) {
  Conn& c = conns_[flow];
  if (c.rst_sent && load_relaxed(ctrl_.flow(flow)->snd_nxt) != c.rst_seq) {
    ++stats_.resets_resent;
    send_rst_now(flow, c);  // the fast path sent more before it let go: the first RST is stale
  }
  if (c.arp_wait) arp_.cancel(flow);
  if (c.inner_arp_wait) inner_arp_[tenant_of_vni(c.tuple.vni)].cancel(flow);
  if (c.claimant >= 0 && !c.moving) claim_failed(c, c.end_error ? c.end_error : ECONNRESET);
  fail_queued_claims(c, c.end_error ? c.end_error : ECONNRESET);
  if (auto it = by_tuple_.find(c.tuple); it != by_tuple_.end() && it->second == flow) by_tuple_.erase(it);
  ports_of(c.tuple.vni).remove_connection(c.tuple.local_port);
  uint16_t ctx = c.ctx;
  Context& x = ctxs_[ctx];
  SlotInfo& si = x.slots[c.slot];
  si.flow = kNoFlow;
  if (!si.app_holds) free_slot(ctx, c.slot);  // else the app's kClose frees it
  --x.conns;
  spdlog::debug("flow {}: released ({})", flow, tuple_str(c.tuple));
  c = Conn{};
  flow_ids_.release(flow);
  maybe_detach(ctx);
}

void ControlPlane::release_by_app(uint16_t ctx, uint32_t slot) {
  SlotInfo& si = ctxs_[ctx].slots[slot];
  si.app_holds = false;
  if (si.flow == kNoFlow) free_slot(ctx, slot);  // the fast path let go of it already
}

}  // namespace virtuoso::slowpath

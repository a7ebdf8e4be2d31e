// Control plane: creating connections, handing flow entries to the fast path, and the plain
// segments of installed flows that raced the install.

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;
using wire::kTcpAck;

namespace {
// A plain segment punted this long after its flow's install is not a race with kInstall: the
// fast path no longer knows the flow (it failed it), so replaying it would only bounce.
constexpr TimeMs kReinjectWindowMs = 2000;
}  // namespace

std::optional<uint32_t> ControlPlane::new_conn(uint16_t ctx, const FourTuple& t) {
  Context* x = attached_ctx(ctx);
  if (!x || flow_ids_.full() || x->free_slots.full()) return std::nullopt;
  uint32_t flow = *flow_ids_.alloc();
  uint32_t slot = *alloc_slot(ctx, flow);
  Conn& c = conns_[flow];
  c = Conn{};
  c.ctx = ctx;
  c.slot = slot;
  c.gen = x->slots[slot].gen;
  c.tuple = t;
  c.serial = holds_.next_serial++;
  by_tuple_[t] = flow;
  ports_of(t.vni).add_connection(t.local_port);
  return flow;
}

void ControlPlane::install(uint32_t flow, Conn& c, const InstallParams& p, const HandshakeTimer& hs, TimeMs now) {
  // The entry is ours until kInstall: fill both halves, so that what we read before the fast path
  // takes it over (a challenge ACK, the first timer tick) is already this connection's.
  abi::FlowEntry& e = *ctrl_.flow(flow);
  std::memset(static_cast<void*>(&e), 0, sizeof e);
  e.local_ip = c.tuple.local_ip;
  e.remote_ip = c.tuple.remote_ip;
  e.local_port = c.tuple.local_port;
  e.remote_port = c.tuple.remote_port;
  std::memcpy(e.remote_mac, c.path.mac.data(), 6);
  if (c.tuple.vni != 0) {  // a tenant's flow: the fast path wraps every segment in VXLAN
    e.vni = c.tuple.vni;
    e.vtep_ip = c.path.vtep;
    std::memcpy(e.inner_remote_mac, c.path.inner_mac.data(), 6);
    std::memcpy(e.inner_local_mac, tenant_mac(c.tuple.vni).data(), 6);
    e.vxlan_src_port = c.path.src_port;
    e.peer_vni = c.path.vni ? c.path.vni : c.tuple.vni;
  }
  e.mss = p.mss;
  e.path_mss = c.path_mss;  // lowered by an ICMP in SYN-SENT, else 0
  e.tenant = ctxs_[c.ctx].tenant;
  e.snd_wscale = p.snd_wscale;
  e.rcv_wscale = p.rcv_wscale;
  e.ctx = c.ctx;
  e.slot = c.slot;
  e.gen = c.gen;
  e.init_snd_una = e.snd_una = e.snd_nxt = p.snd_una;
  e.init_rcv_nxt = e.rcv_nxt = p.rcv_nxt;
  e.init_snd_wnd = e.snd_wnd = p.snd_wnd;
  e.tcp_opts = p.tcp_opts;
  e.init_ts_recent = p.ts_recent;
  e.ts_offset = c.ts_offset;

  c.state = ConnState::kEstablished;
  c.installed = true;
  c.installed_at = now;
  c.rcv_wscale = p.rcv_wscale;
  c.mss = p.mss;
  c.tcp_opts = p.tcp_opts;
  c.base_rto = handshake_rto(hs, now);
  e.init_rto_us = e.rto_us = c.base_rto * 1000;
  start_congestion_control(flow, c, p.passive);
  c.rto = c.base_rto;
  c.retries = 0;
  c.last_acked = 0;
  c.rto_deadline = 0;

  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kInstall);
  cmd.ctx = c.ctx;
  cmd.flow = flow;
  out_.command(cmd);
}

// A plain segment of an installed flow reached the slow path (RST and SYN went to
// on_synchronized_ctl first): it raced the install, or the fast path no longer knows the flow.
void ControlPlane::on_installed_segment(uint32_t /*flow*/, Conn& c, const Segment& seg, TimeMs now) {
  if (now - c.installed_at > kReinjectWindowMs) {
    ++stats_.segments_dropped;
    return;
  }
  // The fast path received it before it processed kInstall: give it back, after the command.
  out_.frame(seg.raw, seg.raw_len, abi::kPacketProcessAsRx);
  ++stats_.frames_reinjected;
}

void ControlPlane::send_ack(uint32_t flow, const Conn& c) {
  const abi::FlowEntry& e = *ctrl_.flow(flow);
  SegmentSpec s{c.tuple, c.path, load_relaxed(e.snd_nxt), load_relaxed(e.rcv_nxt), kTcpAck, rcv_window(c), {}};
  add_timestamps(s, c);
  send_segment(s);
}

// The window the fast path would advertise: free space in the receive ring, scaled.
uint16_t ControlPlane::rcv_window(const Conn& c) const {
  const Context& x = ctxs_[c.ctx];
  const abi::FlowSlot* fs = x.view.slot(c.slot);
  uint32_t size = x.view.layout.rx_size;
  uint32_t used = load_relaxed(fs->rx_head) - load_relaxed(fs->rx_tail);
  uint32_t free_bytes = used > size ? 0 : size - used;  // a scribbled rx_tail offers nothing
  return uint16_t(std::min<uint32_t>(free_bytes >> c.rcv_wscale, 65535));
}

}  // namespace virtuoso::slowpath

// The datapath loop: port RX demultiplexing, slow-path commands and frames, events and doorbells.
#include "datapath.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/arp.hpp"

namespace virtuoso::fastpath {

using abi::FpCommandKind;
using abi::FpEventKind;

namespace {

// The IPv4 protocol field if the frame is long enough to have one (the header may be unsound).
uint8_t ip_protocol(const uint8_t* data, uint16_t len) {
  constexpr size_t kProtoAt = wire::kEthHeaderLen + 9;
  return len > kProtoAt ? data[kProtoAt] : 0;
}

}  // namespace

Datapath::Datapath(const DatapathConfig& cfg, abi::ControlRegionView ctrl, PacketPort& port,
                   Host& host, const Clock& clock, const CycleCounter& cycles)
    : cfg_(cfg),
      ctrl_(ctrl),
      stats_(&ctrl.header()->stats),
      tenant_stats_(ctrl.header()->tenant_stats),
      port_(port),
      host_(host),
      clock_(clock),
      cycles_(cycles),
      now_us_(clock.now_us()),
      table_(ctrl.layout.max_flows),
      priv_(ctrl.layout.max_flows),
      ctxs_(cfg.max_contexts),
      pacing_(ctrl.layout.max_flows),
      rack_timer_(ctrl.layout.max_flows),
      tlp_timer_(ctrl.layout.max_flows),
      budget_accounts_(ctrl.header()->budget_accounts),
      backlog_(Budgets::kAccounts, ctrl.header()->budget_settings.backlog_frames) {
  // Every container the loop uses is sized here, so nothing allocates per packet.
  tx_queue_.reserve(ctrl.layout.max_flows);
  ack_queue_.reserve(ctrl.layout.max_flows);
  work_.reserve(ctrl.layout.max_flows);
  event_flows_.reserve(ctrl.layout.max_flows);
  delack_flows_.reserve(ctrl.layout.max_flows);
  sp_backlog_.reserve(size_t{ctrl.layout.max_flows} * 4 + 64);
  local_.reserve(4096);
  local_next_.reserve(4096);
  rx_frames_.resize(cfg.rx_burst);
  rx_accounts_.resize(cfg.rx_burst);
  stats_->tsc_hz = cycles.hz();
  read_budget_settings();
}

Datapath::~Datapath() {
  // Frames parked for tenants out of budget go back to the port.
  while (!backlog_.waiting().empty()) {
    Frame fr = backlog_.pop(backlog_.waiting().front());
    port_.free(fr);
  }
}

uint32_t Datapath::poll_once() {
  // One counter read per phase boundary, no fences: a phase's count may be off by the few cycles
  // the CPU moves instructions across a read, which is noise next to a phase's cost.
  uint64_t mark[kPhaseMarks];
  mark[0] = cycles_.now();
  meter_.resume(mark[0]);
  funded_work_ = 0;
  if (mark[0] >= next_refill_) refill_budgets(mark[0]);
  if ((++stats_->loops & 1023) == 0) {
    PortCounters pc = port_.counters();
    stats_->port_buffers_in_use = pc.buffers_in_use;
    stats_->drop_port_tx = pc.tx_dropped;
  }
  now_us_ = clock_.now_us();
  uint32_t work = 0;
  work += rx_stage();
  mark[1] = cycles_.now();
  work += deliver_local();
  mark[2] = cycles_.now();
  work += poll_commands();
  work += poll_inject();
  mark[3] = cycles_.now();
  work += poll_apps();
  mark[4] = cycles_.now();
  if (!delack_flows_.empty()) work += run_delayed_acks();
  if (!pacing_.empty()) work += run_pacing();
  if (!rack_timer_.empty()) work += run_rack_timers();
  if (!tlp_timer_.empty()) work += run_tlp_timers();
  work += run_tx_queue();  // data segments carry the ACKs owed...
  work += run_ack_queue();  // ...the rest go out as pure ACKs
  port_.flush();
  mark[5] = cycles_.now();
  flush_app_events();
  flush_sp_events();
  ring_doorbells();
  mark[6] = cycles_.now();
  if (work != 0) meter_.mark(mark[6]);  // an idle loop is no one's work
  charge_cycles(mark, work != 0);
  return work;
}

void Datapath::charge_cycles(const uint64_t (&mark)[kPhaseMarks], bool busy) {
  abi::FpCycles& c = stats_->cycles;
  if (!busy) {
    c.idle += mark[6] - mark[0];
    return;
  }
  ++stats_->busy_loops;
  c.rx += mark[1] - mark[0];
  c.local += mark[2] - mark[1];
  c.commands += mark[3] - mark[2];
  c.apps += mark[4] - mark[3];
  c.tx += mark[5] - mark[4];
  c.events += mark[6] - mark[5];
}

void Datapath::receive_frame(const uint8_t* data, uint16_t len) {
  auto eth = wire::parse_eth(data, len);
  if (!eth) {
    ++stats_->drop_bad_eth;
    return;
  }
  if (eth->dst != cfg_.local_mac && eth->dst != wire::kBroadcastMac) {
    ++stats_->drop_bad_eth;  // another host's unicast, or multicast we never joined
    return;
  }
  if (eth->ethertype == wire::kEtherTypeArp) {
    handle_arp(data, len);
  } else if (eth->ethertype == wire::kEtherTypeIpv4) {
    handle_ipv4(data, len);
  } else {
    ++stats_->drop_bad_eth;
  }
}

void Datapath::handle_arp(const uint8_t* data, uint16_t len) {
  auto arp = wire::parse_arp(data + wire::kEthHeaderLen, len - wire::kEthHeaderLen);
  if (!arp) {
    ++stats_->drop_bad_eth;
    return;
  }
  if (arp->op == wire::kArpRequest && arp->target_ip == cfg_.local_ip) {
    Frame fr;
    if (port_.alloc(fr)) {
      wire::ArpPacket reply{wire::kArpReply, cfg_.local_mac, cfg_.local_ip, arp->sender_mac,
                            arp->sender_ip};
      fr.len = uint16_t(wire::build_arp_frame(fr.data, arp->sender_mac, cfg_.local_mac, reply));
      emit_frame(fr, arp->sender_ip);
      ++stats_->arp_replies;
    } else {
      ++stats_->drop_no_mbuf;
    }
  }
  // The slow path learns the senders of what concerns us: requests for our address, replies and
  // gratuitous announcements (sender = target); requests for other hosts teach it nothing new
  // enough to pay for. At most kArpPuntsPerS of them a second, so an ARP storm cannot crowd the
  // punt queue that carries SYNs.
  bool concerns_us = arp->target_ip == cfg_.local_ip || arp->op == wire::kArpReply ||
                     arp->sender_ip == arp->target_ip;
  if (!concerns_us) {
    ++stats_->arp_ignored;
  } else if (!arp_punts_.take(now_us_)) {
    ++stats_->arp_limited;
  } else {
    punt(data, len);
  }
}

void Datapath::handle_ipv4(const uint8_t* data, uint16_t len) {
  auto parsed = wire::parse_tcp_frame(data, len);
  if (parsed.error == wire::FrameError::kIpv4 || parsed.error == wire::FrameError::kNotTcp) {
    // UDP can only be VXLAN here. Its stage is asked even when the outer IPv4 header was refused,
    // so that a tunnel frame with a bad outer checksum is counted as a tunnel error.
    uint8_t proto = ip_protocol(data, len);
    if (proto == wire::kIpProtoUdp) {
      vxlan_input(data, len);
    } else if (proto == wire::kIpProtoIcmp) {
      icmp_input(data, len);
    } else {
      ++stats_->drop_bad_ip;
    }
    return;
  }
  if (parsed.error != wire::FrameError::kOk) {
    ++stats_->drop_bad_tcp;
    return;
  }
  const wire::TcpFrame& f = parsed.f;
  if (f.ip.dst != cfg_.local_ip) {
    ++stats_->drop_bad_ip;
    return;
  }
  FlowKey key{0, f.ip.dst, f.ip.src, f.tcp.dst_port, f.tcp.src_port};
  uint32_t flow = table_.find(key);
  // Is this a segment of an installed flow without connection-control flags? Otherwise the
  // slow path decides (handshakes, resets, unknown connections).
  if (flow == FlowTable::kNone || (f.tcp.flags & (wire::kTcpSyn | wire::kTcpRst))) {
    punt(data, len);
    return;
  }
  tcp_input(flow, f);
}

void Datapath::punt(const uint8_t* data, uint16_t len) {
  abi::PacketSlot slot;
  if (len > sizeof(slot.data)) {
    ++stats_->drop_bad_eth;
    return;
  }
  slot.len = len;
  slot.flags = 0;
  slot.reserved2 = 0;
  std::memcpy(slot.data, data, len);
  if (!ctrl_.punt().try_push(slot)) {
    ++stats_->drop_punt_full;
    return;
  }
  ++stats_->punted;
  sp_ring_pending_ = true;
}

uint32_t Datapath::poll_commands() {
  auto q = ctrl_.cmd();
  abi::FpCommand cmd;
  uint32_t n = 0;
  while (n < 64 && q.try_pop(cmd) == shm::PopResult::kOk) {
    meter_.switch_to(account_of_command(cmd));
    handle_command(cmd);
    ++n;
  }
  return n;
}

uint32_t Datapath::poll_inject() {
  auto q = ctrl_.inject();
  uint32_t n = 0;
  abi::PacketSlot slot;
  while (n < 32 && q.try_pop(slot) == shm::PopResult::kOk) {
    ++n;
    if (slot.len > sizeof(slot.data) || slot.len < wire::kEthHeaderLen) continue;
    if (slot.flags & abi::kPacketProcessAsRx) {
      meter_.switch_to(account_of_frame(slot.data, slot.len));
      receive_frame(slot.data, slot.len);
      continue;
    }
    Frame fr;
    if (!port_.alloc(fr)) {
      ++stats_->drop_no_mbuf;
      continue;
    }
    std::memcpy(fr.data, slot.data, slot.len);
    fr.len = slot.len;
    uint32_t dst_ip = 0;
    auto ip = wire::parse_ipv4(slot.data + wire::kEthHeaderLen, slot.len - wire::kEthHeaderLen, false);
    if (wire::load_be16(slot.data + 12) == wire::kEtherTypeIpv4 && ip.error == wire::Ipv4Error::kOk)
      dst_ip = ip.hdr.dst;
    ++stats_->injected;
    emit_frame(fr, dst_ip);
  }
  return n;
}

void Datapath::handle_command(const abi::FpCommand& cmd) {
  switch (FpCommandKind(cmd.kind)) {
    case FpCommandKind::kInstall:
      if (cmd.flow < priv_.size()) install_flow(cmd.flow);
      break;
    case FpCommandKind::kRemove:
      if (cmd.flow < priv_.size()) remove_flow(cmd.flow);
      break;
    case FpCommandKind::kRetransmit:
      if (cmd.flow < priv_.size() && priv_[cmd.flow].active) tcp_retransmit_timeout(cmd.flow);
      break;
    case FpCommandKind::kRehome:
      rehome_flow(cmd);
      break;
    case FpCommandKind::kFin:
      if (cmd.flow < priv_.size() && priv_[cmd.flow].active) queue_fin(cmd.flow);
      break;
    case FpCommandKind::kPathMtu:
      if (cmd.flow < priv_.size() && priv_[cmd.flow].active) tcp_path_mtu(cmd.flow);
      break;
    case FpCommandKind::kAttachCtx:
      attach_context(cmd);
      break;
    case FpCommandKind::kDetachCtx:
      detach_context(cmd.ctx);
      break;
  }
}

void Datapath::install_flow(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  Context* ctx = context_of(e);
  FlowPriv& p = priv_[id];
  if (p.active || !ctx || e.slot >= ctx->slot_flow.size()) {
    emit_sp_event(FpEventKind::kFlowError, e.ctx, id, EINVAL);
    return;
  }
  if (!table_.insert(flow_key(e), id)) {
    emit_sp_event(FpEventKind::kFlowError, e.ctx, id, EEXIST);
    return;
  }
  e.snd_una = e.snd_nxt = e.init_snd_una;
  e.rcv_nxt = e.init_rcv_nxt;
  e.snd_wnd = e.init_snd_wnd;
  e.fp_flags = 0;
  e.dupacks = 0;
  e.acked_bytes = e.retransmits = e.segs_in = e.segs_out = 0;
  e.recoveries = 0;
  e.rto_us = e.init_rto_us;
  e.srtt_us = 0;
  p = FlowPriv{};
  p.active = true;
  p.snd_max = e.snd_nxt;
  p.adv_wnd_edge = e.rcv_nxt;  // no ring: no window (below)
  p.last_ack_sent = e.rcv_nxt;
  p.max_snd_wnd = e.snd_wnd;
  p.tenant = e.tenant <= abi::kMaxTenants ? e.tenant : 0;
  uint16_t path_mss = shm::load_relaxed(e.path_mss);
  p.send_mss = path_mss && path_mss < e.mss ? path_mss : e.mss;
  p.ts_ok = e.tcp_opts & abi::kFlowOptTimestamps;
  p.sack_ok = e.tcp_opts & abi::kFlowOptSack;
  p.ecn_ok = e.tcp_opts & abi::kFlowOptEcn;
  p.ect = p.ecn_ok && (e.tcp_opts & abi::kFlowOptEct);
  p.dctcp = p.ecn_ok && (e.tcp_opts & abi::kFlowOptDctcp);
  p.round_end = e.snd_nxt;
  e.rounds = e.ece_rounds = e.cwnd_limited = 0;
  e.ece_bytes = 0;
  p.ts_recent = e.init_ts_recent;
  p.ts_recent_us = now_us_;
  p.ts_offset = e.ts_offset;
  if (abi::FlowSlot* s = slot_of(e)) {
    shm::store_relaxed(s->srtt_us, 0u);
    shm::store_relaxed(s->rttvar_us, 0u);
    shm::store_relaxed(s->retransmits, 0u);
    // The slow path's handshake offered the ring's free space, unscaled in a SYN-ACK (at most
    // 65535) and scaled in the last ACK of an active open: the smaller is surely offered.
    uint32_t rx_size = ctx->view.layout.rx_size;
    uint32_t used = s->rx_head - shm::load_acquire(s->rx_tail);
    p.adv_wnd_edge = e.rcv_nxt + std::min<uint32_t>(used > rx_size ? 0 : rx_size - used, 65535);
  }
  publish_send_mss(id);
  ctx->slot_flow[e.slot] = id;
  ctx->tenant = p.tenant;  // an app's flows are all its tenant's
  queue_tx(id);  // the app may have written before the flow was installed
  circuit_join(id, true);
}

void Datapath::remove_flow(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  if (p.active) {
    circuit_leave(id);
    table_.erase(flow_key(e));
    if (Context* ctx = context_of(e); ctx && e.slot < ctx->slot_flow.size() &&
                                      ctx->slot_flow[e.slot] == id)
      ctx->slot_flow[e.slot] = FlowTable::kNone;
    p.active = false;  // queued tx/ack entries for it are skipped when reached
  }
  emit_sp_event(FpEventKind::kRemoved, e.ctx, id, 0);
}

// kRehome: the connection changes owner (its app let go of it after fork(), another took it).
// The new slot gets the very bytes and positions of the old one, out-of-order bytes past rx_head
// included, so neither the peer nor the new app can tell; FlowPriv (scoreboard, held ranges, RTT)
// belongs to the connection, not to the slot, and stays as it is.
void Datapath::rehome_flow(const abi::FpCommand& cmd) {
  if (int err = check_rehome(cmd); err != 0) {
    emit_sp_event(FpEventKind::kRehomed, cmd.ctx, cmd.flow, err);
    return;
  }
  abi::FlowEntry& e = *ctrl_.flow(cmd.flow);
  // What the old app queued for the flow before it was taken (a kTxFin above all) would be refused
  // once the slot is gone: take its queue first. One pass over at most what the queue holds.
  Context& old_ctx = ctxs_[e.ctx];
  for (uint32_t left = old_ctx.view.layout.atx_capacity; left > 0 && old_ctx.active;) {
    uint32_t n = poll_app(e.ctx, old_ctx);
    if (n == 0) break;
    left -= std::min(left, n);
  }
  Context& from = ctxs_[e.ctx];
  Context& to = ctxs_[cmd.ctx];
  const abi::FlowSlot& src = *from.view.slot(e.slot);
  abi::FlowSlot& dst = *to.view.slot(cmd.slot);
  // The app's positions first, then only the bytes they cover: unread bytes up to the last one
  // held out of order, and written bytes not yet acknowledged.
  uint32_t rx_tail = shm::load_acquire(src.rx_tail);
  uint32_t tx_head = shm::load_acquire(src.tx_head);
  const FlowPriv& p = priv_[cmd.flow];
  uint32_t rx_end = src.rx_head + (p.ooo.empty() ? 0u : p.ooo[p.ooo.size() - 1].end - e.rcv_nxt);
  uint32_t rx_size = from.view.layout.rx_size;
  uint32_t tx_size = from.view.layout.tx_size;
  shm::ring_copy(to.view.rx_buf(cmd.slot), from.view.rx_buf(e.slot), rx_size, rx_tail,
                 std::min(rx_end - rx_tail, rx_size));
  shm::ring_copy(to.view.tx_buf(cmd.slot), from.view.tx_buf(e.slot), tx_size, src.tx_tail,
                 std::min(tx_head - src.tx_tail, tx_size));
  shm::store_relaxed(dst.srtt_us, shm::load_relaxed(src.srtt_us));
  shm::store_relaxed(dst.rttvar_us, shm::load_relaxed(src.rttvar_us));
  shm::store_relaxed(dst.retransmits, shm::load_relaxed(src.retransmits));
  shm::store_relaxed(dst.snd_mss, shm::load_relaxed(src.snd_mss));
  shm::store_relaxed(dst.tx_nospace, 0u);  // no writer of the new slot has waited yet
  shm::store_relaxed(dst.app_waiting, 0u);
  shm::store_release(dst.error, shm::load_acquire(src.error));
  shm::store_release(dst.rx_tail, rx_tail);
  shm::store_release(dst.tx_head, tx_head);
  shm::store_release(dst.tx_tail, shm::load_relaxed(src.tx_tail));
  shm::store_release(dst.rx_fin, shm::load_relaxed(src.rx_fin));
  shm::store_release(dst.rx_head, shm::load_relaxed(src.rx_head));
  from.slot_flow[e.slot] = FlowTable::kNone;  // the old slot/gen's app commands are refused from now on
  to.slot_flow[cmd.slot] = cmd.flow;
  e.ctx = cmd.ctx;
  e.slot = cmd.slot;
  e.gen = cmd.gen;
  // The old app's kTxBump or kRxConsumed may still have been queued, and is refused now.
  queue_tx(cmd.flow);
  window_update(cmd.flow);
  emit_sp_event(FpEventKind::kRehomed, cmd.ctx, cmd.flow, 0);
}

// 0 if kRehome can be carried out, else the errno for kRehomed (nothing changes then).
int Datapath::check_rehome(const abi::FpCommand& cmd) const {
  if (cmd.flow >= priv_.size()) return EINVAL;
  if (!priv_[cmd.flow].active) return ENOENT;
  const abi::FlowEntry& e = *ctrl_.flow(cmd.flow);
  if (cmd.ctx >= ctxs_.size() || e.ctx >= ctxs_.size()) return EINVAL;
  const Context& from = ctxs_[e.ctx];
  const Context& to = ctxs_[cmd.ctx];
  // The old context only has to be mapped (it may have broken its queue since); the new one
  // must be served.
  if (!from.mapping.base || !to.active) return EINVAL;
  if (e.slot >= from.slot_flow.size() || from.slot_flow[e.slot] != cmd.flow) return EINVAL;
  if (cmd.slot >= to.slot_flow.size() || to.slot_flow[cmd.slot] != FlowTable::kNone) return EINVAL;
  // Positions are free-running and keep their meaning only in rings of the same sizes.
  if (to.view.layout.rx_size != from.view.layout.rx_size ||
      to.view.layout.tx_size != from.view.layout.tx_size)
    return EINVAL;
  return 0;
}

void Datapath::attach_context(const abi::FpCommand& cmd) {
  if (cmd.ctx >= ctxs_.size() || ctxs_[cmd.ctx].mapping.base || !cmd.layout.valid()) {
    emit_sp_event(FpEventKind::kCtxAttached, cmd.ctx, 0, EINVAL);
    return;
  }
  Context& ctx = ctxs_[cmd.ctx];
  int err = host_.attach_context(cmd.ctx, cmd.layout, ctx.mapping);
  if (err == 0 && ctx.mapping.bytes < cmd.layout.total_bytes()) err = EINVAL;
  if (err != 0) {
    emit_sp_event(FpEventKind::kCtxAttached, cmd.ctx, 0, err);
    return;
  }
  ctx.view = {ctx.mapping.base, cmd.layout};
  ctx.slot_flow.assign(cmd.layout.n_slots, FlowTable::kNone);
  ctx.active = true;
  ctx.ring_pending = false;
  active_ctxs_.push_back(cmd.ctx);
  emit_sp_event(FpEventKind::kCtxAttached, cmd.ctx, 0, 0);
}

void Datapath::detach_context(uint16_t id) {
  if (id >= ctxs_.size() || !ctxs_[id].mapping.base) return;
  Context& ctx = ctxs_[id];
  std::erase(active_ctxs_, id);
  for (uint32_t flow : ctx.slot_flow)
    if (flow != FlowTable::kNone) remove_flow(flow);  // the slow path removes first; be safe anyway
  host_.detach_context(id, ctx.mapping);
  ctx = Context{};
  emit_sp_event(FpEventKind::kCtxDetached, id, 0, 0);
}

void Datapath::emit_sp_event(FpEventKind kind, uint16_t ctx, uint32_t flow, int32_t value) {
  abi::FpEvent ev{uint16_t(kind), ctx, flow, value, 0};
  sp_ring_pending_ = true;
  if (sp_backlog_.empty() && ctrl_.evt().try_push(ev)) return;
  // Full is normal: keep the event and retry; events are bounded by flows and contexts.
  if (sp_backlog_.size() < sp_backlog_.capacity()) {
    sp_backlog_.push_back(ev);
  } else {
    ++stats_->sp_events_lost;  // never expected (the backlog holds four per flow): say so if it is
  }
}

void Datapath::flush_sp_events() {
  if (sp_backlog_.empty()) return;
  auto q = ctrl_.evt();
  size_t i = 0;
  while (i < sp_backlog_.size() && q.try_push(sp_backlog_[i])) ++i;
  sp_backlog_.erase(sp_backlog_.begin(), sp_backlog_.begin() + long(i));
}

void Datapath::ring_doorbells() {
  shm::full_fence();  // our pushes before their sleeping flags (they set flag, then re-check)
  if (sp_ring_pending_) {
    sp_ring_pending_ = false;
    if (shm::load_relaxed(ctrl_.header()->sp_sleeping)) host_.ring_slowpath();
  }
  for (uint16_t id : active_ctxs_) {
    Context& ctx = ctxs_[id];
    if (!ctx.ring_pending) continue;
    ctx.ring_pending = false;
    meter_.switch_to(ctx.tenant);  // a doorbell is a system call: the app's tenant pays
    if (shm::load_relaxed(ctx.view.header()->app_sleeping)) host_.ring(ctx.mapping.doorbell_fd);
  }
}

void Datapath::announce_sleep(bool sleeping) {
  uint32_t v = sleeping ? 1 : 0;
  shm::store_seq_cst(ctrl_.header()->fp_sleeping, v);
  for (uint16_t id : active_ctxs_) shm::store_seq_cst(ctxs_[id].view.header()->fp_sleeping, v);
}

uint64_t Datapath::sleep_limit_us() const {
  if (!ctrl_.cmd().looks_empty() || !ctrl_.inject().looks_empty()) return 0;
  if (!local_.empty() || !tx_queue_.empty() || !ack_queue_.empty() || !sp_backlog_.empty()) return 0;
  if (!backlog_.waiting().empty()) return 0;  // parked frames are served as budget allows
  for (uint16_t id : active_ctxs_)
    if (ctxs_[id].active && !ctxs_[id].view.atx().looks_empty()) return 0;
  uint64_t due = std::min({pacing_.next_due_us(), rack_timer_.next_due_us(), tlp_timer_.next_due_us()});
  for (uint32_t id : delack_flows_)
    if (priv_[id].active && priv_[id].delack_armed) due = std::min(due, priv_[id].delack_deadline_us);
  if (due == UINT64_MAX) return UINT64_MAX;
  uint64_t now = clock_.now_us();
  return due >= now + kSleepBeforeTimerUs ? due - now - kSleepBeforeTimerUs : 0;
}

abi::FlowSlot* Datapath::slot_of(const abi::FlowEntry& e) {
  Context* ctx = context_of(e);
  return ctx ? ctx->view.slot(e.slot) : nullptr;
}

Datapath::Context* Datapath::context_of(const abi::FlowEntry& e) {
  if (e.ctx >= ctxs_.size() || !ctxs_[e.ctx].active) return nullptr;
  return &ctxs_[e.ctx];
}

}  // namespace virtuoso::fastpath

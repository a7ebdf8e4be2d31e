// TCP transmit for installed flows: segmentation within the peer's window (with sender SWS
// avoidance), FIN, options on every segment, immediate and delayed ACKs, the advertised window.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

void Datapath::queue_tx(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.tx_queued) return;
  p.tx_queued = true;
  tx_queue_.push_back(id);
}

// FIN after the bytes queued so far: the app's kTxFin, or the slow path's kFin for a connection
// no app holds any more.
void Datapath::queue_fin(uint32_t id) {
  ctrl_.flow(id)->fp_flags |= abi::kFlowFinQueued;
  queue_tx(id);
}

void Datapath::queue_ack(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.ack_needed) return;
  p.ack_needed = true;
  ack_queue_.push_back(id);
}

void Datapath::schedule_delayed_ack(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.ack_needed || p.delack_armed) return;
  p.delack_armed = true;
  p.delack_deadline_us = now_us_ + cfg_.delayed_ack_us;
  if (!p.in_delack_list) {
    p.in_delack_list = true;
    delack_flows_.push_back(id);
  }
}

uint32_t Datapath::run_delayed_acks() {
  uint32_t fired = 0;
  size_t keep = 0;
  for (uint32_t id : delack_flows_) {
    FlowPriv& p = priv_[id];
    if (p.active && p.delack_armed && now_us_ < p.delack_deadline_us) {
      delack_flows_[keep++] = id;  // still waiting for a segment to carry it
      continue;
    }
    p.in_delack_list = false;
    if (p.active && p.delack_armed) {
      p.delack_armed = false;
      ++stats_->delayed_acks;
      queue_ack(id);
      ++fired;
    }
  }
  delack_flows_.resize(keep);
  return fired;
}

uint32_t Datapath::run_tx_queue() {
  work_.swap(tx_queue_);
  uint32_t segs = 0;
  for (uint32_t id : work_) {
    priv_[id].tx_queued = false;
    if (!priv_[id].active) continue;
    uint32_t acct = account_of_flow(id);
    if (!may_run(acct)) {
      ++budget_accounts_[acct].deferred_tx;
      queue_tx(id);  // waits for a refill
      continue;
    }
    meter_.switch_to(acct);
    uint32_t n = tcp_output(id);
    if (n) note_work(acct);
    segs += n;
    if (n >= cfg_.tx_segments_per_flow) queue_tx(id);  // more to send: after the others had a turn
  }
  work_.clear();
  return segs;
}

uint32_t Datapath::run_ack_queue() {
  work_.swap(ack_queue_);
  uint32_t n = 0;
  for (uint32_t id : work_) {
    FlowPriv& p = priv_[id];
    if (!p.ack_needed) continue;  // a data segment carried it already
    p.ack_needed = false;
    if (!p.active) continue;
    meter_.switch_to(account_of_flow(id));
    abi::FlowEntry& e = *ctrl_.flow(id);
    send_segment(id, e.snd_nxt, 0, wire::kTcpAck);
    ++n;
  }
  work_.clear();
  return n;
}

// Payload bytes the next segment can carry: the MSS less the options it will hold.
uint32_t Datapath::segment_room(uint32_t id) {
  FlowPriv& p = priv_[id];
  uint32_t opts = p.ts_ok ? uint32_t(wire::kTcpTimestampsLen) : 0;
  if (size_t n = sack_blocks_to_send(p)) opts += 4 + 8 * uint32_t(n);
  return p.send_mss > opts ? p.send_mss - opts : 1;
}

size_t Datapath::sack_blocks_to_send(const FlowPriv& p) const {
  if (!p.sack_ok) return 0;
  return std::min(p.ooo.size() + (p.dsack_pending ? 1 : 0), p.ts_ok ? size_t{3} : wire::kMaxSackBlocks);
}

uint32_t Datapath::tcp_output(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  abi::FlowSlot* s = slot_of(e);
  Context* ctx = context_of(e);
  if (!s || !ctx) return 0;
  uint32_t queued = shm::load_acquire(s->tx_head) - s->tx_tail;
  uint32_t sent = data_in_flight(e);
  if (queued > ctx->view.layout.tx_size || sent > queued) {
    fail_flow(id, EIO);  // the app moved tx_head outside its ring
    return 0;
  }
  if (e.fp_flags & abi::kFlowFinQueued && queued > sent && p.fin_seq_valid &&
      wire::seq_ge(e.snd_nxt, p.fin_seq)) {
    fail_flow(id, EPIPE);  // bytes written after shutdown(SHUT_WR)
    return 0;
  }
  uint32_t unsent = queued - sent;
  uint32_t segs = 0;
  if (p.circuit != kNoCircuit) {
    uint32_t moved = circuit_output(id, unsent);
    unsent -= moved;
    segs += moved > 0 ? 1 : 0;
  } else {
    segs = segment_output(id, unsent);  // lowers unsent by what it sent
  }
  bool bare_fin = unsent == 0 && (e.fp_flags & abi::kFlowFinQueued) &&
                  !(e.fp_flags & (abi::kFlowFinSent | abi::kFlowFinAcked));
  if (bare_fin && send_segment(id, e.snd_nxt, 0, wire::kTcpAck | wire::kTcpFin)) {
    p.fin_seq = e.snd_nxt;
    p.fin_seq_valid = true;
    e.snd_nxt += 1;
    e.fp_flags |= abi::kFlowFinSent;
    ++segs;
  }
  if (wire::seq_gt(e.snd_nxt, p.snd_max)) p.snd_max = e.snd_nxt;
  if (segs != 0) tlp_schedule(id);  // new data left: the probe timeout starts again
  return segs;
}

// Data segments within the peer's window and the congestion window, at most
// tx_segments_per_flow of them; `unsent` drops by the bytes sent. Returns the segments sent.
uint32_t Datapath::segment_output(uint32_t id, uint32_t& unsent) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint32_t segs = 0;
  // In flight is bounded by the peer's window and by congestion control's (the slow path's).
  // SACKed bytes have left the network: they do not count against the congestion window (the
  // "pipe" of RFC 6675), so a hole at snd_una does not stop new data while it is repaired.
  // During a SACK recovery PRR, not the window, says how much may go (checked per segment).
  uint32_t cwnd = p.prr.active() ? 0 : shm::load_relaxed(e.cwnd);
  uint32_t pipe_room = cwnd ? cwnd + p.sacked.bytes() : UINT32_MAX;
  uint32_t wnd_end = e.snd_una + std::min(e.snd_wnd, pipe_room);
  bool cwnd_bound = pipe_room < e.snd_wnd;  // congestion control, not the peer, sets the edge
  while (unsent > 0 && segs < cfg_.tx_segments_per_flow) {
    uint32_t usable = wire::seq_gt(wnd_end, e.snd_nxt) ? wnd_end - e.snd_nxt : 0;
    if (usable == 0) {
      // RFC 7661: the window may grow only while it limits; the slow path asks this counter.
      if (cwnd_bound) ++e.cwnd_limited;
      break;  // else the slow path's timer probes a zero window
    }
    uint32_t room = segment_room(id);
    uint32_t len = std::min({unsent, room, usable});
    // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a window-limited sliver waits for the window
    // to open while earlier segments are in flight, unless it is half the largest window seen.
    if (len < unsent && len < room && e.snd_nxt != e.snd_una && len < p.max_snd_wnd / 2) break;
    if (!p.prr.may_send(e.snd_nxt == e.snd_una)) {
      ++stats_->prr_waits;
      break;  // the next ACK of the recovery releases more
    }
    if (!pace_allows(id)) break;  // the pacing wheel brings the flow back when its time comes
    bool last = len == unsent;
    bool fin = last && (e.fp_flags & abi::kFlowFinQueued) && !(e.fp_flags & abi::kFlowFinAcked);
    uint8_t flags = wire::kTcpAck | (last ? wire::kTcpPsh : 0) | (fin ? wire::kTcpFin : 0);
    if (!send_segment(id, e.snd_nxt, len, flags)) break;
    p.prr.sent(len);
    if (!p.rtt_timing && e.snd_nxt == p.snd_max) {  // new data, never sent before: time it
      p.rtt_timing = true;
      p.rtt_seq = e.snd_nxt + len;
      p.rtt_start_us = now_us_;
    }
    e.snd_nxt += len;
    unsent -= len;
    ++segs;
    if (fin) {
      p.fin_seq = e.snd_nxt;
      p.fin_seq_valid = true;
      e.snd_nxt += 1;
      e.fp_flags |= abi::kFlowFinSent;
    }
    if (wire::seq_gt(e.snd_nxt, p.snd_max)) p.snd_max = e.snd_nxt;
  }
  return segs;
}

// Free receive-ring space as a window, with receiver SWS avoidance (RFC 9293 3.8.6.2.2): the
// right edge never moves left, and moves right only by min(half the ring, one segment) or more.
uint16_t Datapath::advertised_window(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  abi::FlowSlot* s = slot_of(e);
  Context* ctx = context_of(e);
  if (!s || !ctx) return 0;
  uint32_t rx_size = ctx->view.layout.rx_size;
  uint32_t used = s->rx_head - shm::load_acquire(s->rx_tail);
  uint32_t wnd = used > rx_size ? 0 : rx_size - used;
  uint32_t cur = p.advertised_bytes(e.rcv_nxt);
  if (wnd > cur && wnd - cur < std::min<uint32_t>(rx_size / 2, e.mss)) wnd = cur;
  wnd = std::max(wnd, cur);
  uint32_t scaled = std::min<uint32_t>(wnd >> e.rcv_wscale, 65535);
  // Rounding down by the scale could pull the edge left: round up instead in that case.
  if ((scaled << e.rcv_wscale) < cur && scaled < 65535) ++scaled;
  return uint16_t(scaled);
}

void Datapath::fill_options(uint32_t id, wire::TcpOptionsOut& o) {
  FlowPriv& p = priv_[id];
  if (p.ts_ok) {
    o.timestamps = true;
    o.ts_val = ts_now(p);
    o.ts_ecr = p.ts_recent;
  }
  size_t n = sack_blocks_to_send(p);
  if (!n) return;
  auto add = [&](const SeqRange& r) {
    for (uint8_t i = 0; i < o.n_sack; ++i)
      if (o.sack[i].start == r.start) return;
    if (o.n_sack < n) o.sack[o.n_sack++] = {r.start, r.end};
  };
  if (p.dsack_pending) {
    add(p.dsack);  // RFC 2883: the duplicate first, reported once
    p.dsack_pending = false;
  }
  // RFC 2018 4: the range of the latest arrival first, then those of the arrivals before it,
  // then the highest ranges.
  for (uint8_t i = 0; i < p.n_sack_recent; ++i)
    if (const SeqRange* r = p.ooo.find(p.sack_recent[i])) add(*r);
  for (size_t i = p.ooo.size(); i-- > 0 && o.n_sack < n;) add(p.ooo[i]);
}

bool Datapath::send_segment(uint32_t id, uint32_t seq, uint32_t len, uint8_t flags) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  Context* ctx = context_of(e);
  if (!ctx) return false;
  Frame fr;
  if (!port_.alloc(fr)) {
    ++stats_->drop_no_mbuf;
    return false;
  }
  uint16_t wnd = advertised_window(id);
  if (p.ece_pending) flags |= wire::kTcpEce;
  if (p.cwr_pending && len) {
    flags |= wire::kTcpCwr;  // RFC 3168 6.1.2: we saw ECE (the slow path cuts the window)
    p.cwr_pending = false;
  }
  // A tunnelled flow's segment is the inner frame, with the addresses of its virtual network.
  bool tunnel = e.vni != 0;
  uint8_t* seg = fr.data + segment_offset(e);
  wire::TcpFrameOut out{};
  std::memcpy(out.eth_src.data(), tunnel ? e.inner_local_mac : cfg_.local_mac.data(), 6);
  std::memcpy(out.eth_dst.data(), tunnel ? e.inner_remote_mac : e.remote_mac, 6);
  out.ip_src = e.local_ip;
  out.ip_dst = e.remote_ip;
  out.ip_id = ip_id_++;
  // RFC 3168 6.1.1 and 6.1.5: new data is ECN-capable; pure ACKs and resent data are not.
  if (p.ect && len && !wire::seq_lt(seq, p.snd_max)) out.ip_tos = wire::kEcnEct0;
  out.tcp = {e.local_port, e.remote_port, seq, e.rcv_nxt, flags, wnd, {}};
  fill_options(id, out.tcp.opts);
  size_t off = wire::tcp_payload_offset(out.tcp.opts);
  if (len) {
    abi::FlowSlot* s = ctx->view.slot(e.slot);
    uint32_t pos = s->tx_tail + (seq - e.snd_una);
    shm::ring_read(ctx->view.tx_buf(e.slot), ctx->view.layout.tx_size, pos, seg + off, len);
  }
  size_t flen = wire::build_tcp_frame(seg, out, len);
  if (tunnel) flen = vxlan_encap(e, fr.data, flen);
  if (flen < kMinEthFrame) {  // a tunnelled frame never is: the outer headers alone are 50 bytes
    std::memset(fr.data + flen, 0, kMinEthFrame - flen);
    flen = kMinEthFrame;
  }
  fr.len = uint16_t(flen);
  p.adv_wnd_edge = e.rcv_nxt + (uint32_t(wnd) << e.rcv_wscale);
  p.last_ack_sent = e.rcv_nxt;
  p.unacked_bytes = 0;
  p.ack_needed = false;
  p.delack_armed = false;
  ++e.segs_out;
  ++(len ? stats_->tx_data_segments : stats_->tx_pure_acks);
  if (len && !wire::seq_lt(seq, p.snd_max)) pace_sent(id, len);  // new data only (pacing.cpp)
  abi::TenantStats& ts = tenant_stats(id);
  ++ts.tx_segments;
  ts.tx_bytes += len;
  emit_frame(fr, tunnel ? e.vtep_ip : e.remote_ip);
  return true;
}

void Datapath::emit_frame(Frame& fr, uint32_t dst_ip) {
  if (dst_ip == cfg_.local_ip) {
    // To ourselves: delivered inside the daemon next iteration; the port never sees it.
    if (local_.size() < local_.capacity()) {
      local_.push_back(fr);
      ++stats_->local_delivered;
    } else {
      port_.free(fr);
      ++stats_->drop_tx_full;
    }
    return;
  }
  ++stats_->tx_frames;
  stats_->tx_bytes += fr.len;
  port_.send(fr);
}

uint32_t Datapath::deliver_local() {
  if (local_.empty()) return 0;
  local_next_.swap(local_);
  for (Frame& fr : local_next_) {
    meter_.switch_to(account_of_frame(fr.data, fr.len));
    receive_frame(fr.data, fr.len);
    port_.free(fr);
  }
  uint32_t n = uint32_t(local_next_.size());
  local_next_.clear();
  return n;
}

}  // namespace virtuoso::fastpath

// TCP receive for installed flows: PAWS, ECN marks, acknowledgements and SACK, window updates,
// in-order and out-of-order payload, FIN.
#include <algorithm>
#include <cerrno>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

using wire::seq_ge;
using wire::seq_gt;
using wire::seq_le;
using wire::seq_lt;

namespace {
constexpr uint64_t kPawsIdleUs = 24ull * 24 * 3600 * 1'000'000;  // RFC 7323 5.5
}  // namespace

void Datapath::tcp_input(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  abi::TenantStats& ts = tenant_stats(id);
  ++e.segs_in;
  ++stats_->rx_segments;
  ++ts.rx_segments;
  ts.rx_bytes += f.payload_len;
  if (!(f.tcp.flags & wire::kTcpAck)) {
    ++stats_->drop_bad_tcp;  // RFC 9293 3.10.7.4: in synchronized states a segment without ACK is dropped
    ++ts.drop_bad_tcp;
    return;
  }
  const wire::TcpOptions& o = f.tcp.opts;
  if (p.ts_ok && o.has_timestamps) {
    bool expired = now_us_ - p.ts_recent_us > kPawsIdleUs;  // the peer's clock may have wrapped since
    if (seq_lt(o.ts_val, p.ts_recent) && !expired) {
      ++stats_->paws_dropped;  // RFC 7323 5.3 R1: an old duplicate; acknowledge and drop it
      queue_ack(id);
      return;
    }
    // RFC 7323 4.3: remember the TSval of a segment that covers the edge we last acknowledged.
    if (seq_le(f.tcp.seq, p.last_ack_sent)) {
      p.ts_recent = o.ts_val;
      p.ts_recent_us = now_us_;
    }
  }
  if (p.ecn_ok) tcp_ecn_input(id, f);
  if (!tcp_process_ack(id, f)) return;
  if (p.active) tcp_place_payload(id, f);
}

// RFC 3168 as receiver (CE echoed as ECE until the sender's CWR; DCTCP's exact echo instead, RFC
// 8257 3.2) and as sender (ECE noted for CWR and for the round's congestion signal).
void Datapath::tcp_ecn_input(uint32_t id, const wire::TcpFrame& f) {
  FlowPriv& p = priv_[id];
  bool mark = (f.ip.tos & wire::kEcnMask) == wire::kEcnCe;
  if (mark) {
    ++stats_->ce_received;
  } else if (f.payload_len && budget_pressure(account_of_flow(id))) {
    // Time protection's back-pressure: the tenant is short of CPU time, which its sender hears
    // as congestion would be signalled, before its frames are parked or dropped.
    ++budget_accounts_[account_of_flow(id)].ecn_marked;
    mark = true;
  }
  if (p.dctcp) {
    // Each ACK tells whether the data it answers carried CE, so a change of state is
    // acknowledged at once (without delaying the ACK).
    if (f.payload_len && mark != p.ece_pending) {
      p.ece_pending = mark;
      queue_ack(id);
    }
  } else {
    if (f.tcp.flags & wire::kTcpCwr) p.ece_pending = false;
    if (mark) {
      p.ece_pending = true;
      queue_ack(id);  // the echo should not wait for a delayed ACK
    }
  }
  if (f.tcp.flags & wire::kTcpEce) {
    p.cwr_pending = true;
    p.round_ece = true;
  }
}

void Datapath::tcp_update_scoreboard(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  const wire::TcpOptions& o = f.tcp.opts;
  // RFC 2883 4: the first block reports a duplicate when it lies below the cumulative ACK or
  // inside the second block. It adds nothing to the scoreboard, but may show a resend needless.
  if (o.n_sack > 0 && seq_lt(o.sack[0].start, o.sack[0].end)) {
    uint32_t start = o.sack[0].start, end = o.sack[0].end;
    bool below_ack = wire::seq_le(end, f.tcp.ack);
    bool inside_next = o.n_sack > 1 && wire::seq_ge(start, o.sack[1].start) && wire::seq_le(end, o.sack[1].end);
    if (below_ack || inside_next) note_dsack(id, start, end);
  }
  for (uint8_t i = 0; i < o.n_sack; ++i) {
    uint32_t start = o.sack[i].start, end = o.sack[i].end;
    // Ignore D-SACKs and blocks for data never sent (RFC 2883, RFC 6675 5.1).
    if (!seq_lt(start, end) || !seq_gt(end, e.snd_una) || seq_gt(end, p.snd_max)) continue;
    p.sacked.add(wire::seq_max(start, e.snd_una), end, uint32_t(now_us_));
  }
}

void Datapath::tcp_sample_rtt(uint32_t id, const wire::TcpFrame& f, uint32_t ack) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  bool sampled = false;
  if (p.rtt_timing && seq_ge(ack, p.rtt_seq)) {
    p.rtt.sample(uint32_t(std::min<uint64_t>(now_us_ - p.rtt_start_us, UINT32_MAX)));
    p.rtt_timing = false;
    sampled = true;
  } else if (p.ts_ok && f.tcp.opts.has_timestamps && f.tcp.opts.ts_ecr != 0) {
    // RFC 7323 4.1: the echoed timestamp dates the segment the peer answered, even one sent
    // again, so a sample exists where Karn's rule forbids the timed one. Milliseconds only: a
    // difference of 1 is any round trip from a few microseconds to 2 ms (the clock ticked in
    // between), so it counts only for a flow whose round trip is a millisecond or more; taken
    // for a 100 us flow it would make its pacing rate a tenth of its window's.
    uint32_t ms = ts_now(p) - f.tcp.opts.ts_ecr;
    bool meaningful = ms >= 2 || (ms == 1 && p.rtt.srtt_us() >= 1000);
    if (meaningful && ms < 60'000) {
      p.rtt.sample(ms * 1000);
      sampled = true;
    }
  }
  if (!sampled) return;
  uint32_t sample = std::max<uint32_t>(p.rtt.last_us(), 1);
  if (p.round_rtt_min_us == 0 || sample < p.round_rtt_min_us) p.round_rtt_min_us = sample;
  if (e.rtt_min_us == 0 || sample < e.rtt_min_us) e.rtt_min_us = sample;
  e.rto_us = p.rtt.rto_us();
  e.srtt_us = p.rtt.srtt_us();
  if (abi::FlowSlot* s = slot_of(e)) {
    shm::store_relaxed(s->srtt_us, p.rtt.srtt_us());
    shm::store_relaxed(s->rttvar_us, p.rtt.rttvar_us());
  }
}

bool Datapath::tcp_process_ack(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint32_t ack = f.tcp.ack;
  // RFC 9293 3.10.7.4 and RFC 5961 5.2: an ACK of something never sent, or of data older than the
  // largest window the peer ever offered, is not this connection's: answer it with an ACK and drop
  // the whole segment, data included (blind data injection needs a believable ACK too).
  if (seq_gt(ack, p.snd_max) || seq_lt(ack, e.snd_una - p.max_snd_wnd)) {
    ++stats_->drop_bad_ack;
    queue_ack(id);
    return false;
  }
  uint32_t new_wnd = uint32_t(f.tcp.window) << e.snd_wscale;
  p.max_snd_wnd = std::max(p.max_snd_wnd, new_wnd);
  size_t sacked_before = p.sacked.bytes();
  LateWatch late = rack_watch_late(id);
  if (p.sack_ok && f.tcp.opts.n_sack) tcp_update_scoreboard(id, f);
  if (seq_gt(ack, e.snd_una)) {
    uint32_t acked = ack - e.snd_una;
    bool fin_acked = p.fin_seq_valid && ack == p.fin_seq + 1 && !(e.fp_flags & abi::kFlowFinAcked);
    uint32_t data_acked = acked - (fin_acked ? 1 : 0);
    bool tell_app = data_acked && free_tx(id, data_acked);
    tcp_sample_rtt(id, f, ack);
    e.snd_una = ack;
    if (seq_lt(e.snd_nxt, ack)) e.snd_nxt = ack;  // after a go-back-N the peer had more than we thought
    p.sacked.trim_below(ack);
    rack_check_late(id, late, ack);
    // RFC 6937's DeliveredData: newly acknowledged, plus newly SACKed, less SACKed bytes the
    // cumulative ACK now covers (they were delivered when SACKed).
    int64_t delivered = int64_t(data_acked) + int64_t(p.sacked.bytes()) - int64_t(sacked_before);
    e.acked_bytes += data_acked;
    if (f.tcp.flags & wire::kTcpEce) e.ece_bytes += data_acked;
    if (seq_ge(ack, p.round_end)) {
      ++e.rounds;
      if (p.round_ece) ++e.ece_rounds;
      p.round_ece = false;
      p.round_end = e.snd_nxt;
      if (p.round_rtt_min_us != 0) {
        e.rtt_round_us = p.round_rtt_min_us;
        ++e.rtt_rounds;
        p.round_rtt_min_us = 0;
      }
    }
    e.dupacks = 0;
    e.snd_wnd = new_wnd;
    if (tell_app) note_app_event(id, abi::AppEventKind::kTxSpace);
    if (fin_acked) {
      e.fp_flags |= abi::kFlowFinAcked | abi::kFlowFinSent;
      emit_sp_event(abi::FpEventKind::kFinAcked, e.ctx, id, 0);
    }
    if (p.in_recovery) tcp_recovery_ack(id, ack, uint32_t(std::max<int64_t>(delivered, 0)));
    p.tlp_done = false;  // progress: a new episode, its probe timeout from now
    tlp_schedule(id);
    queue_tx(id);
    if (e.snd_una == p.snd_max) circuit_retry(id);  // a same-host flow left on frames may join now
    return true;
  }
  if (ack != e.snd_una) return true;  // an old ACK: nothing to learn from it
  rack_check_late(id, late, ack);
  bool window_opened = new_wnd > e.snd_wnd;
  bool new_sack = p.sacked.bytes() != sacked_before;
  bool is_dup = f.payload_len == 0 && !(f.tcp.flags & wire::kTcpFin) && e.snd_nxt != e.snd_una &&
                (new_wnd == e.snd_wnd || new_sack);
  e.snd_wnd = new_wnd;
  if (window_opened || new_sack) queue_tx(id);  // SACKed bytes left the pipe: room for more
  if (new_sack) tlp_schedule(id);  // data was delivered: the probe timeout starts again
  if (is_dup) ++e.dupacks;
  // A receiver's window moves with every ACK it sends, so during a recovery any ACK at snd_una
  // counts: each may release more holes (RFC 6675 5 (C)) or show a resend was lost.
  if (f.payload_len || (f.tcp.flags & wire::kTcpFin) || e.snd_nxt == e.snd_una) return true;
  // A duplicate ACK delivers only what it newly SACKs.
  uint32_t delivered = uint32_t(std::max<int64_t>(int64_t(p.sacked.bytes()) - int64_t(sacked_before), 0));
  if (p.in_recovery) {
    tcp_recovery_dupack(id, delivered);
  } else if (loss_suspected(id) && rack_first_hole_lost(id)) {
    tcp_enter_recovery(id, delivered);
  }
  return true;
}

bool Datapath::loss_suspected(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  return e.dupacks >= 3 || (p.sack_ok && p.sacked.bytes() >= 3u * p.send_mss) || early_retransmit(id);
}

// RFC 5827: with fewer than four segments in flight and nothing more to send, three duplicate
// ACKs can never come; one fewer than the segments in flight (at least one) is enough.
bool Datapath::early_retransmit(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  uint32_t flight = data_in_flight(e);
  uint32_t mss = priv_[id].send_mss;
  if (flight == 0 || flight >= 4u * mss || has_unsent(id)) return false;
  uint32_t segs = (flight + mss - 1) / mss;
  return e.dupacks >= std::max<uint32_t>(segs - 1, 1);
}

void Datapath::tcp_place_payload(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  bool fin = f.tcp.flags & wire::kTcpFin;
  uint32_t len = uint32_t(f.payload_len);
  if (len == 0 && !fin) {
    // A pure ACK, unless its sequence number is outside the window: then it is a peer's
    // keepalive or zero-window probe (seq rcv_nxt - 1), which must be answered (RFC 9293 3.10.7.4),
    // or the peer gives the connection up.
    uint32_t wnd = p.advertised_bytes(e.rcv_nxt);
    if (!wire::seq_in(f.tcp.seq, e.rcv_nxt, e.rcv_nxt + std::max<uint32_t>(wnd, 1))) queue_ack(id);
    return;
  }
  if (e.fp_flags & abi::kFlowPeerFin) {
    queue_ack(id);  // the stream has ended: this is a retransmission
    return;
  }
  const uint8_t* data = f.payload;
  uint32_t seq = f.tcp.seq;
  if (seq_lt(seq, e.rcv_nxt)) {
    uint32_t skip = e.rcv_nxt - seq;
    if (skip > len || (skip == len && !fin)) {
      ++stats_->dup_segments;
      if (p.sack_ok && len) {
        p.dsack = {seq, seq + len};
        p.dsack_pending = true;
      }
      queue_ack(id);  // entirely old: the peer missed our ACK, or resent needlessly
      return;
    }
    data += skip;
    len -= skip;
    seq = e.rcv_nxt;
  }
  abi::FlowSlot* s = slot_of(e);
  Context* ctx = context_of(e);
  if (!s || !ctx) return;
  uint32_t rx_size = ctx->view.layout.rx_size;
  uint32_t used = s->rx_head - shm::load_acquire(s->rx_tail);
  if (used > rx_size) {
    fail_flow(id, EIO);  // the app corrupted its consumer position
    return;
  }
  // RFC 9293 3.10.7.4: only what lies inside the window we advertised is accepted, even when the
  // ring has room beyond it (the app read meanwhile); the rest is trimmed and never acknowledged.
  // The edge never passes the ring's room (it was set from it, and both move with rcv_nxt).
  uint32_t room = std::min(rx_size - used, p.advertised_bytes(e.rcv_nxt));
  if (seq != e.rcv_nxt) {
    tcp_place_ooo(id, seq, data, len, fin, room);
    return;
  }
  uint32_t n = std::min(len, room);
  if (n) shm::ring_write(ctx->view.rx_buf(e.slot), rx_size, s->rx_head, data, n);
  uint32_t advance = n;
  bool gap_filled = false;
  if (n == len && !p.ooo.empty()) {
    // The hole before the held data is filled: take every range that now follows on.
    uint32_t end = e.rcv_nxt + n;
    p.ooo.trim_below(end);
    while (!p.ooo.empty() && p.ooo[0].start == end) {
      end = p.ooo[0].end;
      p.ooo.trim_below(end);
    }
    advance = end - e.rcv_nxt;
    gap_filled = true;
  }
  if (advance) {
    shm::store_release(s->rx_head, s->rx_head + advance);
    e.rcv_nxt += advance;
    p.unacked_bytes += advance;
    note_app_event(id, abi::AppEventKind::kRxData);
  }
  if (n < len) {
    ++stats_->drop_rx_window;  // beyond our window: the peer sends it again
    ++tenant_stats(id).drop_rx_window;
    fin = false;
  }
  if (p.peer_fin_pending && e.rcv_nxt == p.peer_fin_seq) fin = true;  // it waited for the gap
  if (fin) {
    tcp_peer_fin(id);
    return;
  }
  // RFC 5681 4.2: ACK at once when a gap closes or every second full segment; else delay.
  if (gap_filled || p.unacked_bytes >= 2u * e.mss || n < len) {
    queue_ack(id);
  } else {
    schedule_delayed_ack(id);
  }
}

void Datapath::tcp_place_ooo(uint32_t id, uint32_t seq, const uint8_t* data, uint32_t len, bool fin,
                             uint32_t room) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  queue_ack(id);  // RFC 5681 4.2: an out-of-order segment is acknowledged at once (a duplicate ACK)
  uint32_t offset = seq - e.rcv_nxt;
  if (offset >= room) {
    ++stats_->drop_rx_window;
    ++tenant_stats(id).drop_rx_window;
    return;
  }
  uint32_t n = std::min(len, room - offset);
  if (n < len) fin = false;
  if (n && !p.ooo.add(seq, seq + n)) {
    ++stats_->ooo_dropped;  // every range is taken: the peer's retransmission fills it later
    return;
  }
  if (n) {
    Context* ctx = context_of(e);
    abi::FlowSlot* s = slot_of(e);
    // Past rx_head, where the app does not read: the bytes become visible when the gap fills.
    shm::ring_write(ctx->view.rx_buf(e.slot), ctx->view.layout.rx_size, s->rx_head + offset, data, n);
    for (size_t i = std::min<size_t>(p.n_sack_recent, kSackHistory - 1); i > 0; --i)
      p.sack_recent[i] = p.sack_recent[i - 1];
    p.sack_recent[0] = seq;
    p.n_sack_recent = uint8_t(std::min<size_t>(p.n_sack_recent + 1, kSackHistory));
    ++stats_->ooo_segments;
  }
  if (fin) {
    p.peer_fin_seq = seq + n;
    p.peer_fin_pending = true;
  }
}

void Datapath::tcp_peer_fin(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  abi::FlowSlot* s = slot_of(e);
  e.rcv_nxt += 1;
  e.fp_flags |= abi::kFlowPeerFin;
  p.peer_fin_pending = false;
  p.ooo.clear();
  if (s) shm::store_release(s->rx_fin, 1u);
  note_app_event(id, abi::AppEventKind::kPeerFin);
  emit_sp_event(abi::FpEventKind::kPeerFin, e.ctx, id, 0);
  queue_ack(id);
}

}  // namespace virtuoso::fastpath

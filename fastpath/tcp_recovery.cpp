// TCP loss recovery: fast retransmit and SACK-driven hole filling (RFC 6675; once the flow has seen
// reordering, a hole waits RACK's reordering window first, rack.cpp) at the pace of
// Proportional Rate Reduction (RFC 6937), recoveries D-SACKs show needless (RFC 3708), NewReno
// partial ACKs without SACK (RFC 6582), and what the slow path's retransmission timer asks for: a
// go-back-N resend (RFC 6298 5.4) or a zero-window probe (RFC 9293 3.8.6.1).
#include <algorithm>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

using wire::seq_ge;
using wire::seq_gt;
using wire::seq_lt;

namespace {
constexpr uint32_t kHolesPerAck = 8;  // holes one ACK may release (bounds a burst of resends)
}  // namespace

// How long after a pass over the holes a gap still reported means the resend was lost: two
// round trips, and never less than a millisecond (a peer may delay its ACKs).
static uint64_t lost_rtx_wait_us(const FlowPriv& p) {
  return std::max<uint64_t>(2 * uint64_t(p.rtt.srtt_us()) + p.rtt.rttvar_us(), 1000);
}

// Payload sequence numbers end here: our FIN, if sent, is not payload.
static uint32_t data_end(const FlowPriv& p) { return p.fin_seq_valid ? p.fin_seq : p.snd_max; }

void Datapath::publish_retransmits(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  if (abi::FlowSlot* s = slot_of(e)) shm::store_relaxed(s->retransmits, uint32_t(e.retransmits));
}

void Datapath::publish_send_mss(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  const FlowPriv& p = priv_[id];
  uint32_t opts = p.ts_ok ? uint32_t(wire::kTcpTimestampsLen) : 0;
  if (abi::FlowSlot* s = slot_of(e)) shm::store_relaxed(s->snd_mss, uint32_t(p.send_mss) - opts);
}

void Datapath::tcp_enter_recovery(uint32_t id, uint32_t delivered) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  // RFC 6582 3.2 (1): without SACK, duplicate ACKs for data sent before an RTO's go-back-N start
  // no recovery (they may be answers to the resends). SACK tells those apart (RFC 6675 5.1).
  if (!p.sack_ok && seq_lt(e.snd_una, p.recover) && p.recover_valid) return;
  p.in_recovery = true;
  p.recover_valid = true;
  p.recover = p.snd_max;
  p.rtx_next = e.snd_una;
  p.rtx_round_us = now_us_;
  p.rtx_round_sacked = p.sacked.empty() ? e.snd_una : p.sacked.highest_end();
  p.rtt_timing = false;  // Karn: what is resent now cannot be timed
  ++stats_->fast_retransmits;
  ++e.recoveries;
  p.undo_possible = true;
  p.undo_start = e.snd_una;
  p.undo_resent = p.undo_pending = 0;
  p.undo_dsack_end = e.snd_una;
  // PRR aims at the window the slow path will cut to once it hears of this recovery: its
  // algorithm's share (loss_beta) of the window at the loss (RFC 5681 (4)). That window is
  // published for the slow path to cut from (by its tick PRR has shrunk the flight already:
  // cutting that would cut twice) and is PRR's RecoverFS (Linux's prior_cwnd; the flight also
  // counts SACKed bytes beyond the window). After the recovery the window is the slow path's again.
  uint32_t cwnd = shm::load_relaxed(e.cwnd);
  uint16_t beta = shm::load_relaxed(e.loss_beta);
  uint32_t window = cwnd != 0 ? std::min(data_end(p) - e.snd_una, cwnd) : 0;
  e.loss_window = window;
  p.prr.stop();
  if (p.sack_ok && cwnd != 0 && beta != 0) {
    uint32_t ssthresh = uint32_t(uint64_t(window) * beta / 1024);
    p.prr.start(std::max<uint32_t>(ssthresh, 2u * p.send_mss), window);
    prr_ack(id, delivered);
  }
  tcp_send_holes(id);
}

void Datapath::tcp_recovery_ack(uint32_t id, uint32_t ack, uint32_t delivered) {
  FlowPriv& p = priv_[id];
  if (seq_ge(ack, p.recover)) {
    p.in_recovery = false;  // everything outstanding at the start is acknowledged
    p.prr.stop();
    rack_recovery_done(id);
    try_undo(id);  // the D-SACK of the last resend may have come with this ACK
    return;
  }
  if (!p.sack_ok) p.rtx_next = ack;  // RFC 6582 3.2 (5): a partial ACK resends the next segment at once
  prr_ack(id, delivered);
  tcp_send_holes(id);
}

void Datapath::tcp_recovery_dupack(uint32_t id, uint32_t delivered) {
  prr_ack(id, delivered);
  tcp_send_holes(id);
}

void Datapath::note_dsack(uint32_t id, uint32_t start, uint32_t end) {
  FlowPriv& p = priv_[id];
  rack_note_dsack(id);  // a needless resend, or a segment the network duplicated
  if (!p.undo_possible || p.undo_pending == 0) return;
  if (seq_lt(start, p.undo_start) || seq_gt(end, p.recover)) return;  // not what it resent
  // Resends go out in sequence order and their duplicates come back so: a block below the last
  // one counted is a repeat (or out of order: then no undo, the cautious side).
  if (seq_lt(start, p.undo_dsack_end)) return;
  p.undo_dsack_end = end;
  p.undo_pending -= std::min(end - start, p.undo_pending);
  ++stats_->dsacks_received;
  try_undo(id);
}

void Datapath::try_undo(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  if (!p.undo_possible || p.in_recovery || p.undo_resent == 0 || p.undo_pending != 0) return;
  p.undo_possible = false;  // once per recovery
  shm::store_relaxed(e.spurious_recoveries, e.spurious_recoveries + 1);
  ++stats_->spurious_recoveries;
}

void Datapath::prr_ack(uint32_t id, uint32_t delivered) {
  FlowPriv& p = priv_[id];
  if (p.prr.active()) p.prr.on_ack(delivered, recovery_pipe(id), p.send_mss);
}

// RFC 6675's pipe, from what the scoreboard knows: bytes outstanding, less those SACKed, less the
// holes below the highest SACK not yet resent in this recovery (taken as lost); what was resent
// counts as in the network again.
uint32_t Datapath::recovery_pipe(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint32_t outstanding = data_end(p) - e.snd_una - p.sacked.bytes();
  if (p.sacked.empty()) return outstanding;
  uint32_t from = wire::seq_max(p.rtx_next, e.snd_una);
  uint32_t to = p.sacked.highest_end();
  uint32_t lost = seq_lt(from, to) ? (to - from) - p.sacked.bytes_from(from) : 0;
  return outstanding - std::min(lost, outstanding);
}

bool Datapath::resend_round_stale(uint32_t id, uint32_t seq, uint32_t limit) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  if (!p.sack_ok || p.sacked.empty() || !seq_lt(e.snd_una, limit)) return false;
  if (now_us_ - p.rtx_round_us <= lost_rtx_wait_us(p)) return false;
  return !seq_lt(seq, limit) || seq_gt(p.sacked.highest_end(), p.rtx_round_sacked);
}

// Resends what the peer lacks, from rtx_next: with SACK every gap below the highest SACKed byte
// (each once per recovery), without it the one segment at snd_una.
void Datapath::tcp_send_holes(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint32_t seq = wire::seq_max(p.rtx_next, e.snd_una);
  uint32_t limit = data_end(p);
  if (p.sack_ok && !p.sacked.empty()) limit = wire::seq_min(limit, p.sacked.highest_end());
  else limit = wire::seq_min(limit, e.snd_una + segment_room(id));  // just the first segment
  if (resend_round_stale(id, seq, limit)) {
    // The pass began long enough ago for its resends to be answered, and the peer has since
    // SACKed data sent after them (or every hole was resent and it still SACKs above a gap): a
    // hole still unSACKed had its resend lost too (RACK's insight, RFC 8985 6.2). Another pass
    // from snd_una instead of waiting for the timeout; with steady random loss, new holes above
    // would otherwise keep the pass from ever coming back to a lost resend at snd_una.
    seq = e.snd_una;
    p.rtx_round_us = now_us_;
    p.rtx_round_sacked = p.sacked.highest_end();
    ++stats_->lost_retransmits;
    ++e.recoveries;  // a second loss in this window: congestion control hears of it
    p.undo_possible = false;  // a resend was lost: the loss was real
  }
  for (uint32_t sent = 0; sent < kHolesPerAck && seq_lt(seq, limit);) {
    if (const SeqRange* r = p.sacked.find(seq)) {
      seq = r->end;
      continue;
    }
    if (!p.prr.may_send(e.snd_nxt == e.snd_una)) {
      ++stats_->prr_waits;
      break;
    }
    uint32_t hole_end = limit;
    const SeqRange* above = p.sacked.next_after(seq);
    if (above && seq_lt(above->start, hole_end)) hole_end = above->start;
    if (above && !rack_hole_lost(id, *above)) break;  // it may yet arrive: the timer comes back
    uint32_t len = std::min(hole_end - seq, segment_room(id));
    if (len == 0 || !send_segment(id, seq, len, wire::kTcpAck)) break;
    p.prr.sent(len);
    p.undo_resent += len;
    p.undo_pending += len;
    seq += len;
    ++sent;
    ++e.retransmits;
    ++stats_->sack_retransmits;
  }
  p.rtx_next = seq;
  publish_retransmits(id);
}

void Datapath::tcp_retransmit_timeout(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  if (e.snd_una == e.snd_nxt && e.snd_una == p.snd_max) {
    tcp_window_probe(id);
    return;
  }
  ++stats_->rto_retransmits;
  go_back_n(id);
}

// RFC 1191 6.4: the path takes smaller segments than those in flight, which it dropped. From now on
// segments carry at most path_mss, and what is in flight goes again at once in that size: a
// retransmission, but not a sign of congestion (no window cut, no backed-off timer), as Linux's
// tcp_simple_retransmit does.
void Datapath::tcp_path_mtu(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint16_t mss = shm::load_relaxed(e.path_mss);
  if (mss == 0 || mss >= p.send_mss) return;  // not lower than what the flow uses already
  p.send_mss = mss;
  publish_send_mss(id);
  ++stats_->path_mtu_lowered;
  if (e.snd_una != p.snd_max) go_back_n(id);
}

// Everything unacknowledged goes out again. The scoreboard is dropped (a receiver may renege on
// SACKed data, RFC 2018 8), and duplicate ACKs for what was sent before start no fast retransmit
// (RFC 6582 4).
void Datapath::go_back_n(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  e.snd_nxt = e.snd_una;
  e.fp_flags &= ~abi::kFlowFinSent;
  e.dupacks = 0;
  p.sacked.clear();
  p.in_recovery = false;
  p.prr.stop();  // the timeout's own window (one segment) takes over
  p.undo_possible = false;  // no undo of a timeout here (F-RTO is not implemented)
  p.tlp_done = true;        // no tail probe until progress: the timeout's own recovery
  p.recover = p.snd_max;
  p.recover_valid = true;
  p.rtt_timing = false;
  ++e.retransmits;
  publish_retransmits(id);
  queue_tx(id);
  if (e.snd_wnd == 0) tcp_window_probe(id);  // the resend cannot go out: make the peer speak
}

// RFC 8985 7.3: the last segment sent goes out again. If only it was lost, its ACK repairs the
// loss; if earlier ones were, the SACK it draws starts a recovery, both without a timeout.
void Datapath::tcp_tail_probe(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  if (e.snd_una == p.snd_max) return;  // acknowledged meanwhile
  uint32_t end = data_end(p);
  uint32_t len = seq_gt(end, e.snd_una) ? std::min(end - e.snd_una, segment_room(id)) : 0;
  bool fin = p.fin_seq_valid && !(e.fp_flags & abi::kFlowFinAcked) && e.snd_nxt == p.snd_max;
  uint8_t flags = wire::kTcpAck | (fin ? wire::kTcpFin : 0) | (len ? wire::kTcpPsh : 0);
  if (!send_segment(id, end - len, len, flags)) return;
  p.undo_possible = false;  // its D-SACK would say nothing of the recovery's resends
  p.rtt_timing = false;
  ++e.retransmits;
  ++stats_->tail_probes;
  publish_retransmits(id);
}

bool Datapath::has_unsent(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  abi::FlowSlot* s = slot_of(e);
  return s && shm::load_acquire(s->tx_head) - s->tx_tail > data_in_flight(e);
}

// Nothing in flight, bytes waiting, the window shut: a segment the peer must answer. Like
// Linux's probe it carries seq snd_una - 1, an old sequence number, so the peer replies with an
// ACK that says its current window without taking any data.
void Datapath::tcp_window_probe(uint32_t id) {
  if (priv_[id].circuit != kNoCircuit) {
    queue_tx(id);  // a circuit sees the other end's ring: no probe needed, just look again
    return;
  }
  abi::FlowEntry& e = *ctrl_.flow(id);
  ++stats_->window_probes;
  send_segment(id, e.snd_una - 1, 0, wire::kTcpAck);
}

}  // namespace virtuoso::fastpath

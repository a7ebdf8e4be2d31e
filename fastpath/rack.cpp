// RACK's reordering window (RFC 8985 6.2): a flow that has seen reordering takes a hole below
// SACKed data as lost only once the window has passed since that data was SACKed, so a segment
// that is merely late is not resent, nor a recovery begun for it. Until then a hole is lost at
// once, as RFC 6675 and the duplicate-ACK threshold have it.
//
// The window is a quarter of the lowest round trip times a multiplier that each round trip
// with a D-SACK (a needless resend) raises, bounded by the smoothed round trip; sixteen
// recoveries without one bring the multiplier back to 1. The time a hole opened is the stamp of
// the SACKed range above it (SeqRange::stamp): this sender sends new data in sequence order, so
// the segments of a hole left no later than the data SACKed above it, and RACK's test "sent
// before delivered data, and longer ago than a round trip plus the window" is, taken from the
// side of caution, "data above it was SACKed longer ago than the window". A hole not yet lost
// arms the reordering timer (a wheel like pacing's) for the moment it will be.
#include <algorithm>

#include "datapath.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

namespace {
constexpr uint8_t kReoWndPersist = 16;  // recoveries a raised multiplier lasts (RFC 8985 6.2)
constexpr uint8_t kReoWndMultMax = 64;  // beyond this the bound by the smoothed round trip rules
}  // namespace

uint32_t Datapath::rack_reo_wnd_us(uint32_t id) {
  const FlowPriv& p = priv_[id];
  if (!p.rack_reordering_seen) return 0;
  uint32_t min_rtt = ctrl_.flow(id)->rtt_min_us;
  return std::min<uint32_t>(uint32_t(p.rack_reo_wnd_mult) * min_rtt / 4, p.rtt.srtt_us());
}

void Datapath::rack_saw_reordering(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.rack_reordering_seen) return;
  p.rack_reordering_seen = true;
  ++stats_->reordering_seen;
}

bool Datapath::rack_hole_lost(uint32_t id, const SeqRange& above) {
  uint32_t reo_wnd = rack_reo_wnd_us(id);
  if (reo_wnd == 0) return true;
  uint32_t waited = uint32_t(now_us_) - above.stamp;
  if (waited >= reo_wnd) return true;
  if (!rack_timer_.armed(id)) ++stats_->rack_waits;
  rack_timer_.arm(id, now_us_ + (reo_wnd - waited), now_us_);
  return false;
}

bool Datapath::rack_first_hole_lost(uint32_t id) {
  const FlowPriv& p = priv_[id];
  return !p.sack_ok || p.sacked.empty() || rack_hole_lost(id, p.sacked[0]);
}

void Datapath::rack_note_dsack(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  rack_saw_reordering(id);
  if (p.rack_dsack_round_valid && wire::seq_lt(e.snd_una, p.rack_dsack_round)) return;  // this round's
  p.rack_dsack_round_valid = true;
  p.rack_dsack_round = e.snd_nxt;
  p.rack_reo_wnd_mult = uint8_t(std::min<uint32_t>(p.rack_reo_wnd_mult + 1u, kReoWndMultMax));
  p.rack_reo_wnd_persist = kReoWndPersist;
}

void Datapath::rack_recovery_done(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.rack_reo_wnd_persist > 0 && --p.rack_reo_wnd_persist == 0) p.rack_reo_wnd_mult = 1;
}

// Bytes of the scoreboard in [lo, hi).
static uint32_t sacked_within(const SeqRanges<kMaxSackedRanges>& r, uint32_t lo, uint32_t hi) {
  return wire::seq_lt(lo, hi) ? r.bytes_from(lo) - r.bytes_from(hi) : 0;
}

// RACK 6.2's reordering test: an ACK that delivers data below the highest SACKed byte which no
// resend covered (holes at or above the recovery's next resend, or any outside a recovery) shows
// that data arriving late. Before the ACK is applied: what of that span had arrived.
Datapath::LateWatch Datapath::rack_watch_late(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  const FlowPriv& p = priv_[id];
  LateWatch w;
  if (!p.sack_ok || p.sacked.empty() || p.rack_reordering_seen) return w;
  w.from = p.in_recovery ? wire::seq_max(p.rtx_next, e.snd_una) : e.snd_una;
  w.fack = p.sacked.highest_end();
  w.on = wire::seq_lt(w.from, w.fack);
  if (w.on) w.delivered = sacked_within(p.sacked, w.from, w.fack);
  return w;
}

// After the ACK (cumulative `ack`) is applied: more of the span arrived.
void Datapath::rack_check_late(uint32_t id, const LateWatch& w, uint32_t ack) {
  if (!w.on) return;
  const FlowPriv& p = priv_[id];
  uint32_t acked = wire::seq_gt(ack, w.from) ? wire::seq_min(ack, w.fack) - w.from : 0;
  uint32_t delivered = acked + sacked_within(p.sacked, wire::seq_max(ack, w.from), w.fack);
  if (delivered > w.delivered) rack_saw_reordering(id);
}

uint32_t Datapath::run_rack_timers() {
  return rack_timer_.expire(now_us_, [&](uint32_t id) {
    FlowPriv& p = priv_[id];
    if (!p.active || !p.sack_ok || p.sacked.empty()) return;
    if (p.in_recovery) {
      tcp_send_holes(id);
    } else if (loss_suspected(id) && rack_first_hole_lost(id)) {
      tcp_enter_recovery(id, 0);
    }
  });
}

}  // namespace virtuoso::fastpath

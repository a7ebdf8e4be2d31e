// The fast path's private per-flow TCP state: what no other process needs to read.
//
// The shared half lives in abi::FlowEntry (control region); this half is rebuilt at every
// install from the entry's initial values, so it never outlives its connection.
#pragma once
#include <array>
#include <cstdint>

#include "prr.hpp"
#include "rtt_estimator.hpp"
#include "seq_ranges.hpp"

namespace virtuoso::fastpath {

// A window of a few hundred segments at a few percent loss has tens of holes: keep that many
// ranges, or data that arrived is thrown away and must be sent again.
inline constexpr size_t kMaxOooRanges = 32;     // out-of-order data kept per flow
inline constexpr size_t kMaxSackedRanges = 32;  // the sender's scoreboard
inline constexpr size_t kSackHistory = 4;       // ranges most recently added to, newest first

inline constexpr uint32_t kNoCircuit = UINT32_MAX;

struct FlowPriv {
  // Transmit.
  uint32_t snd_max = 0;       // highest sequence number sent (snd_nxt goes back on retransmit)
  uint32_t fin_seq = 0;       // sequence number of our FIN, once it was sent
  uint32_t max_snd_wnd = 0;   // the largest window the peer offered (sender SWS avoidance)
  uint16_t tenant = 0;        // FlowEntry::tenant, bounded: whose TenantStats count this flow
  uint16_t send_mss = 0;      // a segment's payload before options: FlowEntry::mss, or the lower
                              //   path_mss once kPathMtu said so
  bool fin_seq_valid = false;
  // Pacing (pacing.cpp): when the next data segment may leave, in nanoseconds of the loop's clock.
  uint64_t pace_next_ns = 0;

  // Loss recovery (RFC 6675 with SACK, RFC 6582 NewReno without).
  bool in_recovery = false;
  bool recover_valid = false;  // `recover` holds a value (set by a recovery or a timeout)
  uint32_t recover = 0;   // snd_max when the recovery began; it ends once that is acknowledged
  uint32_t rtx_next = 0;  // next sequence number a recovery may resend (HighRxt + 1)
  uint64_t rtx_round_us = 0;  // when the current pass over the holes began
  uint32_t rtx_round_sacked = 0;  // the highest SACKed byte then: above it, data delivered since
  SeqRanges<kMaxSackedRanges> sacked;
  // PRR (RFC 6937) paces a SACK recovery's sending down to the window congestion control will cut to.
  Prr prr;
  // Undo (RFC 3708): resent bytes of the latest recovery not yet reported back as duplicates
  // (D-SACK). All of them reported, and no resend lost, no timeout: the recovery was needless.
  bool undo_possible = false;
  uint32_t undo_start = 0;      // [undo_start, recover): the data it may have resent
  uint32_t undo_resent = 0;     // bytes resent in it
  uint32_t undo_pending = 0;    // of those, not yet D-SACKed
  uint32_t undo_dsack_end = 0;  // the end of the highest D-SACK counted
  // RACK's reordering window (RFC 8985 6.2, rack.cpp): once the flow has seen reordering, a hole
  // below SACKed data is lost only when the window has passed since that data was SACKed.
  bool rack_reordering_seen = false;
  bool rack_dsack_round_valid = false;
  uint8_t rack_reo_wnd_mult = 1;     // the window in quarters of the lowest round trip
  uint8_t rack_reo_wnd_persist = 0;  // recoveries left before the multiplier falls back to 1
  uint32_t rack_dsack_round = 0;     // a D-SACK raises the multiplier once per round trip (snd_nxt)
  // Tail loss probe (RFC 8985 7, tlp.cpp): when the probe is due (0: none), and whether this
  // episode of silence has had its probe (or a timeout) already.
  uint64_t tlp_due_us = 0;
  bool tlp_done = false;

  // Round-trip time (RFC 6298): one timed segment at a time, never a retransmitted one (Karn).
  RttEstimator rtt;
  bool rtt_timing = false;
  uint32_t rtt_seq = 0;       // the sample ends when this is acknowledged
  uint64_t rtt_start_us = 0;

  // Receive.
  uint32_t adv_wnd_edge = 0;  // rcv_nxt + advertised window at the last segment we sent
  uint32_t last_ack_sent = 0;  // rcv_nxt we last acknowledged (RFC 7323 4.3)
  uint32_t unacked_bytes = 0;  // in-order bytes received since our last ACK
  uint32_t peer_fin_seq = 0;   // a FIN that arrived ahead of a gap
  bool peer_fin_pending = false;
  SeqRanges<kMaxOooRanges> ooo;  // data held beyond rcv_nxt, in the rx ring past rx_head
  // Sequence numbers of the latest out-of-order arrivals, newest first: SACK blocks report the
  // ranges holding them before any other (RFC 2018 4), so every range gets reported.
  std::array<uint32_t, kSackHistory> sack_recent{};
  uint8_t n_sack_recent = 0;
  // RFC 2883 D-SACK: a segment received twice is reported once, as the first SACK block of the
  // next ACK, so the sender can tell a needless retransmission (reordering) from a loss.
  bool dsack_pending = false;
  SeqRange dsack{};

  // Options agreed in the handshake.
  bool ts_ok = false;
  bool sack_ok = false;
  bool ecn_ok = false;
  uint32_t ts_recent = 0;  // the peer's TSval to echo
  uint64_t ts_recent_us = 0;  // when ts_recent was taken (RFC 7323 5.5: it expires after 24 days idle)
  uint32_t ts_offset = 0;
  bool ect = false;    // new data goes out ECT(0) (kFlowOptEct: congestion control answers ECE)
  bool dctcp = false;  // the echo is DCTCP's: ECE on each ACK iff the data it answers carried CE
  bool ece_pending = false;  // CE seen: set ECE on our segments until the peer's CWR (RFC 3168 6.1.3)
  bool cwr_pending = false;  // ECE seen: set CWR on our next data segment
  // Round trips for congestion control (FlowEntry::rounds): a round ends when snd_una reaches the
  // snd_nxt of its start; round_ece says an ACK in it carried ECE.
  uint32_t round_end = 0;
  bool round_ece = false;
  uint32_t round_rtt_min_us = 0;  // the lowest round-trip sample in this round, 0: none yet

  // Loop bookkeeping.
  bool active = false;
  bool ack_needed = false;   // an ACK goes out this iteration
  bool tx_queued = false;
  bool delack_armed = false;  // an ACK is owed by delack_deadline_us
  bool in_delack_list = false;
  uint64_t delack_deadline_us = 0;
  uint8_t app_events = 0;  // AppEventKind bits owed to the app, sent once per iteration
  // Same host: the flow of the other end when both are installed here and joined as a circuit
  // (circuit.cpp): data goes from our tx ring straight into its rx ring, no frames.
  uint32_t circuit = kNoCircuit;

  // The window we last advertised, as bytes from `rcv_nxt` on.
  uint32_t advertised_bytes(uint32_t rcv_nxt) const {
    return wire::seq_gt(adv_wnd_edge, rcv_nxt) ? adv_wnd_edge - rcv_nxt : 0;
  }
};

}  // namespace virtuoso::fastpath

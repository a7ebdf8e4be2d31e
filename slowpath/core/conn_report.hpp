// One installed connection as status reports it: the slow path's view, the fast path's sequence
// state (FlowEntry) and the app's ring positions (FlowSlot), read without stopping anyone.
#pragma once
#include <cstdint>
#include <string_view>

#include "types.hpp"

namespace virtuoso::slowpath {

struct ConnReport {
  uint32_t flow = 0;
  FourTuple tuple{};
  const char* state = "";
  bool installed = false;
  uint16_t ctx = 0;
  uint32_t slot = 0;
  // Slow path: timers, congestion window, sharing.
  uint32_t cwnd = 0;  // 0: no limit
  uint32_t ssthresh = 0;  // slow start below it (UINT32_MAX until the first cut)
  std::string_view congestion = "none";  // the algorithm that computes cwnd
  double dctcp_alpha = -1;  // DCTCP's estimate of the fraction of bytes marked; -1: not DCTCP
  bool ect = false;         // new data goes out ECT(0): ECN negotiated and answered
  uint32_t rto_ms = 0;
  uint32_t rto_retries = 0;
  bool rto_armed = false;
  uint32_t holds = 0;
  bool moving = false;
  // Fast path (FlowEntry).
  uint32_t snd_una = 0;
  uint32_t snd_nxt = 0;
  uint32_t snd_wnd = 0;
  uint32_t rcv_nxt = 0;
  uint32_t fp_flags = 0;
  uint32_t dupacks = 0;
  uint32_t recoveries = 0;
  uint64_t retransmits = 0;  // segments sent again (SACK and RTO resends, tail probes)
  uint32_t srtt_us = 0;
  uint64_t acked_bytes = 0;
  uint64_t segs_in = 0;
  uint64_t segs_out = 0;
  uint64_t ece_bytes = 0;   // bytes acknowledged by ACKs that carried ECE
  uint32_t rounds = 0;      // round trips completed
  uint32_t ece_rounds = 0;  // of those, with ECE
  uint64_t pacing_rate = 0;  // payload bytes a second the fast path paces it at; 0: not paced
  uint64_t paced_waits = 0;  // times a segment waited for its pacing time
  // The app's slot (FlowSlot); only while the flow is installed in an attached context.
  bool has_slot = false;
  uint32_t rx_head = 0;
  uint32_t rx_tail = 0;
  uint32_t tx_head = 0;
  uint32_t tx_tail = 0;
  uint32_t tx_nospace = 0;
  uint32_t app_waiting = 0;
  uint32_t rx_fin = 0;
  uint32_t error = 0;
  uint32_t rx_size = 0;
  uint32_t tx_size = 0;
};

}  // namespace virtuoso::slowpath

// Pacing: a flow with a pacing rate (FlowEntry::pacing_rate, set by the slow path from the
// flow's congestion window and round trip, capped by the app's SO_MAX_PACING_RATE, which is also
// applied here from the flow's slot so that a cap holds from the next segment) sends its new data
// no faster than that rate, in small bursts spread over time rather than a window at once.
//
// Every segment of new data moves the flow's next send time on by its payload at the rate.
// Resends do not: they repair losses within the window and wait for nothing (as they would in
// Linux's recovery, which PRR bounds). Output stops at a segment whose time has not come and arms
// the pacing wheel; the pacing stage of the loop puts the flow back in the transmit queue when it
// is due. A flow behind its schedule (idle, or the loop came round late) may catch up by at most
// a quantum: what the rate sends in about a millisecond, at least two segments and at most 64 KiB,
// as Linux sizes the bursts of a paced flow (tcp_tso_autosize). So a loop slower than a segment's
// time does not cost the flow its rate.
#include <algorithm>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/util/pacing_cap.hpp"

namespace virtuoso::fastpath {
namespace {

constexpr uint64_t kPaceShift = 10;                 // a quantum is rate >> 10: about 1 ms of sending
constexpr uint64_t kPaceMaxQuantum = 64 * 1024;     // bytes
constexpr uint64_t kNsPerS = 1'000'000'000;

}  // namespace

uint64_t Datapath::pace_rate(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  const abi::FlowSlot* s = slot_of(e);
  return util::cap_pacing_rate(shm::load_relaxed(e.pacing_rate), s ? shm::load_relaxed(s->max_pacing_rate) : 0);
}

bool Datapath::pace_allows(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  if (pace_rate(id) == 0) return true;
  FlowPriv& p = priv_[id];
  if (p.pace_next_ns <= now_us_ * 1000) return true;
  if (!pacing_.armed(id)) {  // counted once per wait, not per look
    ++e.paced_waits;
    ++stats_->paced_waits;
  }
  pacing_.arm(id, (p.pace_next_ns + 999) / 1000, now_us_);
  return false;
}

void Datapath::pace_sent(uint32_t id, uint32_t bytes) {
  uint64_t rate = pace_rate(id);
  if (rate == 0) return;
  FlowPriv& p = priv_[id];
  uint64_t quantum = std::max(std::min(rate >> kPaceShift, kPaceMaxQuantum), uint64_t{2} * p.send_mss);
  uint64_t catch_up_ns = quantum * kNsPerS / rate;
  uint64_t now_ns = now_us_ * 1000;
  uint64_t earliest = now_ns > catch_up_ns ? now_ns - catch_up_ns : 0;
  p.pace_next_ns = std::max(p.pace_next_ns, earliest) + uint64_t{bytes} * kNsPerS / rate;
}

uint32_t Datapath::run_pacing() {
  return pacing_.expire(now_us_, [&](uint32_t id) {
    if (priv_[id].active) queue_tx(id);
  });
}

}  // namespace virtuoso::fastpath

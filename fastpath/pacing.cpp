// Pacing: a flow with a pacing rate (FlowEntry::pacing_rate, set by the slow path from the
// flow's congestion window and round trip, and capped by the app's SO_MAX_PACING_RATE) sends its
// data no faster than that rate, in segments spread over time rather than in bursts of a window.
//
// Every data segment sent (a resend too) moves the flow's next send time on by its payload at the
// rate. Output stops at a segment whose time has not come and arms the pacing wheel; the pacing
// stage of the loop puts the flow back in the transmit queue when it is due. A flow that was idle
// may send at once what the rate allows over kPaceBurstNs, or two segments when that is more (as
// Linux's fq quantum), so a loop that comes round late does not cost the flow its rate.
#include <algorithm>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::fastpath {
namespace {

constexpr uint64_t kPaceBurstNs = 20'000;

}  // namespace

bool Datapath::pace_allows(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  if (shm::load_relaxed(e.pacing_rate) == 0) return true;
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
  uint64_t rate = shm::load_relaxed(ctrl_.flow(id)->pacing_rate);
  if (rate == 0) return;
  FlowPriv& p = priv_[id];
  uint64_t now_ns = now_us_ * 1000;
  uint64_t burst_ns = std::max(kPaceBurstNs, uint64_t{2} * p.send_mss * 1'000'000'000 / rate);
  uint64_t earliest = now_ns > burst_ns ? now_ns - burst_ns : 0;
  p.pace_next_ns = std::max(p.pace_next_ns, earliest) + uint64_t{bytes} * 1'000'000'000 / rate;
}

uint32_t Datapath::run_pacing() {
  return pacing_.expire(now_us_, [&](uint32_t id) {
    if (priv_[id].active) queue_tx(id);
  });
}

}  // namespace virtuoso::fastpath

// The pacing wheel's construction and arming (pacing_wheel.hpp).
#include "pacing_wheel.hpp"

#include <algorithm>

namespace virtuoso::fastpath {

PacingWheel::PacingWheel(uint32_t max_flows) : next_(max_flows, kNone), due_us_(max_flows, 0), armed_(max_flows, 0) {
  head_.fill(kNone);
}

void PacingWheel::arm(uint32_t id, uint64_t due_us, uint64_t now_us) {
  if (id >= armed_.size() || armed_[id] != 0) return;
  if (count_ == 0) cursor_ = now_us / kTickUs;  // idle until now: start the lap here
  uint64_t tick = due_us / kTickUs;
  tick = std::clamp<uint64_t>(tick, cursor_, cursor_ + kSlots - 1);
  uint32_t& head = head_[tick % kSlots];
  next_[id] = head;
  head = id;
  due_us_[id] = due_us;
  armed_[id] = 1;
  ++count_;
}

uint64_t PacingWheel::next_due_us() const {
  if (count_ == 0) return UINT64_MAX;
  for (uint64_t tick = cursor_; tick < cursor_ + kSlots; ++tick)
    if (head_[tick % kSlots] != kNone) return tick * kTickUs;
  return cursor_ * kTickUs;  // not reached: count_ says a slot holds a flow
}

}  // namespace virtuoso::fastpath

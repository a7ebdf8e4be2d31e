// The flows waiting for their pacing time: a timing wheel of fixed size, no allocation after
// construction, O(1) to arm a flow and O(ticks passed) to find the due ones.
//
// One slot per kTickUs microseconds, kSlots of them (an 8 ms horizon). A flow due further out sits
// in the farthest slot and is put back when that slot comes up; one due later in the current tick
// stays in its slot, which is looked at again. A flow is in the wheel at most once
// (arming an armed flow does nothing), so the lists are singly linked through per-flow arrays.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace virtuoso::fastpath {

class PacingWheel {
 public:
  static constexpr uint64_t kTickUs = 2;
  static constexpr uint32_t kSlots = 4096;

  explicit PacingWheel(uint32_t max_flows);

  bool empty() const { return count_ == 0; }
  uint32_t size() const { return count_; }
  bool armed(uint32_t id) const { return id < armed_.size() && armed_[id] != 0; }

  // A time no later than the earliest armed flow's due time: the start of the first tick whose
  // slot holds a flow (that flow may be a lap further out: waking then is early, never late).
  // UINT64_MAX when none is armed. Looks at up to kSlots slots: for a loop about to sleep.
  uint64_t next_due_us() const;

  // `id` is to come due at `due_us` (now_us: the time now). No effect if it is armed already.
  void arm(uint32_t id, uint64_t due_us, uint64_t now_us);

  // Takes every flow due by `now_us` out of the wheel and calls on_due(id) for each (on_due may
  // arm it again). Returns how many came due.
  template <typename OnDue>
  uint32_t expire(uint64_t now_us, OnDue on_due) {
    if (count_ == 0) return 0;
    uint64_t now_tick = now_us / kTickUs;
    if (now_tick < cursor_) return 0;  // the clock never goes back; nothing can be due
    if (now_tick + 1 - cursor_ > kSlots) cursor_ = now_tick + 1 - kSlots;  // far behind: one lap
    uint32_t due = 0;
    // The slot of the current tick is looked at again next time: what is due later in this tick
    // stays there until then.
    for (;; ++cursor_) {
      uint32_t id = head_[cursor_ % kSlots];
      head_[cursor_ % kSlots] = kNone;
      while (id != kNone) {
        uint32_t next = next_[id];
        armed_[id] = 0;
        --count_;
        if (due_us_[id] <= now_us) {
          ++due;
          on_due(id);
        } else {
          arm(id, due_us_[id], now_us);  // later in this tick, or a lap further
        }
        id = next;
      }
      if (cursor_ == now_tick || count_ == 0) break;
    }
    cursor_ = now_tick;
    return due;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> next_;
  std::vector<uint64_t> due_us_;
  std::vector<uint8_t> armed_;
  std::array<uint32_t, kSlots> head_;
  uint64_t cursor_ = 0;  // the first tick not yet looked at to its end
  uint32_t count_ = 0;
};

}  // namespace virtuoso::fastpath

// Pushing into the shared queues with waiting lists, and the producer half of the doorbells.
#include "shm_channels.hpp"

#include <cstring>

#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

ShmChannels::ShmChannels(abi::ControlRegionView ctrl, uint32_t max_contexts)
    : ctrl_(ctrl), ctxs_(max_contexts) {}

void ShmChannels::push_frame(const uint8_t* data, size_t len, uint16_t flags) {
  PendingFrame f{};
  if (len > sizeof(f.slot.data)) return;  // the control plane never builds such frames
  f.slot.len = uint16_t(len);
  f.slot.flags = flags;
  std::memcpy(f.slot.data, data, len);
  f.cmd_mark = cmd_enqueued_;
  fp_dirty_ = true;
  if (frame_waiting_.empty() && frame_ready(f) && ctrl_.inject().try_push(f.slot)) return;
  ++deferred_;
  frame_waiting_.push_back(f);
}

void ShmChannels::push_command(const abi::FpCommand& cmd) {
  ++cmd_enqueued_;
  fp_dirty_ = true;
  if (cmd_waiting_.empty() && ctrl_.cmd().try_push(cmd)) {
    ++cmd_pushed_;
    return;
  }
  ++deferred_;
  cmd_waiting_.push_back(cmd);
}

void ShmChannels::push_ctl(uint16_t ctx, const abi::CtlEvent& ev) {
  if (ctx >= ctxs_.size() || !ctxs_[ctx].active) return;
  Ctx& c = ctxs_[ctx];
  c.dirty = true;
  if (c.waiting.empty() && c.view.ctl().try_push(ev)) return;
  ++deferred_;
  c.waiting.push_back(ev);
}

void ShmChannels::add_context(uint16_t ctx, abi::AppRegionView view) {
  if (ctx >= ctxs_.size()) return;
  ctxs_[ctx] = Ctx{};
  ctxs_[ctx].active = true;
  ctxs_[ctx].view = view;
}

void ShmChannels::remove_context(uint16_t ctx) {
  if (ctx < ctxs_.size()) ctxs_[ctx] = Ctx{};
}

uint32_t ShmChannels::commands_consumed() const {
  auto q = ctrl_.cmd();
  return cmd_pushed_ - (q.capacity() - q.free_space());
}

bool ShmChannels::frame_ready(const PendingFrame& f) const {
  if (!(f.slot.flags & abi::kPacketProcessAsRx)) return true;
  return int32_t(commands_consumed() - f.cmd_mark) >= 0;
}

void ShmChannels::flush_commands() {
  auto q = ctrl_.cmd();
  while (!cmd_waiting_.empty() && q.try_push(cmd_waiting_.front())) {
    cmd_waiting_.pop_front();
    ++cmd_pushed_;
    fp_dirty_ = true;
  }
}

void ShmChannels::flush_frames() {
  auto q = ctrl_.inject();
  while (!frame_waiting_.empty() && frame_ready(frame_waiting_.front()) &&
         q.try_push(frame_waiting_.front().slot)) {
    frame_waiting_.pop_front();
    fp_dirty_ = true;
  }
}

void ShmChannels::flush_ctl(Ctx& c) {
  auto q = c.view.ctl();
  while (!c.waiting.empty() && q.try_push(c.waiting.front())) {
    c.waiting.pop_front();
    c.dirty = true;
  }
}

void ShmChannels::flush(Doorbells& bells) {
  flush_commands();
  flush_frames();
  for (Ctx& c : ctxs_) {
    if (c.active && !c.waiting.empty()) flush_ctl(c);
  }
  shm::full_fence();  // our pushes before reading their sleeping flags
  // The fast path sets the control header's flag and every region's together: one suffices.
  if (fp_dirty_) {
    fp_dirty_ = false;
    if (shm::load_relaxed(ctrl_.header()->fp_sleeping)) bells.ring_fastpath();
  }
  for (size_t i = 0; i < ctxs_.size(); ++i) {
    Ctx& c = ctxs_[i];
    if (!c.active || !c.dirty) continue;
    c.dirty = false;
    if (shm::load_relaxed(c.view.header()->app_sleeping)) bells.ring_app(uint16_t(i));
  }
}

bool ShmChannels::waiting() const {
  if (!cmd_waiting_.empty() || !frame_waiting_.empty()) return true;
  for (const Ctx& c : ctxs_)
    if (c.active && !c.waiting.empty()) return true;
  return false;
}

}  // namespace virtuoso::slowpath

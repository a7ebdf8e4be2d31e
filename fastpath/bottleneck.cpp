// The emulated bottleneck's queue: departure times, tail drop, CE marking.
#include "bottleneck.hpp"

#include <algorithm>

#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/ipv4.hpp"

namespace virtuoso::fastpath {

namespace {

// Marks the frame's IPv4 header CE if it is an ECN-capable IPv4 frame (the outer header of a VXLAN
// frame: a switch on the underlay sees no further).
bool mark_ce(const Frame& f) {
  if (f.len < wire::kEthHeaderLen + wire::kIpv4MinHeaderLen) return false;
  if (wire::load_be16(f.data + 12) != wire::kEtherTypeIpv4) return false;
  return wire::ipv4_mark_ce(f.data + wire::kEthHeaderLen, f.len - wire::kEthHeaderLen);
}

}  // namespace

void Bottleneck::configure(const abi::FaultDirection& s) {
  rate_mbps_ = s.rate_mbps > 0 ? s.rate_mbps : 0;
  limit_bytes_ = uint64_t(std::max(s.queue_bytes, 0.0));
  mark_bytes_ = uint64_t(std::max(s.mark_bytes, 0.0));
  delay_ns_ = uint64_t(std::max(s.delay_us, 0.0)) * 1000;
}

uint64_t Bottleneck::backlog_bytes(uint64_t now_us) const {
  uint64_t now_ns = now_us * 1000;
  if (rate_mbps_ <= 0 || busy_until_ns_ <= now_ns) return 0;
  return uint64_t(double(busy_until_ns_ - now_ns) * rate_mbps_ / 8000.0);  // Mbit/s = bytes/ns x 8000
}

bool Bottleneck::offer(const Frame& frame, uint64_t now_us, abi::BottleneckCounters& c) {
  uint64_t backlog = backlog_bytes(now_us);
  if (count_ == kCapacity || backlog + frame.len > limit_bytes_) {
    ++c.dropped;
    return false;
  }
  if (mark_bytes_ != 0 && backlog > mark_bytes_ && mark_ce(frame)) ++c.ce_marked;
  uint64_t depart = now_us * 1000;  // no link rate: straight onto the wire
  if (rate_mbps_ > 0) {
    busy_until_ns_ = std::max(busy_until_ns_, depart) + uint64_t(double(frame.len) * 8000.0 / rate_mbps_);
    depart = busy_until_ns_;
  }
  ring_[(head_ + count_) % kCapacity] = {frame, depart};
  ++count_;
  ++c.queued;
  c.backlog_bytes = backlog + frame.len;
  c.peak_bytes = std::max(c.peak_bytes, c.backlog_bytes);
  return true;
}

bool Bottleneck::take_due(uint64_t now_us, Frame& out) {
  if (count_ == 0) return false;
  const Slot& s = ring_[head_];
  if (active() && s.depart_ns + delay_ns_ > now_us * 1000) return false;
  out = s.frame;
  head_ = (head_ + 1) % kCapacity;
  --count_;
  return true;
}

}  // namespace virtuoso::fastpath

// The fault injector's decisions per frame, the hold for reordered frames, and settings changes.
#include "fault_port.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::fastpath {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Distinct streams per direction from one seed.
constexpr uint64_t kRxSalt = 0x7278000000000000ULL;  // "rx"
constexpr uint64_t kTxSalt = 0x7478000000000000ULL;  // "tx"

}  // namespace

void FaultRng::reseed(uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

uint64_t FaultRng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t FaultPort::threshold(double p) {
  constexpr double kOne = double(uint64_t{1} << 53);
  if (!(p > 0)) return 0;
  if (p >= 1) return uint64_t{1} << 53;
  return uint64_t(p * kOne);
}

FaultPort::FaultPort(PacketPort& inner, const Clock& clock, const abi::FaultSettings& settings,
                     abi::ControlHeader* shared)
    : inner_(inner), clock_(clock), shared_(shared) {
  if (shared_ != nullptr) {
    rx_.counters = &shared_->stats.fault_rx;
    tx_.counters = &shared_->stats.fault_tx;
    rx_.released_early = &shared_->faults.rx_released_early;
    tx_.released_early = &shared_->faults.tx_released_early;
    rx_.queue_counters = &shared_->faults.rx_queue;
    tx_.queue_counters = &shared_->faults.tx_queue;
    shm::store_release(shared_->faults.fp_injector, 1u);
  }
  apply(settings);
}

FaultPort::~FaultPort() {
  for (Direction* d : {&rx_, &tx_}) {
    for (uint16_t i = 0; i < d->held_count; ++i) inner_.free(d->held[i].frame);
    d->held_count = 0;
    d->queue.configure(abi::kNoFaults);
    for (Frame f; d->queue.take_due(0, f);) inner_.free(f);
  }
  if (shared_ != nullptr) shm::store_release(shared_->faults.fp_injector, 0u);
}

void FaultPort::configure(Direction& d, const abi::FaultDirection& s, uint64_t seed) {
  d.rng.reseed(seed);
  d.active = abi::faults_active(s);
  d.in_burst = false;
  d.loss = threshold(s.loss);
  d.burst_start = threshold(s.burst_start);
  d.burst_end = threshold(s.burst_len >= 1 ? 1.0 / s.burst_len : 1.0);
  d.reorder = threshold(s.reorder);
  d.duplicate = threshold(s.duplicate);
  d.corrupt = threshold(s.corrupt);
  d.delay_us = s.reorder_delay_us > 0 ? uint64_t(s.reorder_delay_us) : 0;
  d.queue.configure(s);
  d.queue_counters->peak_bytes = 0;
}

void FaultPort::apply(const abi::FaultSettings& settings) {
  settings_ = settings;
  configure(rx_, settings.rx, settings.seed ^ kRxSalt);
  configure(tx_, settings.tx, settings.seed ^ kTxSalt);
}

bool FaultPort::poll_control() {
  if (shared_ == nullptr) return false;
  abi::FaultControl& block = shared_->faults;
  uint32_t gen = shm::load_acquire(block.generation);
  if (gen == seen_generation_ || (gen & 1u) != 0) return false;
  abi::FaultSettings s;
  std::memcpy(&s, &block.settings, sizeof s);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (shm::load_relaxed(block.generation) != gen) return false;  // rewritten meanwhile: next time
  seen_generation_ = gen;
  apply(s);
  shm::store_release(block.fp_generation, gen);
  return true;
}

bool FaultPort::lost(Direction& d) {
  if (d.in_burst) {
    if (!d.rng.chance(d.burst_end)) {
      ++d.counters->burst_lost;
      return true;
    }
    d.in_burst = false;
  } else if (d.rng.chance(d.burst_start)) {
    d.in_burst = true;
    ++d.counters->burst_lost;
    return true;
  }
  if (d.rng.chance(d.loss)) {
    ++d.counters->lost;
    return true;
  }
  return false;
}

// Past the Ethernet header, so the IPv4 or TCP checksum (or the ARP parser) sees the damage.
void FaultPort::corrupt(Direction& d, Frame& frame) {
  uint64_t r = d.rng.next();
  if (frame.len <= wire::kEthHeaderLen) return;
  uint64_t pos = wire::kEthHeaderLen + (r >> 3) % (frame.len - wire::kEthHeaderLen);
  frame.data[pos] ^= uint8_t(1u << (r & 7));
  ++d.counters->corrupted;
}

FaultPort::Verdict FaultPort::judge(Direction& d, Frame& frame, Frame& copy) {
  copy = {};
  if (lost(d)) return Verdict::kDrop;
  if (d.rng.chance(d.corrupt)) corrupt(d, frame);
  if (d.rng.chance(d.duplicate) && inner_.alloc(copy)) {
    std::memcpy(copy.data, frame.data, frame.len);
    copy.len = frame.len;
  }
  return d.rng.chance(d.reorder) ? Verdict::kHold : Verdict::kPass;
}

uint64_t FaultPort::due_time(Direction& d, uint64_t now) {
  return now + (d.delay_us != 0 ? d.rng.next() % (d.delay_us + 1) : 0);
}

bool FaultPort::hold(Direction& d, const Frame& frame, uint64_t due, Frame& evicted) {
  if (d.held_count < kHoldCapacity) {
    d.held[d.held_count++] = {frame, due};
    return false;
  }
  auto first = std::min_element(d.held.begin(), d.held.begin() + d.held_count,
                                [](const Held& a, const Held& b) { return a.due_us < b.due_us; });
  evicted = first->frame;
  *first = {frame, due};
  ++*d.released_early;
  return true;
}

bool FaultPort::take_due(Direction& d, uint64_t now, Frame& out) {
  for (uint16_t i = 0; i < d.held_count; ++i) {
    if (d.held[i].due_us > now) continue;
    out = d.held[i].frame;
    d.held[i] = d.held[--d.held_count];
    return true;
  }
  return false;
}

bool FaultPort::through_bottleneck(Direction& d, const Frame& frame, uint64_t now) {
  if (!d.queue.active() && d.queue.size() == 0) return true;
  if (!d.queue.offer(frame, now, *d.queue_counters)) {
    Frame dropped = frame;
    inner_.free(dropped);
  }
  return false;
}

// Every frame taken from the inner port needs at most one slot of `frames` (a held frame frees
// its slot for the one it may evict), so taking at most the free slots never overflows. A
// duplicate waits in the hold, due at once, and is skipped when the hold is full. Frames for the
// bottleneck take no slot; those that left it fill the slots still free.
uint16_t FaultPort::rx_burst(Frame* frames, uint16_t max) {
  if (!rx_.active && rx_.held_count == 0 && !rx_.queue.active() && rx_.queue.size() == 0)
    return inner_.rx_burst(frames, max);
  uint64_t now = clock_.now_us();
  uint16_t out = 0;
  for (Frame f; out < max && take_due(rx_, now, f);)
    if (through_bottleneck(rx_, f, now)) frames[out++] = f;
  while (out < max && rx_.queue.take_due(now, frames[out])) ++out;
  if (out == max) return out;
  uint16_t want = uint16_t(std::min<unsigned>(max - out, kMaxBurst));
  uint16_t n = inner_.rx_burst(scratch_.data(), want);
  for (uint16_t i = 0; i < n; ++i) {
    Frame& f = scratch_[i];
    Frame copy{};
    Verdict v = rx_.active ? judge(rx_, f, copy) : Verdict::kPass;
    if (copy.handle != nullptr) {
      Frame unused;
      if (rx_.held_count < kHoldCapacity) {
        hold(rx_, copy, now, unused);
        ++rx_.counters->duplicated;
      } else {
        inner_.free(copy);
      }
    }
    if (v == Verdict::kDrop) {
      inner_.free(f);
    } else if (v == Verdict::kHold) {
      ++rx_.counters->reordered;
      Frame evicted;
      if (hold(rx_, f, due_time(rx_, now), evicted) && through_bottleneck(rx_, evicted, now))
        frames[out++] = evicted;
    } else if (through_bottleneck(rx_, f, now)) {
      frames[out++] = f;
    }
  }
  while (out < max && rx_.queue.take_due(now, frames[out])) ++out;
  return out;
}

void FaultPort::send_on(const Frame& frame, uint64_t now) {
  if (through_bottleneck(tx_, frame, now)) {
    Frame f = frame;
    inner_.send(f);
  }
}

void FaultPort::send(Frame& frame) {
  if (!tx_.active && !tx_.queue.active() && tx_.queue.size() == 0) {
    inner_.send(frame);
    return;
  }
  uint64_t now = clock_.now_us();
  Frame copy{};
  Verdict v = tx_.active ? judge(tx_, frame, copy) : Verdict::kPass;
  if (v == Verdict::kDrop) {
    inner_.free(frame);
  } else if (v == Verdict::kHold) {
    ++tx_.counters->reordered;
    Frame evicted;
    if (hold(tx_, frame, due_time(tx_, now), evicted)) send_on(evicted, now);
  } else {
    send_on(frame, now);
  }
  if (copy.handle != nullptr) {
    ++tx_.counters->duplicated;
    send_on(copy, now);
  }
}

// Held frames that are due go through the bottleneck first; then what left the link goes out.
void FaultPort::flush() {
  if (tx_.held_count != 0 || tx_.queue.size() != 0) {
    uint64_t now = clock_.now_us();
    Frame f;
    while (take_due(tx_, now, f)) send_on(f, now);
    while (tx_.queue.take_due(now, f)) inner_.send(f);
  }
  inner_.flush();
}

}  // namespace virtuoso::fastpath

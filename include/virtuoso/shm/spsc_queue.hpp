// Single-producer single-consumer queue of fixed-size entries laid out in shared memory.
//
// The header holds only the two free-running indices, each on its own cache line and each written
// by exactly one side. The capacity is never read from shared memory: both sides know it from
// their own configuration, so a peer that scribbles the header cannot make the other side read
// outside the ring. A consumer that sees an impossible head reports kCorrupt instead of trusting it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shm {

struct alignas(64) SpscIndices {
  alignas(64) uint32_t head;  // written by the producer only: entries ever pushed
  alignas(64) uint32_t tail;  // written by the consumer only: entries ever popped
};
static_assert(sizeof(SpscIndices) == 128);
static_assert(offsetof(SpscIndices, tail) == 64);
static_assert(std::is_trivially_copyable_v<SpscIndices>);

enum class PopResult { kOk, kEmpty, kCorrupt };

constexpr bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Bytes a queue of `capacity` entries of type T occupies in a region (indices + entries).
template <typename T>
constexpr size_t spsc_bytes(uint32_t capacity) {
  return sizeof(SpscIndices) + size_t{capacity} * sizeof(T);
}

// A view of a queue in mapped memory. Cheap to copy; holds no ownership.
template <typename T>
class SpscQueue {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SpscQueue() = default;
  // `base` points at spsc_bytes<T>(capacity) bytes; capacity must be a power of two.
  SpscQueue(void* base, uint32_t capacity)
      : idx_(static_cast<SpscIndices*>(base)),
        slots_(reinterpret_cast<T*>(static_cast<char*>(base) + sizeof(SpscIndices))),
        mask_(capacity - 1) {}

  // Zero the indices; only the creator of the region calls this, before sharing it.
  void reset() {
    idx_->head = 0;
    idx_->tail = 0;
  }

  uint32_t capacity() const { return mask_ + 1; }

  // Producer side. Returns false if full; full is a normal result the caller must handle.
  bool try_push(const T& entry) {
    uint32_t head = idx_->head;  // own index: only we write it
    uint32_t tail = load_acquire(idx_->tail);
    if (head - tail >= capacity()) return false;
    std::memcpy(&slots_[head & mask_], &entry, sizeof(T));
    store_release(idx_->head, head + 1);
    return true;
  }

  // Free entries as seen by the producer.
  uint32_t free_space() const {
    uint32_t used = idx_->head - load_acquire(idx_->tail);
    return used > capacity() ? 0 : capacity() - used;
  }

  // Consumer side: copies the entry out once, so later scribbles cannot change what was validated.
  PopResult try_pop(T& out) {
    uint32_t tail = idx_->tail;
    uint32_t head = load_acquire(idx_->head);
    if (head == tail) return PopResult::kEmpty;
    if (head - tail > capacity()) return PopResult::kCorrupt;
    std::memcpy(&out, &slots_[tail & mask_], sizeof(T));
    store_release(idx_->tail, tail + 1);
    return PopResult::kOk;
  }

  bool empty() const { return load_acquire(idx_->head) == idx_->tail; }
  // True when the consumer has nothing pending (read by either side; a hint, not a promise).
  bool looks_empty() const { return load_acquire(idx_->head) == load_acquire(idx_->tail); }

 private:
  SpscIndices* idx_ = nullptr;
  T* slots_ = nullptr;
  uint32_t mask_ = 0;
};

}  // namespace virtuoso::shm

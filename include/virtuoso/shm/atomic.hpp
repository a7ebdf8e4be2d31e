// Atomic access to plain integer fields of shared-memory structs (which stay trivially copyable).
#pragma once
#include <atomic>
#include <cstdint>

namespace virtuoso::shm {

template <typename T>
inline T load_acquire(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_acquire);
}
template <typename T>
inline T load_relaxed(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}
template <typename T>
inline void store_release(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_release);
}
template <typename T>
inline void store_relaxed(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}
// Store then full fence: the "set flag, re-check, then sleep" half of a lost-wake-up-free doorbell.
template <typename T>
inline void store_seq_cst(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_seq_cst);
}
// Compare-and-swap: true if `field` held `expected` and now holds `desired`.
template <typename T>
inline bool compare_exchange(T& field, T expected, T desired) {
  return std::atomic_ref<T>(field).compare_exchange_strong(expected, desired, std::memory_order_acq_rel);
}
inline void full_fence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

}  // namespace virtuoso::shm

// What a socket call costs the shim, in TSC cycles of the calling thread: the whole call minus the
// time the thread spent waiting (spinning or asleep) for data, room or the slow path.
#pragma once
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {

inline uint64_t cycles_now() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // nanoseconds where there is no TSC
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
#endif
}

// Cycles the calling thread has spent waiting inside blocking calls, ever (see WaitSpan).
uint64_t& thread_waited_cycles();

// Counts its lifetime as waiting, for the CallSpan around it.
class WaitSpan {
 public:
  WaitSpan() : start_(cycles_now()) {}
  ~WaitSpan() { thread_waited_cycles() += cycles_now() - start_; }
  WaitSpan(const WaitSpan&) = delete;
  WaitSpan& operator=(const WaitSpan&) = delete;

 private:
  uint64_t start_;
};

// One socket call from its start: the cycles of work so far (waiting left out).
class CallSpan {
 public:
  CallSpan() : start_(cycles_now()), waited_(thread_waited_cycles()) {}
  uint64_t work() const { return (cycles_now() - start_) - (thread_waited_cycles() - waited_); }

 private:
  uint64_t start_;
  uint64_t waited_;
};

// Adds one call and its cycles to the region's counters; the caller holds the stack lock (the
// counters' only writer in this process).
inline void count_call(uint64_t& calls, uint64_t& cycles, uint64_t work) {
  shm::store_relaxed(calls, shm::load_relaxed(calls) + 1);
  shm::store_relaxed(cycles, shm::load_relaxed(cycles) + work);
}

}  // namespace virtuoso::shim

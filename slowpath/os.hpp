// Thin wrappers over the Linux calls the daemon uses: memfd regions, eventfd, timerfd, signalfd, clock.
// Setup failures throw std::runtime_error with a one-line message naming the call and the cause.
#pragma once
#include <signal.h>

#include <cstddef>
#include <cstdint>

#include "core/types.hpp"
#include "unique_fd.hpp"

namespace virtuoso::slowpath {

// A memfd of a fixed size, mapped shared. Zero-filled when created.
class SharedMemory {
 public:
  SharedMemory() = default;
  SharedMemory(const char* name, size_t bytes);
  ~SharedMemory();
  SharedMemory(SharedMemory&& o) noexcept;
  SharedMemory& operator=(SharedMemory&& o) noexcept;

  int fd() const { return fd_.get(); }
  uint8_t* base() const { return base_; }
  size_t size() const { return bytes_; }

 private:
  UniqueFd fd_;
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
};

UniqueFd make_eventfd();
// Adds one to an eventfd counter; a full counter means the sleeper wakes anyway.
void ring_eventfd(int fd);
void drain_eventfd(int fd);

UniqueFd make_timerfd();
// Periodic expiry every `interval_ms`; 0 disarms.
void arm_timerfd(int fd, unsigned interval_ms);
void drain_timerfd(int fd);

// Blocks SIGINT and SIGTERM for the process and returns a signalfd that reports them.
UniqueFd make_stop_signalfd();

TimeMs monotonic_ms();
// CLOCK_MONOTONIC in nanoseconds (what a piece of the loop's work took).
uint64_t monotonic_ns();

// 128 bits from the kernel's random source, for the ISN and port-selection key.
void random_key(uint64_t& k0, uint64_t& k1);

}  // namespace virtuoso::slowpath

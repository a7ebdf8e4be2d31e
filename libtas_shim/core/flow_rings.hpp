// Moving bytes between an app's iovec list and one flow's rx/tx rings, and checking the positions
// the fast path publishes before trusting them.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "virtuoso/abi/app_region.hpp"

namespace virtuoso::shim {

// A read/write position inside an iovec list; copies resume where the last one stopped, so a
// blocking send that waits for ring space several times never re-sends or skips bytes.
class IovCursor {
 public:
  IovCursor(const struct iovec* iov, int iovcnt);
  size_t remaining() const { return left_; }
  bool done() const { return left_ == 0; }

  // Copies `len` (<= remaining, <= ring size) bytes from the ring at position `pos` into the iovecs.
  void fill_from_ring(const uint8_t* ring, uint32_t size, uint32_t pos, size_t len);
  // Copies `len` (<= remaining, <= ring size) bytes from the iovecs into the ring at `pos`.
  void drain_to_ring(uint8_t* ring, uint32_t size, uint32_t pos, size_t len);
  // Moves past `len` bytes without copying (MSG_TRUNC).
  void skip(size_t len);

 private:
  template <typename Fn>
  void walk(size_t len, Fn&& fn);

  const struct iovec* iov_;
  int iovcnt_;
  int idx_ = 0;
  size_t off_ = 0;
  size_t left_ = 0;
};

// Total length of an iovec list, or -EINVAL (bad count, overflows ssize_t) / -EFAULT (null buffer).
ssize_t iov_total(const struct iovec* iov, int iovcnt);

// Bytes waiting in the rx ring (rx_head - rx_tail), or -1 if the fast path's rx_head is impossible.
int64_t rx_readable(const abi::FlowSlot& slot, uint32_t rx_tail, uint32_t rx_size);
// Bytes not yet acknowledged in the tx ring (tx_head - tx_tail), or -1 if tx_tail is impossible.
int64_t tx_in_flight(const abi::FlowSlot& slot, uint32_t tx_head, uint32_t tx_size);

}  // namespace virtuoso::shim

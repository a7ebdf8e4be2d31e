// Byte movement between iovecs and the per-flow rings (wrap handled by shm::ring_read/ring_write).
#include "flow_rings.hpp"

#include <errno.h>
#include <limits.h>

#include <algorithm>

#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"

namespace virtuoso::shim {

IovCursor::IovCursor(const struct iovec* iov, int iovcnt) : iov_(iov), iovcnt_(iovcnt) {
  for (int i = 0; i < iovcnt; ++i) left_ += iov[i].iov_len;
}

template <typename Fn>
void IovCursor::walk(size_t len, Fn&& fn) {
  size_t done = 0;
  while (done < len && idx_ < iovcnt_) {
    size_t room = iov_[idx_].iov_len - off_;
    size_t n = std::min(room, len - done);
    if (n > 0) fn(static_cast<uint8_t*>(iov_[idx_].iov_base) + off_, done, n);
    done += n;
    off_ += n;
    if (off_ == iov_[idx_].iov_len) {
      ++idx_;
      off_ = 0;
    }
  }
  left_ -= done;
}

void IovCursor::fill_from_ring(const uint8_t* ring, uint32_t size, uint32_t pos, size_t len) {
  walk(len, [&](uint8_t* dst, size_t done, size_t n) {
    shm::ring_read(ring, size, pos + static_cast<uint32_t>(done), dst, n);
  });
}

void IovCursor::drain_to_ring(uint8_t* ring, uint32_t size, uint32_t pos, size_t len) {
  walk(len, [&](uint8_t* src, size_t done, size_t n) {
    shm::ring_write(ring, size, pos + static_cast<uint32_t>(done), src, n);
  });
}

void IovCursor::skip(size_t len) {
  walk(len, [](uint8_t*, size_t, size_t) {});
}

ssize_t iov_total(const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return -EINVAL;
  if (iovcnt > 0 && iov == nullptr) return -EFAULT;
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len > static_cast<size_t>(SSIZE_MAX) - total) return -EINVAL;
    if (iov[i].iov_len > 0 && iov[i].iov_base == nullptr) return -EFAULT;
    total += iov[i].iov_len;
  }
  return static_cast<ssize_t>(total);
}

int64_t rx_readable(const abi::FlowSlot& slot, uint32_t rx_tail, uint32_t rx_size) {
  uint32_t used = shm::load_acquire(slot.rx_head) - rx_tail;
  return used > rx_size ? -1 : int64_t{used};
}

int64_t tx_in_flight(const abi::FlowSlot& slot, uint32_t tx_head, uint32_t tx_size) {
  uint32_t used = tx_head - shm::load_acquire(slot.tx_tail);
  return used > tx_size ? -1 : int64_t{used};
}

}  // namespace virtuoso::shim

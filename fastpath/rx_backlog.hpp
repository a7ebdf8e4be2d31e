// Received frames parked per account while the account is out of budget: bounded FIFO rings,
// sized once, so parking never allocates. Frames stay in their port buffers while parked.
#pragma once
#include <cstdint>
#include <vector>

#include "port.hpp"

namespace virtuoso::fastpath {

class RxBacklog {
 public:
  // `accounts` rings of `per_account` frames each (0: parking is off, every push fails).
  RxBacklog(size_t accounts, uint32_t per_account)
      : per_(per_account), rings_(accounts * per_account), state_(accounts) {
    waiting_.reserve(accounts);
  }

  uint32_t capacity() const { return per_; }
  uint32_t size(uint32_t acct) const { return state_[acct].count; }
  bool empty(uint32_t acct) const { return state_[acct].count == 0; }
  // Accounts holding frames, in no particular order.
  const std::vector<uint32_t>& waiting() const { return waiting_; }
  uint64_t total() const { return total_; }

  // False when the account's ring is full (the caller drops and counts the frame).
  bool push(uint32_t acct, const Frame& f) {
    Ring& r = state_[acct];
    if (r.count == per_) return false;
    if (r.count == 0) waiting_.push_back(acct);
    rings_[size_t{acct} * per_ + (r.head + r.count) % per_] = f;
    ++r.count;
    ++total_;
    return true;
  }

  // The account's oldest frame; the account must hold one.
  Frame pop(uint32_t acct) {
    Ring& r = state_[acct];
    Frame f = rings_[size_t{acct} * per_ + r.head];
    r.head = (r.head + 1) % per_;
    --r.count;
    --total_;
    if (r.count == 0) {
      for (size_t i = 0; i < waiting_.size(); ++i)
        if (waiting_[i] == acct) {
          waiting_[i] = waiting_.back();
          waiting_.pop_back();
          break;
        }
    }
    return f;
  }

 private:
  struct Ring {
    uint32_t head = 0;
    uint32_t count = 0;
  };
  uint32_t per_;
  std::vector<Frame> rings_;  // [account][per_]
  std::vector<Ring> state_;
  std::vector<uint32_t> waiting_;
  uint64_t total_ = 0;
};

}  // namespace virtuoso::fastpath

// A bounded set of disjoint byte ranges in sequence space: out-of-order data held by the
// receiver, and the bytes a peer has SACKed to the sender.
//
// Fixed capacity and no allocation, so what a peer sends can never grow it. Ranges are kept
// sorted by start and merged when they touch. All ranges must lie within 2^31 of each other
// (they do: both uses are bounded by a window).
#pragma once
#include <array>
#include <cstdint>

#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

struct SeqRange {
  uint32_t start = 0;
  uint32_t end = 0;  // one past the last byte
  // The sender's scoreboard: when data at or above this range was first SACKed while the bytes
  // just below it were missing (microseconds, wrapping), so when the hole below it opened. Kept
  // by add(); the receiver leaves it 0.
  uint32_t stamp = 0;
};

template <size_t N>
class SeqRanges {
 public:
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const SeqRange& operator[](size_t i) const { return r_[i]; }
  void clear() { n_ = 0; }

  // Adds [start, end), merging with every range it overlaps or touches. False when it would
  // need a new range and all N are taken (nothing changes then). `stamp` (the time now) goes to
  // a range above every other; one added or merged below a range takes that range's stamp, the
  // hole below it being part of the older hole (stamps rise with sequence numbers).
  bool add(uint32_t start, uint32_t end, uint32_t stamp = 0) {
    using wire::seq_gt;
    using wire::seq_lt;
    if (!seq_lt(start, end)) return true;
    size_t i = 0;
    while (i < n_ && seq_lt(r_[i].end, start)) ++i;  // ranges wholly before, not touching
    size_t j = i;
    while (j < n_ && !seq_gt(r_[j].start, end)) ++j;  // ranges overlapping or touching
    if (i == j) {
      if (n_ == N) return false;
      uint32_t s = i < n_ ? r_[i].stamp : stamp;
      for (size_t k = n_; k > i; --k) r_[k] = r_[k - 1];
      r_[i] = {start, end, s};
      ++n_;
      return true;
    }
    SeqRange m{wire::seq_min(start, r_[i].start), wire::seq_max(end, r_[j - 1].end), r_[i].stamp};
    r_[i] = m;
    size_t removed = j - i - 1;
    for (size_t k = i + 1; k + removed < n_; ++k) r_[k] = r_[k + removed];
    n_ -= removed;
    return true;
  }

  // Forgets everything below `seq` (cut ranges that straddle it).
  void trim_below(uint32_t seq) {
    size_t drop = 0;
    while (drop < n_ && wire::seq_le(r_[drop].end, seq)) ++drop;
    for (size_t k = 0; k + drop < n_; ++k) r_[k] = r_[k + drop];
    n_ -= drop;
    if (n_ && wire::seq_lt(r_[0].start, seq)) r_[0].start = seq;
  }

  // The range holding `seq`, or nullptr.
  const SeqRange* find(uint32_t seq) const {
    for (size_t i = 0; i < n_; ++i)
      if (wire::seq_in(seq, r_[i].start, r_[i].end)) return &r_[i];
    return nullptr;
  }

  // The first range starting after `seq`, or nullptr.
  const SeqRange* next_after(uint32_t seq) const {
    for (size_t i = 0; i < n_; ++i)
      if (wire::seq_gt(r_[i].start, seq)) return &r_[i];
    return nullptr;
  }

  // Total bytes held.
  uint32_t bytes() const {
    uint32_t b = 0;
    for (size_t i = 0; i < n_; ++i) b += r_[i].end - r_[i].start;
    return b;
  }

  // Bytes held at or above `seq`.
  uint32_t bytes_from(uint32_t seq) const {
    uint32_t b = 0;
    for (size_t i = 0; i < n_; ++i)
      if (wire::seq_gt(r_[i].end, seq)) b += r_[i].end - wire::seq_max(r_[i].start, seq);
    return b;
  }

  uint32_t highest_end() const { return n_ ? r_[n_ - 1].end : 0; }

 private:
  std::array<SeqRange, N> r_{};
  size_t n_ = 0;
};

}  // namespace virtuoso::fastpath

// Log-bucketed latency histogram (HDR-style): constant memory, relative error bounded by 2^-kSubBits.
//
// Values below 2^kSubBits get one bucket each (exact). Above that, every power-of-two range
// [2^e, 2^(e+1)) is split into 2^kSubBits equal buckets, so a bucket is at most 1/2^kSubBits of
// its lower bound wide. A percentile is reported as its bucket's midpoint, clamped to the exact
// min and max seen: the relative error is then at most 2^-(kSubBits+1) (0.39% for 7 bits).
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace virtuoso::bench {

class LogHistogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSubCount;

  LogHistogram() : counts_(kBuckets, 0) {}

  static size_t bucket_of(uint64_t v) {
    if (v < kSubCount) return size_t(v);
    unsigned shift = unsigned(63 - std::countl_zero(v)) - kSubBits;  // v >> shift in [kSub, 2*kSub)
    return size_t((uint64_t{shift} + 1) * kSubCount + ((v >> shift) - kSubCount));
  }
  // Smallest value that falls in bucket `b`.
  static uint64_t bucket_low(size_t b) {
    if (b < 2 * kSubCount) return b;
    uint64_t shift = b / kSubCount - 1;
    return (kSubCount + b % kSubCount) << shift;
  }
  // Largest value that falls in bucket `b`.
  static uint64_t bucket_high(size_t b) {
    if (b < 2 * kSubCount) return b;
    uint64_t shift = b / kSubCount - 1;
    return bucket_low(b) + ((uint64_t{1} << shift) - 1);
  }

  void record(uint64_t v) {
    counts_[bucket_of(v)]++;
    count_++;
    sum_ += double(v);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void merge(const LogHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  void reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<uint64_t>::max();
    max_ = 0;
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / double(count_) : 0.0; }

  // The value at or below which `p` percent of the recorded values lie (0 when empty).
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(p / 100.0 * double(count_))));
    if (rank >= count_) return max_;  // the extremes are known exactly: no bucket error there
    if (rank == 1) return min_;
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) {
        uint64_t lo = bucket_low(b);
        uint64_t mid = lo + (bucket_high(b) - lo) / 2;
        return std::clamp(mid, min_, max_);
      }
    }
    return max_;
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace virtuoso::bench

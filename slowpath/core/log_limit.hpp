// Rate limits for the lines the slow path logs because of what apps or peers do (refusals, faults),
// so that a flood of them is a bounded number of lines plus a count of those held back.
// Pure bookkeeping with the caller's clock; the control plane writes the lines.
#pragma once
#include <array>
#include <cstdint>

#include "types.hpp"
#include "virtuoso/util/token_bucket.hpp"

namespace virtuoso::slowpath {

enum class LogKind : uint8_t {
  kRefusal,  // an app's request refused by policy or a limit
  kFault,    // an app or a flow failed (queue protocol broken, a flow failed by the fast path)
  kCount,
};

inline const char* log_kind_name(LogKind k) { return k == LogKind::kRefusal ? "refusal" : "fault"; }

class LogLimit {
 public:
  static constexpr uint32_t kPerSecond = 10;
  static constexpr uint32_t kBurst = 20;

  // Whether a line of `kind` may be written at `now`. When it may and some were held back since
  // the last one written, `held` says how many (0 otherwise), for the caller to report first.
  bool allow(LogKind kind, TimeMs now, uint64_t& held) {
    auto k = static_cast<size_t>(kind);
    held = 0;
    if (!buckets_[k].take(now * 1000)) {
      ++suppressed_[k];
      return false;
    }
    held = suppressed_[k];
    suppressed_[k] = 0;
    return true;
  }
  uint64_t suppressed(LogKind kind) const { return suppressed_[static_cast<size_t>(kind)]; }

 private:
  std::array<util::TokenBucket, size_t(LogKind::kCount)> buckets_{
      util::TokenBucket(kPerSecond, kBurst), util::TokenBucket(kPerSecond, kBurst)};
  std::array<uint64_t, size_t(LogKind::kCount)> suppressed_{};
};

}  // namespace virtuoso::slowpath

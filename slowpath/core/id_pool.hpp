// A pool of small integer ids (flow entries, slots, contexts): lowest ids first, O(1) alloc/free.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace virtuoso::slowpath {

class IdPool {
 public:
  IdPool() = default;
  explicit IdPool(uint32_t n) : in_use_(n, false) {
    free_.reserve(n);
    for (uint32_t i = n; i > 0; --i) free_.push_back(i - 1);
  }
  std::optional<uint32_t> alloc() {
    if (free_.empty()) return std::nullopt;
    uint32_t id = free_.back();
    free_.pop_back();
    in_use_[id] = true;
    return id;
  }
  // Ignores ids that are not allocated, so a double release cannot corrupt the pool.
  void release(uint32_t id) {
    if (id >= in_use_.size() || !in_use_[id]) return;
    in_use_[id] = false;
    free_.push_back(id);
  }
  bool in_use(uint32_t id) const { return id < in_use_.size() && in_use_[id]; }
  uint32_t capacity() const { return uint32_t(in_use_.size()); }
  uint32_t used() const { return capacity() - uint32_t(free_.size()); }
  bool full() const { return free_.empty(); }

 private:
  std::vector<uint32_t> free_;
  std::vector<bool> in_use_;
};

}  // namespace virtuoso::slowpath

// Flow lookup by VNI and 4-tuple: linear probing with backward-shift deletion (no tombstones).
#include "flow_table.hpp"

#include <bit>

namespace virtuoso::fastpath {

FlowTable::FlowTable(uint32_t max_flows) : max_flows_(max_flows) {
  uint32_t cap = std::bit_ceil(max_flows * 2u < 16u ? 16u : max_flows * 2u);
  buckets_.assign(cap, Bucket{{}, kNone});
  mask_ = cap - 1;
}

uint32_t FlowTable::home(const FlowKey& k) const {
  uint64_t h = (uint64_t(k.remote_ip) << 32 | k.local_ip) * 0x9e3779b97f4a7c15ULL;
  // Tenants reuse each other's addresses and ports: the VNI must spread their flows too.
  uint64_t ports = uint64_t(k.remote_port) << 16 | k.local_port;
  h ^= (uint64_t(k.vni) << 32 | ports) * 0xc2b2ae3d27d4eb4fULL;
  h ^= h >> 29;
  return uint32_t(h) & mask_;
}

uint32_t FlowTable::find(const FlowKey& key) const {
  for (uint32_t i = home(key);; i = (i + 1) & mask_) {
    const Bucket& b = buckets_[i];
    if (b.flow == kNone) return kNone;
    if (b.key == key) return b.flow;
  }
}

bool FlowTable::insert(const FlowKey& key, uint32_t flow) {
  if (size_ >= max_flows_ || flow == kNone) return false;
  for (uint32_t i = home(key);; i = (i + 1) & mask_) {
    Bucket& b = buckets_[i];
    if (b.flow == kNone) {
      b = {key, flow};
      ++size_;
      return true;
    }
    if (b.key == key) return false;
  }
}

bool FlowTable::erase(const FlowKey& key) {
  uint32_t i = home(key);
  for (;; i = (i + 1) & mask_) {
    if (buckets_[i].flow == kNone) return false;
    if (buckets_[i].key == key) break;
  }
  // Backward shift: pull later members of the probe run into the hole so lookups never stop early.
  for (uint32_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    if (buckets_[j].flow == kNone) break;
    uint32_t h = home(buckets_[j].key);
    bool movable = (i <= j) ? (h <= i || h > j) : (h <= i && h > j);
    if (movable) {
      buckets_[i] = buckets_[j];
      i = j;
    }
  }
  buckets_[i].flow = kNone;
  --size_;
  return true;
}

}  // namespace virtuoso::fastpath

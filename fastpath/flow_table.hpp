// Flow lookup by VNI and 4-tuple: open addressing over a fixed array sized at start, no allocation.
#pragma once
#include <cstdint>
#include <vector>

namespace virtuoso::fastpath {

struct FlowKey {
  uint32_t vni;  // 0: the host's own network; else a tenant's (the addresses are inner ones)
  uint32_t local_ip;
  uint32_t remote_ip;
  uint16_t local_port;
  uint16_t remote_port;
  bool operator==(const FlowKey&) const = default;
};

class FlowTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Holds up to `max_flows` entries at a load factor of at most one half.
  explicit FlowTable(uint32_t max_flows);

  uint32_t find(const FlowKey& key) const;
  // False if the key is present already or the table is full.
  bool insert(const FlowKey& key, uint32_t flow);
  bool erase(const FlowKey& key);
  uint32_t size() const { return size_; }

 private:
  struct Bucket {
    FlowKey key;
    uint32_t flow;  // kNone: empty
  };
  uint32_t home(const FlowKey& key) const;

  std::vector<Bucket> buckets_;
  uint32_t mask_;
  uint32_t size_ = 0;
  uint32_t max_flows_;
};

}  // namespace virtuoso::fastpath

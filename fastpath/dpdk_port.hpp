// The DPDK implementation of PacketPort: one ethdev port, one RX and one TX queue, and a mempool
// of its own or one shared with other ports (so a frame received on one can be sent on another).
#pragma once
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>

#include "port.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::fastpath {

class DpdkPort final : public PacketPort {
 public:
  static constexpr uint16_t kBurst = 32;

  // Configures and starts `port_id`; on failure returns false and sets `error` to one line.
  bool open(uint16_t port_id, unsigned mbufs, std::string& error);  // with a pool of `mbufs` buffers
  bool open(uint16_t port_id, rte_mempool* pool, std::string& error);  // with the caller's pool
  void close();
  wire::MacAddr mac() const { return mac_; }

  uint16_t rx_burst(Frame* frames, uint16_t max) override;
  bool alloc(Frame& frame) override;
  void free(Frame& frame) override;
  void send(Frame& frame) override;
  void flush() override;
  PortCounters counters() const override;

 private:
  uint16_t port_id_ = 0;
  bool started_ = false;
  rte_mempool* pool_ = nullptr;
  wire::MacAddr mac_{};
  rte_mbuf* tx_batch_[kBurst * 4];
  uint16_t tx_count_ = 0;
  PortCounters counters_;
};

}  // namespace virtuoso::fastpath

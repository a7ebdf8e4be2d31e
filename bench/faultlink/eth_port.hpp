// A PacketPort over one DPDK ethdev port with a mempool shared by several ports, so a frame
// received on one port can be sent on another (the fast path's DpdkPort owns one pool per port).
#pragma once
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>

#include "port.hpp"

namespace virtuoso::bench {

class EthPort final : public fastpath::PacketPort {
 public:
  static constexpr uint16_t kBurst = 32;

  // Configures and starts `port_id` with one RX and one TX queue; false and `error` on failure.
  bool open(uint16_t port_id, rte_mempool* pool, std::string& error);
  void close();

  uint16_t rx_burst(fastpath::Frame* frames, uint16_t max) override;
  bool alloc(fastpath::Frame& frame) override;
  void free(fastpath::Frame& frame) override;
  void send(fastpath::Frame& frame) override;
  void flush() override;
  fastpath::PortCounters counters() const override { return counters_; }

 private:
  uint16_t port_id_ = 0;
  bool started_ = false;
  rte_mempool* pool_ = nullptr;
  rte_mbuf* tx_batch_[kBurst * 4];
  uint16_t tx_count_ = 0;
  fastpath::PortCounters counters_;
};

}  // namespace virtuoso::bench

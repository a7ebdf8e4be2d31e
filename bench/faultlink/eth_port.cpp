// EthPort: device start-up (as in DPDK's examples) and the burst wrappers.
#include "eth_port.hpp"

#include <fmt/format.h>

namespace virtuoso::bench {

bool EthPort::open(uint16_t port_id, rte_mempool* pool, std::string& error) {
  port_id_ = port_id;
  pool_ = pool;
  if (!rte_eth_dev_is_valid_port(port_id)) {
    error = fmt::format("DPDK port {} does not exist: pass two --vdev=net_tapN,iface=NAME", port_id);
    return false;
  }
  rte_eth_conf conf{};
  uint16_t rx_desc = 1024, tx_desc = 1024;
  int rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  if (rc == 0) rc = rte_eth_rx_queue_setup(port_id, 0, rx_desc, rte_eth_dev_socket_id(port_id), nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(port_id, 0, tx_desc, rte_eth_dev_socket_id(port_id), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(port_id);
  if (rc != 0) {
    error = fmt::format("cannot start DPDK port {}: {}", port_id, rte_strerror(-rc));
    return false;
  }
  // The link carries frames for the peers' MACs, not for the port's own.
  rte_eth_promiscuous_enable(port_id);
  started_ = true;
  return true;
}

void EthPort::close() {
  flush();
  if (started_) {
    rte_eth_dev_stop(port_id_);
    rte_eth_dev_close(port_id_);
    started_ = false;
  }
}

uint16_t EthPort::rx_burst(fastpath::Frame* frames, uint16_t max) {
  rte_mbuf* mbufs[kBurst];
  uint16_t n = rte_eth_rx_burst(port_id_, 0, mbufs, max < kBurst ? max : kBurst);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = mbufs[i];
    // A chained (jumbo) frame is passed on as an empty one, which the other port drops.
    uint16_t len = m->nb_segs > 1 ? 0 : rte_pktmbuf_data_len(m);
    frames[i] = {rte_pktmbuf_mtod(m, uint8_t*), len, m};
    counters_.rx_frames++;
    counters_.rx_bytes += m->pkt_len;
  }
  return n;
}

bool EthPort::alloc(fastpath::Frame& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return false;
  frame = {rte_pktmbuf_mtod(m, uint8_t*), 0, m};
  return true;
}

void EthPort::free(fastpath::Frame& frame) {
  rte_pktmbuf_free(static_cast<rte_mbuf*>(frame.handle));
  frame.handle = nullptr;
}

void EthPort::send(fastpath::Frame& frame) {
  auto* m = static_cast<rte_mbuf*>(frame.handle);
  if (frame.len == 0) {
    rte_pktmbuf_free(m);
    counters_.tx_dropped++;
    return;
  }
  m->data_len = frame.len;
  m->pkt_len = frame.len;
  tx_batch_[tx_count_++] = m;
  if (tx_count_ == sizeof(tx_batch_) / sizeof(tx_batch_[0])) flush();
}

void EthPort::flush() {
  uint16_t done = 0;
  for (int tries = 0; done < tx_count_ && tries < 8; ++tries)
    done += rte_eth_tx_burst(port_id_, 0, tx_batch_ + done, tx_count_ - done);
  for (uint16_t i = 0; i < done; ++i) {
    counters_.tx_frames++;
    counters_.tx_bytes += tx_batch_[i]->pkt_len;
  }
  for (uint16_t i = done; i < tx_count_; ++i) {
    rte_pktmbuf_free(tx_batch_[i]);
    counters_.tx_dropped++;
  }
  tx_count_ = 0;
}

}  // namespace virtuoso::bench

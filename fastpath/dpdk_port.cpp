// The DPDK port: device setup (like DPDK's examples' port_init) and the burst wrappers.
#include "dpdk_port.hpp"

#include <fmt/format.h>
#include <rte_errno.h>

namespace virtuoso::fastpath {

namespace {
constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;
}  // namespace

bool DpdkPort::open(uint16_t port_id, unsigned mbufs, std::string& error) {
  if (!rte_eth_dev_is_valid_port(port_id)) {
    error = fmt::format("DPDK port {} does not exist: check --vdev/-a (is the driver plugin loaded?)", port_id);
    return false;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create("virtuoso_mbufs", mbufs, 256, 0,
                                              RTE_PKTMBUF_HEADROOM + kFrameCapacity, int(rte_socket_id()));
  if (!pool) {
    error = fmt::format("cannot create a pool of {} packet buffers: {} (raise fastpath.memory_mb, reserve hugepages, or lower fastpath.mbufs)",
                        mbufs, rte_strerror(rte_errno));
    return false;
  }
  return open(port_id, pool, error);
}

bool DpdkPort::open(uint16_t port_id, rte_mempool* pool, std::string& error) {
  port_id_ = port_id;
  pool_ = pool;
  if (!rte_eth_dev_is_valid_port(port_id)) {
    error = fmt::format("DPDK port {} does not exist: check --vdev/-a (is the driver plugin loaded?)", port_id);
    return false;
  }
  rte_eth_conf conf{};
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    error = fmt::format("cannot query DPDK port {}: {}", port_id, rte_strerror(-rc));
    return false;
  }
  uint16_t rx_desc = kRxDesc, tx_desc = kTxDesc;
  int rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  if (rc == 0)
    rc = rte_eth_rx_queue_setup(port_id, 0, rx_desc, rte_eth_dev_socket_id(port_id), nullptr, pool_);
  if (rc == 0) rc = rte_eth_tx_queue_setup(port_id, 0, tx_desc, rte_eth_dev_socket_id(port_id), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(port_id);
  if (rc != 0) {
    error = fmt::format("cannot start DPDK port {} ({}): {}", port_id, info.driver_name, rte_strerror(-rc));
    return false;
  }
  started_ = true;
  rte_ether_addr addr;
  rte_eth_macaddr_get(port_id, &addr);
  for (int i = 0; i < 6; ++i) mac_[i] = addr.addr_bytes[i];
  return true;
}

PortCounters DpdkPort::counters() const {
  PortCounters c = counters_;
  if (pool_) c.buffers_in_use = rte_mempool_in_use_count(pool_);
  return c;
}

void DpdkPort::close() {
  flush();
  if (started_) {
    rte_eth_dev_stop(port_id_);
    rte_eth_dev_close(port_id_);
    started_ = false;
  }
}

uint16_t DpdkPort::rx_burst(Frame* frames, uint16_t max) {
  rte_mbuf* mbufs[kBurst];
  uint16_t n = rte_eth_rx_burst(port_id_, 0, mbufs, max < kBurst ? max : kBurst);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = mbufs[i];
    if (m->nb_segs > 1) {
      // Chained jumbo frames are not supported: hand back an empty frame, which is dropped and counted.
      frames[i] = {rte_pktmbuf_mtod(m, uint8_t*), 0, m};
    } else {
      frames[i] = {rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), m};
    }
    counters_.rx_frames++;
    counters_.rx_bytes += m->pkt_len;
  }
  return n;
}

bool DpdkPort::alloc(Frame& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return false;
  frame = {rte_pktmbuf_mtod(m, uint8_t*), 0, m};
  return true;
}

void DpdkPort::free(Frame& frame) {
  rte_pktmbuf_free(static_cast<rte_mbuf*>(frame.handle));
  frame.handle = nullptr;
}

void DpdkPort::send(Frame& frame) {
  rte_mbuf* m = static_cast<rte_mbuf*>(frame.handle);
  if (frame.len == 0) {  // an empty frame (a chained jumbo one received) goes nowhere
    rte_pktmbuf_free(m);
    counters_.tx_dropped++;
    return;
  }
  m->data_len = frame.len;
  m->pkt_len = frame.len;
  tx_batch_[tx_count_++] = m;
  if (tx_count_ == sizeof(tx_batch_) / sizeof(tx_batch_[0])) flush();
}

void DpdkPort::flush() {
  uint16_t done = 0;
  // A full device ring is retried a few times, then the rest is dropped (TCP recovers).
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

}  // namespace virtuoso::fastpath

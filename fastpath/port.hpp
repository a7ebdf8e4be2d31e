// The packet port seen by the datapath: receive bursts, buffer allocation, batched transmit.
//
// Implemented by the DPDK port (dpdk_port.cpp) and by the fake port in the unit tests, so the
// datapath's logic runs without EAL. One virtual call per burst or per buffer; nothing per byte.
#pragma once
#include <cstdint>

namespace virtuoso::fastpath {

inline constexpr uint16_t kFrameCapacity = 2048;  // bytes every frame buffer can hold
inline constexpr uint16_t kMinEthFrame = 60;      // shorter frames are zero-padded (no FCS)

struct Frame {
  uint8_t* data = nullptr;
  uint16_t len = 0;
  void* handle = nullptr;  // the port's own buffer (an rte_mbuf for DPDK)
};

struct PortCounters {
  uint64_t rx_frames = 0;
  uint64_t tx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;  // refused by the device's transmit ring
  uint64_t buffers_in_use = 0;  // packet buffers taken from the pool now (a leak shows as growth)
};

class PacketPort {
 public:
  virtual ~PacketPort() = default;
  // Fills up to `max` received frames; the caller frees each one.
  virtual uint16_t rx_burst(Frame* frames, uint16_t max) = 0;
  // A buffer of kFrameCapacity bytes for a frame to send; false if none is free.
  virtual bool alloc(Frame& frame) = 0;
  virtual void free(Frame& frame) = 0;
  // Queues `frame` (with its len set) for the next flush; the port owns it from here on.
  virtual void send(Frame& frame) = 0;
  virtual void flush() = 0;
  virtual PortCounters counters() const = 0;
};

}  // namespace virtuoso::fastpath

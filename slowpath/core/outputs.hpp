// Everything the control plane emits: frames and commands for the fast path, events for apps.
//
// The daemon implements this over the shared-memory queues (ShmChannels) and its sockets;
// unit tests implement it with vectors and read the frames back with the wire parsers.
#pragma once
#include <cstddef>
#include <cstdint>

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::slowpath {

class Outputs {
 public:
  virtual ~Outputs() = default;
  // One Ethernet frame for the inject queue. With kPacketProcessAsRx the fast path treats it as
  // received, and it must see every command emitted before it first.
  virtual void frame(const uint8_t* data, size_t len, uint16_t flags) = 0;
  virtual void command(const abi::FpCommand& cmd) = 0;
  virtual void ctl_event(uint16_t ctx, const abi::CtlEvent& ev) = 0;
  // An entry for ctx's atx queue, only once its app is gone (the queue then has no other producer).
  // The fast path mapped ctx (error 0: answer the app) or could not (the ctx id is already free).
  virtual void context_attached(uint16_t ctx, int error) = 0;
  // The fast path unmapped ctx; its id is free again and its region may be released.
  virtual void context_detached(uint16_t ctx) = 0;
};

}  // namespace virtuoso::slowpath

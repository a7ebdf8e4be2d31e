// What poll() and epoll report for a stack socket, following Linux's tcp_poll() state by state.
#pragma once
#include <cstdint>

#include "socket.hpp"

namespace virtuoso::shim {

// EPOLL* bits (identical to the POLL* bits) for `s` right now. May mark the flow failed if the
// fast path published an error or impossible positions. Stack lock held.
uint32_t poll_mask(Socket& s);

// Linux's sk_stream_is_writeable(): there is room and the free space is at least half the bytes
// still queued, so a writer woken by EPOLLOUT can make real progress.
constexpr bool stream_writable(uint32_t used, uint32_t size) {
  uint32_t free = size - used;
  return free > 0 && free >= used / 2;
}

}  // namespace virtuoso::shim

// getsockopt(TCP_INFO): the connection state as the shim knows it, and the round-trip and
// retransmission figures the fast path publishes in the flow's slot. Fields the stack does not
// track (congestion window, pacing, delivery rates...) read 0.
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include <algorithm>

#include "stack.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {
namespace {

uint8_t tcp_state_of(const Socket& s) {
  switch (s.state) {
    case SockState::kFresh: return TCP_CLOSE;
    case SockState::kListening: return TCP_LISTEN;
    case SockState::kConnecting: return TCP_SYN_SENT;
    case SockState::kClaiming: return TCP_ESTABLISHED;
    case SockState::kConnected: break;
  }
  if (s.failed || s.closed_by_stack) return TCP_CLOSE;
  bool peer_fin = s.rx_fin_seen;
  if (peer_fin && s.fin_queued) return TCP_LAST_ACK;
  if (peer_fin) return TCP_CLOSE_WAIT;
  if (s.fin_queued) return TCP_FIN_WAIT1;  // FIN_WAIT_2 is not told apart: the slow path knows
  return TCP_ESTABLISHED;
}

}  // namespace

int Stack::tcp_info(Socket& s, void* val, socklen_t* len) {
  struct tcp_info ti;
  memset(&ti, 0, sizeof ti);
  if (s.state == SockState::kConnected && !s.inherited && !s.released) {
    Context& c = *s.ctx;
    c.refresh(s);
    const abi::FlowSlot& fs = c.flow_slot(s.slot);
    s.rx_fin_seen = s.rx_fin_seen || shm::load_acquire(fs.rx_fin) != 0;
    uint32_t snd_mss = shm::load_relaxed(fs.snd_mss);
    ti.tcpi_rtt = shm::load_relaxed(fs.srtt_us);
    ti.tcpi_rttvar = shm::load_relaxed(fs.rttvar_us);
    ti.tcpi_total_retrans = shm::load_relaxed(fs.retransmits);
    ti.tcpi_snd_mss = snd_mss != 0 ? snd_mss : s.mss;
    ti.tcpi_rcv_mss = s.mss;
    ti.tcpi_advmss = s.mss;
    ti.tcpi_pmtu = s.mss + 40u;
  }
  ti.tcpi_state = tcp_state_of(s);
  socklen_t n = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof ti));
  memcpy(val, &ti, n);
  *len = n;
  return 0;
}

}  // namespace virtuoso::shim

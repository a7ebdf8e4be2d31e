// getsockopt(TCP_INFO): the connection state as the shim knows it, the round-trip and
// retransmission figures the fast path publishes in the flow's slot and the congestion window and
// pacing rate the slow path publishes there. Fields the stack does not track (delivery rates...)
// read 0.
// And TCP_CONGESTION: the flow's algorithm, or the one a new connection gets.
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include <algorithm>
#include <cstddef>

#include "stack.hpp"
#include "virtuoso/abi/congestion_names.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {
namespace {

// struct tcp_info as the kernel fills it (linux/tcp.h), as far as the pacing rates: glibc's
// <netinet/tcp.h> stops at tcpi_total_retrans. Apps read past it with the kernel's header.
struct TcpInfoWithPacing {
  struct tcp_info base;
  uint64_t tcpi_pacing_rate;      // bytes a second; 0: not paced
  uint64_t tcpi_max_pacing_rate;  // SO_MAX_PACING_RATE; ~0: none
};
static_assert(offsetof(TcpInfoWithPacing, tcpi_pacing_rate) == 104 &&
              offsetof(TcpInfoWithPacing, tcpi_max_pacing_rate) == 112);

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
  TcpInfoWithPacing info;
  memset(&info, 0, sizeof info);
  struct tcp_info& ti = info.base;
  info.tcpi_max_pacing_rate = s.opt.max_pacing_rate;
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
    // Linux counts these in segments; an unlimited threshold reads TCP_INFINITE_SSTHRESH.
    uint32_t mss = std::max<uint32_t>(ti.tcpi_snd_mss, 1);
    uint32_t ssthresh = shm::load_relaxed(fs.snd_ssthresh);
    ti.tcpi_snd_cwnd = shm::load_relaxed(fs.snd_cwnd) / mss;
    ti.tcpi_snd_ssthresh = ssthresh == UINT32_MAX ? 0x7fffffffu : ssthresh / mss;
    info.tcpi_pacing_rate = shm::load_relaxed(fs.pacing_rate);
  }
  ti.tcpi_state = tcp_state_of(s);
  socklen_t n = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof info));
  memcpy(val, &info, n);
  *len = n;
  return 0;
}

std::string Stack::congestion_name(Socket& s) {
  char name[abi::kCongestionNameMax];
  if (s.state == SockState::kConnected && !s.inherited && !s.released) {
    s.ctx->refresh(s);
    memcpy(name, s.ctx->flow_slot(s.slot).congestion, sizeof name);
  } else {
    memcpy(name, s.ctx->view().header()->default_congestion, sizeof name);
  }
  name[sizeof name - 1] = 0;  // the region is the app's own: never trust a terminator in it
  return name;
}

int Stack::get_congestion(Socket& s, void* val, socklen_t* len) {
  std::string name = congestion_name(s);
  char out[abi::kCongestionNameMax] = {};
  memcpy(out, name.data(), std::min(name.size(), sizeof out - 1));
  socklen_t n = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof out));
  memcpy(val, out, n);
  *len = n;
  return 0;
}

// The daemon chooses each tenant's algorithm: asking for it is fine, asking for another is refused
// as Linux refuses an unprivileged process an algorithm outside tcp_allowed_congestion_control.
int Stack::set_congestion(Socket& s, const void* val, socklen_t len) {
  if (len < 1) return -EINVAL;
  char want[abi::kCongestionNameMax] = {};
  memcpy(want, val, std::min<size_t>(len, sizeof want - 1));
  if (!abi::is_congestion_name(want)) return -ENOENT;
  return congestion_name(s) == want ? 0 : -EPERM;
}

}  // namespace virtuoso::shim

// ICMP destination-unreachable for the stack's connections: path MTU discovery (RFC 1191) and the
// soft and hard errors Linux derives from them, each checked against the quoted segment (RFC 5927).
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>

#include "control_plane.hpp"
#include "log_format.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/wire/icmp.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;
using shm::store_relaxed;

namespace {

// The errno each unreachable code means (RFC 1122 3.2.2.1; the values Linux's icmp_err_convert
// gives). Fragmentation needed (4) is not an error: it lowers the path MTU.
constexpr std::array<int, 16> kUnreachableErrno = {
    ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT,  ECONNREFUSED, EMSGSIZE,     EOPNOTSUPP,
    ENETUNREACH, EHOSTDOWN,    ENONET,       ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
    EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH};

// Linux's smallest path MTU (net.ipv4.route.min_pmtu): a smaller or missing next-hop MTU (routers
// older than RFC 1191 send 0) is taken as this, so a forged message cannot shrink segments to nothing.
constexpr uint32_t kMinPathMtu = 552;
constexpr uint32_t kIpTcpHeaders = wire::kIpv4MinHeaderLen + 20;

bool seq_between(uint32_t seq, uint32_t lo, uint32_t hi) {  // lo <= seq <= hi, modulo 2^32
  return seq - lo <= hi - lo;
}

}  // namespace

void ControlPlane::handle_icmp(const uint8_t* data, size_t len, TimeMs now) {
  auto ip = wire::parse_ipv4(data + wire::kEthHeaderLen, len - wire::kEthHeaderLen);
  if (ip.error != wire::Ipv4Error::kOk || ip.hdr.dst != s_.local_ip) {
    ++stats_.bad_frames;
    return;
  }
  const uint8_t* msg = data + wire::kEthHeaderLen + ip.hdr.ihl_bytes;
  auto un = wire::parse_icmp_unreachable(msg, ip.hdr.total_len - ip.hdr.ihl_bytes);
  const wire::IcmpUnreachable& u = un.u;
  // A VXLAN datagram of ours too big for a router on the underlay: every tenant connection through
  // that VTEP takes the smaller inner MTU.
  if (un.error == wire::IcmpError::kOk && u.code == wire::kIcmpFragNeeded &&
      u.quoted_ip.proto == wire::kIpProtoUdp && u.quoted_ip.src == s_.local_ip &&
      wire::quoted_dst_port(u) == wire::kVxlanPort) {
    tunnel_path_mtu(u.quoted_ip.dst, std::max<uint32_t>(u.next_hop_mtu, kMinPathMtu), now);
    return;
  }
  // Else only about a TCP segment this host sent from its own address, outside any tunnel.
  if (un.error != wire::IcmpError::kOk || u.quoted_ip.proto != wire::kIpProtoTcp ||
      u.quoted_ip.src != s_.local_ip || u.code >= kUnreachableErrno.size()) {
    ++stats_.icmp_ignored;
    return;
  }
  FourTuple t{u.quoted_ip.src, u.quoted_ip.dst, wire::quoted_src_port(u), wire::quoted_dst_port(u), 0};
  uint32_t seq = wire::quoted_tcp_seq(u);
  if (auto it = by_tuple_.find(t); it != by_tuple_.end()) {
    icmp_for_conn(it->second, conns_[it->second], u, seq, now);
  } else if (auto ho = half_open_.find(t); ho != half_open_.end() && seq == ho->second.iss) {
    // SYN-RECEIVED: like Linux, only "network/host unreachable" ends the half-open connection
    // (the peer's SYN came from there; anything else may be transient or forged).
    if (u.code == wire::kIcmpNetUnreachable || u.code == wire::kIcmpHostUnreachable) {
      ++stats_.icmp_errors;
      --listeners_.at(ho->second.listener).half_open;
      half_open_.erase(ho);
    } else {
      ++stats_.icmp_ignored;
    }
  } else {
    ++stats_.icmp_ignored;
  }
}

void ControlPlane::icmp_for_conn(uint32_t flow, Conn& c, const wire::IcmpUnreachable& u, uint32_t seq,
                                 TimeMs now) {
  // RFC 5927 4.1: the quoted sequence number must be one we sent and is not acknowledged yet, or
  // anyone who guesses the 4-tuple could reset or slow the connection.
  bool in_window;
  if (c.state == ConnState::kSynSent) {
    in_window = seq == c.iss;
  } else if (c.installed) {
    const abi::FlowEntry& e = *ctrl_.flow(flow);
    in_window = seq_between(seq, load_relaxed(e.snd_una), load_relaxed(e.snd_nxt));
  } else {
    in_window = false;  // on its way out: nothing left to act on
  }
  if (!in_window) {
    ++stats_.icmp_ignored;
    return;
  }
  ++stats_.icmp_errors;
  if (u.code == wire::kIcmpFragNeeded) {
    uint32_t mtu = std::max<uint32_t>(u.next_hop_mtu, kMinPathMtu);
    path_mtus_.lower(c.tuple.remote_ip, mtu, now);  // for the next connections to this peer too
    lower_path_mtu(flow, c, mtu);
    return;
  }
  int error = kUnreachableErrno[u.code];
  if (c.state == ConnState::kSynSent) {  // RFC 1122 4.2.3.9 lets a connect fail at once; Linux does
    spdlog::debug("flow {}: connect {}: ICMP unreachable code {}", flow, tuple_str(c.tuple), u.code);
    connect_failed(flow, error);
    return;
  }
  // Synchronized: a soft error (RFC 1122 4.2.3.9). The connection keeps trying; if it then times
  // out, the app hears this error instead of ETIMEDOUT, as from Linux.
  c.soft_error = error;
}

void ControlPlane::tunnel_path_mtu(uint32_t vtep, uint32_t mtu, TimeMs now) {
  // Like Linux's per-destination path MTU for a tunnel's remote: the quote holds the outer UDP
  // header, which no one connection owns, so no sequence number can be checked (RFC 5927 4.1);
  // the floor of kMinPathMtu bounds what a forged message can do.
  uint32_t inner_mtu = mtu - uint32_t(wire::kVxlanOverhead);
  bool any = false;
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state == ConnState::kFree || c.path.vni == 0 || c.path.vtep != vtep) continue;
    lower_path_mtu(flow, c, inner_mtu);
    any = true;
  }
  if (any) {
    path_mtus_.lower(vtep, mtu, now);  // connections opened later through this VTEP start below it
    ++stats_.icmp_errors;
  } else {
    ++stats_.icmp_ignored;
  }
}

uint16_t ControlPlane::cached_path_mss(const FourTuple& t, const PeerPath& path, TimeMs now) const {
  bool tunnel = t.vni != 0;
  uint32_t dest = tunnel ? path.vtep : t.remote_ip;
  if (dest == s_.local_ip) return 0;  // on this host: no path to learn
  std::optional<uint32_t> mtu = path_mtus_.mtu(dest, now);
  if (!mtu) return 0;
  return uint16_t(*mtu - (tunnel ? uint32_t(wire::kVxlanOverhead) : 0) - kIpTcpHeaders);
}

void ControlPlane::lower_path_mtu(uint32_t flow, Conn& c, uint32_t mtu) {
  uint32_t mss = mtu - kIpTcpHeaders;
  uint32_t now_mss = c.path_mss ? c.path_mss : (c.installed ? c.mss : UINT16_MAX);
  if (mss >= now_mss) return;  // it only ever goes down (RFC 1191 6.3 raises it by probing: not done)
  c.path_mss = uint16_t(mss);
  ++stats_.path_mtu_reductions;
  spdlog::debug("flow {}: {} path MTU {}, segments of at most {} bytes", flow, tuple_str(c.tuple), mtu, mss);
  if (!c.installed) return;  // SYN-SENT: kInstall carries it
  store_relaxed(ctrl_.flow(flow)->path_mss, uint16_t(mss));
  abi::FpCommand cmd{};
  cmd.kind = uint16_t(abi::FpCommandKind::kPathMtu);
  cmd.ctx = c.ctx;
  cmd.flow = flow;
  out_.command(cmd);
}

}  // namespace virtuoso::slowpath

// Same-host circuits: when both ends of a connection are installed here, bytes go from one app's
// tx ring straight into the other's rx ring (one copy, any size), and both ends' sequence state
// moves as if the segments had been sent and acknowledged at once. Everything that is not data
// (FIN, RST, keepalives, probes) still travels as frames delivered inside the daemon, and finds
// both ends' sequence numbers consistent, so the TCP state machines never know the difference.
// Plain flows to the host's own address, and tenants' flows whose VTEP is this host (two apps of
// one tenant, or of two tenants policy lets talk: the slow path installed both ends).
#include <algorithm>
#include <cerrno>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

namespace {

// Nothing of this end in flight, nothing held out of order, no FIN either way yet.
bool quiet(const abi::FlowEntry& e, const FlowPriv& p) {
  return e.snd_una == e.snd_nxt && e.snd_una == p.snd_max && p.ooo.empty() && !p.peer_fin_pending &&
         !p.in_recovery && (e.fp_flags & (abi::kFlowFinSent | abi::kFlowPeerFin)) == 0;
}

// Whether the other end of the flow lives on this host, and the key it is installed under there.
bool same_host(const abi::FlowEntry& e, uint32_t local_ip, FlowKey& peer_key) {
  if (e.vni == 0 ? e.remote_ip != local_ip : e.vtep_ip != local_ip) return false;
  peer_key = {e.vni == 0 ? 0 : e.peer_vni, e.remote_ip, e.local_ip, e.remote_port, e.local_port};
  return true;
}

}  // namespace

// Joins `id` with the flow of the other end if that is installed here too and neither has bytes
// on the way as frames (those would arrive after the circuit moved later bytes). Called at every
// install (the second end's install joins them) and, for a same-host flow left on frames, again
// whenever an ACK leaves it with nothing in flight (circuit_retry).
bool Datapath::circuit_join(uint32_t id, bool at_install) {
  abi::FlowEntry& a = *ctrl_.flow(id);
  // A tenant's addresses are its virtual network's: the peer is looked up in the peer's network
  // (peer_vni), and must name this one back, or a stranger's connection could be joined.
  FlowKey key;
  if (!same_host(a, cfg_.local_ip, key)) return false;
  uint32_t peer = table_.find(key);
  if (peer == FlowTable::kNone || peer == id) return false;
  abi::FlowEntry& b = *ctrl_.flow(peer);
  if (a.vni != 0 && (b.vtep_ip != cfg_.local_ip || b.peer_vni != a.vni)) return false;
  FlowPriv& pa = priv_[id];
  FlowPriv& pb = priv_[peer];
  if (pb.circuit != kNoCircuit || !slot_of(a) || !slot_of(b)) return false;
  if (!quiet(a, pa) || !quiet(b, pb) || a.snd_nxt != b.rcv_nxt || b.snd_nxt != a.rcv_nxt) {
    if (at_install) ++stats_->circuits_refused;
    return false;  // frames on the way: they go first, the next quiet moment joins them
  }
  pa.circuit = peer;
  pb.circuit = id;
  ++stats_->circuits;
  queue_tx(id);  // either end may have written before the join
  queue_tx(peer);
  return true;
}

// A same-host flow on frames whose ACK just left nothing in flight: try again, once per such ACK.
void Datapath::circuit_retry(uint32_t id) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowKey key;
  if (priv_[id].circuit != kNoCircuit || !same_host(e, cfg_.local_ip, key)) return;
  if (circuit_join(id, false)) ++stats_->circuits_late;
}

// The connection ends (removed or failed): the other end carries on alone, on frames.
void Datapath::circuit_leave(uint32_t id) {
  FlowPriv& p = priv_[id];
  if (p.circuit == kNoCircuit) return;
  priv_[p.circuit].circuit = kNoCircuit;
  p.circuit = kNoCircuit;
}

// Moves up to `unsent` bytes from flow `id`'s tx ring into its circuit peer's rx ring, as many as
// that ring has room for. Returns the bytes moved; the rest waits for the peer's app to read
// (its kRxConsumed queues this flow again).
uint32_t Datapath::circuit_output(uint32_t id, uint32_t unsent) {
  abi::FlowEntry& a = *ctrl_.flow(id);
  FlowPriv& pa = priv_[id];
  uint32_t peer = pa.circuit;
  abi::FlowEntry& b = *ctrl_.flow(peer);
  abi::FlowSlot* as = slot_of(a);
  abi::FlowSlot* bs = slot_of(b);
  Context* actx = context_of(a);
  Context* bctx = context_of(b);
  if (!as || !bs || !actx || !bctx) return 0;
  uint32_t rx_size = bctx->view.layout.rx_size;
  uint32_t used = bs->rx_head - shm::load_acquire(bs->rx_tail);
  if (used > rx_size) {
    fail_flow(peer, EIO);  // that app corrupted its consumer position
    return 0;
  }
  uint32_t n = std::min(unsent, rx_size - used);
  a.snd_wnd = rx_size - used - n;  // what a frame from the peer would say now
  if (n == 0) return 0;
  const abi::AppLayout& al = actx->view.layout;
  shm::ring_to_ring(bctx->view.rx_buf(b.slot), rx_size, bs->rx_head, actx->view.tx_buf(a.slot),
                    al.tx_size, as->tx_tail, n);
  // The receiving end: as an in-order segment of n bytes.
  shm::store_release(bs->rx_head, bs->rx_head + n);
  b.rcv_nxt += n;
  ++b.segs_in;  // the peer spoke: keepalive's idle clock starts again
  priv_[peer].last_ack_sent = b.rcv_nxt;
  note_app_event(peer, abi::AppEventKind::kRxData);
  // The sending end: as if sent and acknowledged at once.
  bool tell_app = free_tx(id, n);
  a.snd_una += n;
  a.snd_nxt = a.snd_una;
  pa.snd_max = a.snd_una;
  a.acked_bytes += n;
  ++a.segs_out;
  if (tell_app) note_app_event(id, abi::AppEventKind::kTxSpace);
  stats_->circuit_bytes += n;
  tenant_stats(id).circuit_bytes += n;
  return n;
}

}  // namespace virtuoso::fastpath

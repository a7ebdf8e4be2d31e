// TCP receive for installed flows: acknowledgements, window updates, in-order payload and FIN.
#include <algorithm>
#include <cerrno>

#include "datapath.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::fastpath {

using wire::seq_ge;
using wire::seq_gt;
using wire::seq_le;
using wire::seq_lt;

void Datapath::tcp_input(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  ++e.segs_in;
  if (!(f.tcp.flags & wire::kTcpAck)) {
    ++stats_->drop_bad_tcp;  // RFC 9293 3.10.7.4: in synchronized states a segment without ACK is dropped
    return;
  }
  tcp_process_ack(id, f);
  if (priv_[id].active) tcp_place_payload(id, f);
}

void Datapath::tcp_process_ack(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  FlowPriv& p = priv_[id];
  uint32_t ack = f.tcp.ack;
  if (seq_gt(ack, p.snd_max)) {
    queue_ack(id);  // acknowledges something never sent: answer with an ACK, ignore it (3.10.7.4)
    return;
  }
  uint32_t new_wnd = uint32_t(f.tcp.window) << e.snd_wscale;
  if (seq_gt(ack, e.snd_una)) {
    uint32_t acked = ack - e.snd_una;
    bool fin_acked = p.fin_seq_valid && ack == p.fin_seq + 1 && !(e.fp_flags & abi::kFlowFinAcked);
    uint32_t data_acked = acked - (fin_acked ? 1 : 0);
    if (abi::FlowSlot* s = slot_of(e); s && data_acked)
      shm::store_release(s->tx_tail, s->tx_tail + data_acked);
    e.snd_una = ack;
    if (seq_lt(e.snd_nxt, ack)) e.snd_nxt = ack;  // after a go-back-N the peer had more than we thought
    e.acked_bytes += data_acked;
    e.dupacks = 0;
    e.snd_wnd = new_wnd;
    if (data_acked) note_app_event(id, abi::AppEventKind::kTxSpace);
    if (fin_acked) {
      e.fp_flags |= abi::kFlowFinAcked | abi::kFlowFinSent;
      emit_sp_event(abi::FpEventKind::kFinAcked, e.ctx, id, 0);
    }
    queue_tx(id);
    return;
  }
  if (ack != e.snd_una) return;  // an old ACK: nothing to learn from it
  bool window_opened = new_wnd > e.snd_wnd;
  bool is_dup = f.payload_len == 0 && !(f.tcp.flags & wire::kTcpFin) && e.snd_nxt != e.snd_una &&
                new_wnd == e.snd_wnd;
  e.snd_wnd = new_wnd;
  if (window_opened) queue_tx(id);
  if (is_dup && ++e.dupacks == 3) {
    // Fast retransmit (RFC 5681 3.2) of the first unacknowledged segment.
    uint32_t len = std::min<uint32_t>(data_in_flight(e), e.mss);
    if (len) send_segment(id, e.snd_una, len, wire::kTcpAck);
    ++e.retransmits;
  }
}

void Datapath::tcp_place_payload(uint32_t id, const wire::TcpFrame& f) {
  abi::FlowEntry& e = *ctrl_.flow(id);
  bool fin = f.tcp.flags & wire::kTcpFin;
  uint32_t len = uint32_t(f.payload_len);
  if (len == 0 && !fin) return;  // a pure ACK
  if (e.fp_flags & abi::kFlowPeerFin) {
    queue_ack(id);  // the stream has ended: this is a retransmission
    return;
  }
  const uint8_t* data = f.payload;
  uint32_t seq = f.tcp.seq;
  if (seq_lt(seq, e.rcv_nxt)) {
    uint32_t skip = e.rcv_nxt - seq;
    if (skip > len) {
      queue_ack(id);  // entirely old: the peer missed our ACK
      return;
    }
    data += skip;
    len -= skip;
    seq = e.rcv_nxt;
  }
  if (seq != e.rcv_nxt) {
    ++stats_->drop_rx_window;  // out of order: not kept yet; the duplicate ACK asks for the gap
    queue_ack(id);
    return;
  }
  abi::FlowSlot* s = slot_of(e);
  Context* ctx = context_of(e);
  if (!s || !ctx) return;
  uint32_t rx_size = ctx->view.layout.rx_size;
  uint32_t head = s->rx_head;
  uint32_t used = head - shm::load_acquire(s->rx_tail);
  if (used > rx_size) {
    fail_flow(id, EIO);  // the app corrupted its consumer position
    return;
  }
  uint32_t n = std::min(len, rx_size - used);
  if (n) {
    shm::ring_write(ctx->view.rx_buf(e.slot), rx_size, head, data, n);
    shm::store_release(s->rx_head, head + n);
    e.rcv_nxt += n;
    note_app_event(id, abi::AppEventKind::kRxData);
  }
  if (n < len) {
    ++stats_->drop_rx_window;  // beyond our window: the peer sends it again
  } else if (fin) {
    e.rcv_nxt += 1;
    e.fp_flags |= abi::kFlowPeerFin;
    shm::store_release(s->rx_fin, 1u);
    note_app_event(id, abi::AppEventKind::kPeerFin);
    emit_sp_event(abi::FpEventKind::kPeerFin, e.ctx, id, 0);
  }
  queue_ack(id);
}

}  // namespace virtuoso::fastpath

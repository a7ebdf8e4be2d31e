// Control plane: TIME_WAIT records, kept by the slow path after the flow left the fast path.
//
// A connection that reaches TIME_WAIT is finished for the app: holding its slot and its fast-path
// entry for 2MSL would cap a connect-per-request client at n_slots / time_wait_ms connections per
// second. So the flow is removed at once and only this record stays: it keeps the 4-tuple (and its
// local port) from being reused, and answers the peer's segments, which the fast path now punts.
#include <spdlog/spdlog.h>

#include "control_plane.hpp"
#include "log_format.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::slowpath {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpRst;
using wire::kTcpSyn;

namespace {
// Records beyond this many per flow entry are not kept (like Linux's tcp_max_tw_buckets): the
// connection then closes without TIME_WAIT. A record is small; the bound only stops a flood.
constexpr size_t kTimeWaitPerFlow = 4;
}  // namespace

void ControlPlane::add_time_wait(const FourTuple& t, const TimeWait& tw) {
  if (s_.time_wait_ms == 0) return;
  if (time_wait_.size() >= size_t{s_.max_flows} * kTimeWaitPerFlow) {
    ++stats_.time_wait_overflow;
    spdlog::debug("{}: TIME_WAIT table full, closed without TIME_WAIT", tuple_str(t));
    return;
  }
  auto [it, fresh] = time_wait_.insert_or_assign(t, tw);
  if (fresh) ports_of(t.vni).add_connection(t.local_port);
  it->second.serial = next_time_wait_serial_++;
  time_wait_timers_.push(TimeWaitTimer{tw.deadline, it->second.serial, t});
}

void ControlPlane::drop_time_wait(const FourTuple& t) {
  if (time_wait_.erase(t)) ports_of(t.vni).remove_connection(t.local_port);
}

// RFC 9293 3.10.7.4 for TIME-WAIT (the peer's FIN and ours are both acknowledged).
// Returns false when the segment should be handled as if no connection existed (a new SYN).
bool ControlPlane::on_time_wait_segment(const FourTuple& t, TimeWait& tw, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  uint8_t flags = f.tcp.flags;
  if (flags & kTcpRst) {
    // RFC 5961 3.2, as for installed flows: only a reset exactly at rcv_nxt ends the record.
    switch (check_rst(f.tcp.seq, tw.rcv_nxt, s_.app_layout.rx_size, now)) {
      case RstVerdict::kAccept:
        spdlog::debug("{}: reset in TIME-WAIT", tuple_str(t));
        drop_time_wait(t);
        break;
      case RstVerdict::kChallenge: send_time_wait_ack(t, tw); break;
      case RstVerdict::kIgnore: break;
    }
    return true;
  }
  if (flags & kTcpSyn) {
    // RFC 1122 4.2.2.13: a new SYN above everything of the old connection may reopen it (no
    // old duplicate can be confused with the new data). Not while the old entry is still being
    // handed back: the peer's SYN retransmission comes after that.
    bool fresh = !(flags & kTcpAck) && wire::seq_gt(f.tcp.seq, tw.rcv_nxt) && !by_tuple_.count(t);
    if (fresh) {
      ++stats_.time_wait_reopened;
      drop_time_wait(t);
      return false;
    }
    if (challenge_ack_allowed(now)) send_time_wait_ack(t, tw);  // RFC 5961 4.2
    return true;
  }
  if (flags & kTcpFin) {
    // The peer did not get the ACK of its FIN: ACK again and restart the 2MSL wait.
    tw.deadline = now + s_.time_wait_ms;
    send_time_wait_ack(t, tw);
    return true;
  }
  if (f.payload_len > 0 || f.tcp.seq != tw.rcv_nxt) {
    send_time_wait_ack(t, tw);  // unacceptable or impossible text: ACK, drop
    return true;
  }
  ++stats_.segments_dropped;  // a bare ACK: nothing to answer
  return true;
}

void ControlPlane::send_time_wait_ack(const FourTuple& t, const TimeWait& tw) {
  ++stats_.time_wait_acks;
  SegmentSpec s{t, tw.path, tw.snd_nxt, tw.rcv_nxt, kTcpAck, tw.window, {}};
  add_timestamps(s, tw.tcp_opts, tw.ts_offset);
  send_segment(s);
}

// Timers pop in deadline order; a record whose deadline moved (FIN restart) gets a new timer,
// and timers of records already gone, or replaced, are skipped by their serial.
void ControlPlane::tick_time_wait(TimeMs now) {
  while (!time_wait_timers_.empty() && time_wait_timers_.top().deadline <= now) {
    TimeWaitTimer tm = time_wait_timers_.top();
    time_wait_timers_.pop();
    auto it = time_wait_.find(tm.tuple);
    if (it == time_wait_.end() || it->second.serial != tm.serial) continue;
    if (it->second.deadline > now) {
      time_wait_timers_.push(TimeWaitTimer{it->second.deadline, tm.serial, tm.tuple});
      continue;
    }
    ++stats_.time_wait_expired;
    drop_time_wait(tm.tuple);
  }
}

}  // namespace virtuoso::slowpath

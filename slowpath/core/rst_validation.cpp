// Control plane: RST and SYN punted for a synchronized connection (RFC 5961 3 and 4), and the
// stack-wide budget of challenge ACKs (RFC 5961 10).
//
// The fast path punts every RST and SYN of an installed flow. A blind attacker who guesses the
// 4-tuple can hit the window, but rarely rcv_nxt exactly: only that resets the connection; the
// rest of the window earns a challenge ACK, to which a genuine peer answers with an exact RST.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/wire/seq.hpp"

namespace virtuoso::slowpath {

using shm::load_relaxed;
using wire::kTcpRst;
using wire::kTcpSyn;

namespace {
constexpr TimeMs kChallengeBudgetMs = 1000;  // challenge_ack_limit counts per this period
}  // namespace

bool ControlPlane::on_synchronized_ctl(uint32_t flow, Conn& c, const Segment& seg, TimeMs now) {
  const wire::TcpFrame& f = seg.f;
  if (f.tcp.flags & kTcpRst) {
    switch (check_rst(f.tcp.seq, load_relaxed(ctrl_.flow(flow)->rcv_nxt), s_.app_layout.rx_size, now)) {
      case RstVerdict::kAccept:
        spdlog::debug("flow {}: reset by the peer in {}", flow, to_string(c.state));
        // As Linux's tcp_reset: after the peer's FIN a reset breaks only our sending side (EPIPE).
        fail_flow(flow, c, c.state == ConnState::kCloseWait ? EPIPE : ECONNRESET, false);
        break;
      case RstVerdict::kChallenge: send_ack(flow, c); break;
      case RstVerdict::kIgnore: break;
    }
    return true;
  }
  if (f.tcp.flags & kTcpSyn) {
    // RFC 5961 4.2: whatever its sequence number, a SYN on a synchronized connection gets a
    // challenge ACK and changes nothing. A SYN-ACK again (our ACK was lost) is answered alike.
    if (challenge_ack_allowed(now)) send_ack(flow, c);
    return true;
  }
  return false;
}

ControlPlane::RstVerdict ControlPlane::check_rst(uint32_t seq, uint32_t rcv_nxt, uint32_t wnd, TimeMs now) {
  if (seq == rcv_nxt) {
    ++stats_.rsts_received;
    return RstVerdict::kAccept;
  }
  if (wire::seq_in(seq, rcv_nxt, rcv_nxt + wnd))
    return challenge_ack_allowed(now) ? RstVerdict::kChallenge : RstVerdict::kIgnore;
  ++stats_.rsts_ignored;  // outside the window: dropped silently
  return RstVerdict::kIgnore;
}

// A budget per second for the whole stack, as Linux's tcp_challenge_ack_limit: a flood of
// forged segments cannot make the stack a traffic amplifier. Counted either way. The budget is
// drawn anew each second between half and one and a half times the limit (as Linux does since
// CVE-2016-5696): with a fixed one, an off-path attacker could count our challenge ACKs against
// the limit and learn whether a guessed connection exists.
bool ControlPlane::challenge_ack_allowed(TimeMs now) {
  if (now - challenge_second_ >= kChallengeBudgetMs || challenge_budget_ == 0) {
    challenge_second_ = now;
    challenge_sent_ = 0;
    uint32_t limit = s_.challenge_ack_limit;
    challenge_budget_ = std::max<uint32_t>(limit / 2, 1) + hash_.draw(now) % limit;
  }
  if (challenge_sent_ >= challenge_budget_) {
    ++stats_.challenge_acks_limited;
    return false;
  }
  ++challenge_sent_;
  ++stats_.challenge_acks;
  return true;
}

}  // namespace virtuoso::slowpath

// DCTCP congestion window arithmetic (RFC 8257), driven per slow-path tick like RenoWindow: the
// fast path counts, per flow, the bytes acknowledged, those acknowledged by ACKs that carried ECE,
// the round trips completed and how many of them saw ECE; each tick turns that into alpha and the
// window the fast path enforces.
//
// alpha estimates the fraction of bytes the network marked. It moves once per round trip by g
// towards that round's fraction F (RFC 8257 3.3); a tick spanning n rounds makes n updates with the
// tick's own F (the rounds' average, which is what the counters can tell). Each round that saw ECE
// cuts the window once, to cwnd (1 - alpha / 2). Growth is Reno's (slow start, then a segment per
// window), and a loss halves the window as Reno does (3.5).
//
// The echo DCTCP needs comes from a peer that runs it too (the fast path echoes so for a DCTCP
// flow); a classic RFC 3168 receiver echoes ECE from a mark until our CWR, a round trip of marked
// bytes per mark, so alpha overestimates and the cuts come near halving: still bounded queues.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "reno_window.hpp"

namespace virtuoso::slowpath {

class DctcpWindow {
 public:
  static constexpr double kG = 1.0 / 16;  // RFC 8257 4.2: the estimation gain
  static constexpr double kInitialAlpha = 1.0;  // RFC 8257 3.3: start cautious, as Linux does

  DctcpWindow() : DctcpWindow(1460) {}
  explicit DctcpWindow(uint32_t mss) : reno_(mss) {}

  uint32_t cwnd() const { return reno_.cwnd(); }
  uint32_t ssthresh() const { return reno_.ssthresh(); }
  bool in_slow_start() const { return reno_.in_slow_start(); }
  double alpha() const { return alpha_; }

  // One tick: `acked` bytes acknowledged, `ece_bytes` of them by ACKs with ECE; `rounds` round
  // trips completed, `ece_rounds` of them with ECE; `losses` loss events (at most one per round
  // trip, as the caller counts them); `flight` bytes in flight now; `grow`: the window limited
  // what was sent, so it may grow. The cuts are spread between equal parts of the acknowledged
  // bytes, as RenoWindow::on_tick spreads its losses.
  void on_tick(uint64_t acked, uint64_t ece_bytes, uint32_t rounds, uint32_t ece_rounds, uint32_t losses,
               uint32_t flight, bool grow = true) {
    if (rounds > 0 && acked > 0) {
      double f = std::min(1.0, double(ece_bytes) / double(acked));
      double keep = std::pow(1 - kG, double(rounds));
      alpha_ = keep * alpha_ + (1 - keep) * f;
    }
    uint64_t cuts = uint64_t(ece_rounds) + losses;
    if (!grow) acked = 0;
    uint64_t part = acked / (cuts + 1);
    for (uint64_t i = 0; i < cuts; ++i) {
      reno_.on_acked(part);
      if (i < losses) {
        reno_.on_loss(i == 0 ? flight : reno_.cwnd());
      } else {
        reno_.reduce(uint32_t(double(reno_.cwnd()) * (1 - alpha_ / 2)));
      }
    }
    reno_.on_acked(acked - part * cuts);
  }

  void on_timeout(uint32_t flight) { reno_.on_timeout(flight); }
  void undo() { reno_.undo(); }  // a needless loss cut (ECE's are never undone)

 private:
  RenoWindow reno_;
  double alpha_ = kInitialAlpha;
};

}  // namespace virtuoso::slowpath

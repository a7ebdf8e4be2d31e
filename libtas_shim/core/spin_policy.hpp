// Whether a blocking call re-checks (spins) before it sleeps: only while the recent waits of the
// calling thread ended within the re-check window, so a thread whose answers come quickly (both
// ends on the stack) skips the sleep and the wake-up, and one whose answers come late (a peer
// sharing its core) does not keep the core from that peer.
#pragma once
#include <cstdint>

namespace virtuoso::shim {

class SpinPolicy {
 public:
  // True while spinning has paid off often enough on this thread (it does at first).
  static bool worth_it() { return score() >= kSpinAt; }
  // A wait of this thread ended with its condition met after `waited_ns`; `window_ns` is how long
  // a re-check lasts. Two thirds of waits within the window keep the thread spinning.
  static void waited(uint64_t waited_ns, uint64_t window_ns) {
    int& s = score();
    s = waited_ns <= window_ns ? (s < kMax ? s + 1 : s) : (s > 1 ? s - 2 : 0);
  }

 private:
  static constexpr int kMax = 16;
  static constexpr int kSpinAt = 4;
  static int& score() {
    thread_local int s = 8;
    return s;
  }
};

}  // namespace virtuoso::shim

// How often virtuosod restarts its children after one died: at most `max` restarts within any
// `window`, so a process that dies at once every time ends the daemon instead of looping.
#pragma once
#include <chrono>
#include <deque>

namespace virtuoso::tools {

class RestartBudget {
 public:
  using Clock = std::chrono::steady_clock;
  RestartBudget(unsigned max, Clock::duration window) : max_(max), window_(window) {}

  // Whether a restart at `now` is allowed; if so it is counted.
  bool allow(Clock::time_point now) {
    while (!recent_.empty() && now - recent_.front() >= window_) recent_.pop_front();
    if (recent_.size() >= max_) return false;
    recent_.push_back(now);
    return true;
  }
  unsigned max() const { return max_; }

 private:
  unsigned max_;
  Clock::duration window_;
  std::deque<Clock::time_point> recent_;
};

}  // namespace virtuoso::tools

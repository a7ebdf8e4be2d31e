// virtuosod's event loop: forwards the children's output, notices readiness, exits and signals.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace virtuoso::tools {

class Supervisor {
 public:
  using Clock = std::chrono::steady_clock;

  // Blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD and receives them through a signalfd, so that no handler
  // runs at an arbitrary point and none is lost between checks. Throws std::runtime_error.
  Supervisor();
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Children are watched from start() on; they must outlive the supervisor's use of them.
  void watch(ChildProcess& child) { children_.push_back(&child); }

  enum class StartResult { kReady, kFailed, kTimedOut, kStopRequested };
  // Waits for `child`'s ready line; fails when any watched child exits or its ready pipe closes.
  StartResult wait_ready(ChildProcess& child, std::chrono::milliseconds timeout);

  // Until a stop signal (returns nullptr) or a watched child exits (returns it); runs `on_reload`
  // for each SIGHUP meanwhile (several arriving together count as one).
  ChildProcess* run_until_stop_or_exit(const std::function<void()>& on_reload = nullptr);

  // SIGTERM, up to `grace` for it to exit, then SIGKILL; forwards its output meanwhile.
  void stop(ChildProcess& child, std::chrono::milliseconds grace);

  // After a child failed: its last words may still be in the pipe. Waits briefly for its exit
  // and for EOF on its output so that last_output_line() is complete.
  void collect_last_words(ChildProcess& child, std::chrono::milliseconds limit);

  // A watched child that has exited, if any.
  ChildProcess* first_exited() const;

  bool stop_requested() const { return stop_requested_; }
  int stop_signal() const { return stop_signal_; }

 private:
  // One poll round over the signalfd and every child's pipes, up to `until`.
  void poll_once(Clock::time_point until);
  void handle_signals();

  int signal_fd_ = -1;
  bool stop_requested_ = false;
  bool reload_requested_ = false;
  int stop_signal_ = 0;
  std::vector<ChildProcess*> children_;
};

}  // namespace virtuoso::tools

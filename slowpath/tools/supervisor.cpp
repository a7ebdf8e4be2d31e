// signalfd + poll loop over the children's output and ready pipes.
#include "supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace virtuoso::tools {

Supervisor::Supervisor() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error(fmt::format("cannot block signals: {}", std::strerror(errno)));
  }
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    throw std::runtime_error(fmt::format("cannot create a signalfd: {}", std::strerror(errno)));
  }
}

Supervisor::~Supervisor() {
  if (signal_fd_ >= 0) close(signal_fd_);
}

void Supervisor::handle_signals() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) {
      if (!stop_requested_) spdlog::info("received {}: stopping", strsignal(static_cast<int>(info.ssi_signo)));
      stop_requested_ = true;
      stop_signal_ = static_cast<int>(info.ssi_signo);
    } else if (info.ssi_signo == SIGHUP) {
      reload_requested_ = true;
    }
  }
  // SIGCHLD coalesces: check every child rather than trusting ssi_pid.
  for (auto* c : children_) c->reap();
}

void Supervisor::poll_once(Clock::time_point until) {
  std::vector<pollfd> fds;
  std::vector<std::pair<ChildProcess*, bool>> owners;  // (child, is_ready_pipe)
  fds.push_back({signal_fd_, POLLIN, 0});
  owners.emplace_back(nullptr, false);
  for (auto* c : children_) {
    if (c->output_fd() >= 0) {
      fds.push_back({c->output_fd(), POLLIN, 0});
      owners.emplace_back(c, false);
    }
    if (c->ready_fd() >= 0) {
      fds.push_back({c->ready_fd(), POLLIN, 0});
      owners.emplace_back(c, true);
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  int timeout = static_cast<int>(std::max<decltype(left)>(0, std::min<decltype(left)>(left, 1000)));
  int n = poll(fds.data(), fds.size(), timeout);
  if (n < 0 && errno != EINTR) {
    throw std::runtime_error(fmt::format("poll failed: {}", std::strerror(errno)));
  }
  for (size_t i = 1; n > 0 && i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    auto [child, is_ready] = owners[i];
    if (is_ready) {
      child->pump_ready();
    } else {
      child->pump_output();
    }
  }
  // Signals last, so that output written just before an exit is forwarded first.
  handle_signals();
}

ChildProcess* Supervisor::first_exited() const {
  for (auto* c : children_) {
    if (c->exited()) return c;
  }
  return nullptr;
}

Supervisor::StartResult Supervisor::wait_ready(ChildProcess& child, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (child.ready()) return StartResult::kReady;
    if (first_exited() != nullptr || child.ready_closed()) return StartResult::kFailed;
    if (stop_requested_) return StartResult::kStopRequested;
    if (Clock::now() >= deadline) return StartResult::kTimedOut;
    poll_once(deadline);
  }
}

ChildProcess* Supervisor::run_until_stop_or_exit(const std::function<void()>& on_reload) {
  for (;;) {
    if (auto* c = first_exited()) return c;
    if (stop_requested_) return nullptr;
    if (reload_requested_) {
      reload_requested_ = false;  // a SIGHUP during the reload asks for another one
      if (on_reload) on_reload();
      continue;
    }
    poll_once(Clock::now() + std::chrono::seconds(60));
  }
}

void Supervisor::stop(ChildProcess& child, std::chrono::milliseconds grace) {
  if (child.pid() <= 0 || child.exited()) return;
  spdlog::info("stopping {} (pid {}): SIGTERM", child.name(), child.pid());
  child.send_signal(SIGTERM);
  auto deadline = Clock::now() + grace;
  while (!child.exited() && Clock::now() < deadline) poll_once(deadline);
  if (!child.exited()) {
    spdlog::warn("{} did not exit within {} ms: SIGKILL", child.name(), grace.count());
    child.send_signal(SIGKILL);
    while (!child.exited()) poll_once(Clock::now() + std::chrono::seconds(1));
  }
  spdlog::info("{} {}", child.name(), child.describe_exit());
}

void Supervisor::collect_last_words(ChildProcess& child, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while ((!child.exited() || child.output_fd() >= 0) && Clock::now() < deadline) poll_once(deadline);
}

}  // namespace virtuoso::tools

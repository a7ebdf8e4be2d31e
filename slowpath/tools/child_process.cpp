// Fork/exec of a supervised child with a ready pipe and forwarded output.
#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace virtuoso::tools {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

void make_pipe(int fds[2], const char* what) {
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(fmt::format("cannot create the {} pipe: {}", what, std::strerror(errno)));
  }
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(pid_t parent, int output_w, int ready_w, const char* path,
                             char* const argv[], const char* exec_error) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  dup2(output_w, STDOUT_FILENO);
  dup2(output_w, STDERR_FILENO);
  if (ready_w == kChildReadyFd) {
    fcntl(ready_w, F_SETFD, 0);
  } else {
    dup2(ready_w, kChildReadyFd);  // the duplicate does not inherit FD_CLOEXEC
  }
  execv(path, argv);
  [[maybe_unused]] ssize_t r = write(STDERR_FILENO, exec_error, std::strlen(exec_error));
  _exit(127);
}

}  // namespace

ChildProcess::~ChildProcess() {
  close_fd(output_fd_);
  close_fd(ready_fd_);
}

void ChildProcess::forget() {
  close_fd(output_fd_);
  close_fd(ready_fd_);
  pid_ = -1;
  exited_ = false;
  wait_status_ = 0;
  ready_ = false;
  ready_closed_ = false;
  partial_line_.clear();
  last_line_.clear();
}

void ChildProcess::start(const std::string& path, const std::vector<std::string>& args) {
  forget();  // a restart: what the last process left (it has exited and been reaped)
  int output[2];
  int ready[2];
  make_pipe(output, "output");
  try {
    make_pipe(ready, "ready");
  } catch (...) {
    close(output[0]);
    close(output[1]);
    throw;
  }
  // Everything the child needs is prepared before fork: it may only call async-signal-safe code.
  std::vector<std::string> owned;
  owned.push_back(path);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string exec_error = fmt::format("cannot execute {}\n", path);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) exec_child(parent, output[1], ready[1], path.c_str(), argv.data(), exec_error.c_str());
  int fork_errno = errno;
  close(output[1]);
  close(ready[1]);
  if (pid < 0) {
    close(output[0]);
    close(ready[0]);
    throw std::runtime_error(fmt::format("cannot fork: {}", std::strerror(fork_errno)));
  }
  pid_ = pid;
  output_fd_ = output[0];
  ready_fd_ = ready[0];
  fcntl(output_fd_, F_SETFL, O_NONBLOCK);
  fcntl(ready_fd_, F_SETFL, O_NONBLOCK);
}

void ChildProcess::note_output(const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (data[i] == '\n') {
      if (!partial_line_.empty()) last_line_ = partial_line_;
      if (line_sink_ && !partial_line_.empty()) line_sink_(*this, partial_line_);
      partial_line_.clear();
    } else if (partial_line_.size() < 4096) {
      partial_line_ += data[i];
    }
  }
}

void ChildProcess::pump_output() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(output_fd_, buf, sizeof buf);
    if (n > 0) {
      if (!line_sink_) {
        [[maybe_unused]] ssize_t w = write(STDERR_FILENO, buf, static_cast<size_t>(n));
      }
      note_output(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF (or an error we cannot act on): keep an unterminated last line too.
    if (!partial_line_.empty()) last_line_ = partial_line_;
    if (line_sink_ && !partial_line_.empty()) line_sink_(*this, partial_line_);
    partial_line_.clear();
    close_fd(output_fd_);
    return;
  }
}

void ChildProcess::pump_ready() {
  char buf[256];
  for (;;) {
    ssize_t n = read(ready_fd_, buf, sizeof buf);
    if (n > 0) {
      if (std::memchr(buf, '\n', static_cast<size_t>(n)) != nullptr) {
        ready_ = true;
        close_fd(ready_fd_);
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    ready_closed_ = true;
    close_fd(ready_fd_);
    return;
  }
}

bool ChildProcess::reap() {
  if (pid_ <= 0 || exited_) return exited_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
  return exited_;
}

void ChildProcess::send_signal(int sig) const {
  if (running()) kill(pid_, sig);
}

std::string ChildProcess::describe_exit() const {
  if (WIFEXITED(wait_status_)) return fmt::format("exited with status {}", WEXITSTATUS(wait_status_));
  if (WIFSIGNALED(wait_status_)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(wait_status_),
                       strsignal(WTERMSIG(wait_status_)));
  }
  return "stopped";
}

}  // namespace virtuoso::tools

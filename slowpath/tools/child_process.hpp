// One supervised child process: started with a ready pipe, its output forwarded to our stderr.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace virtuoso::tools {

// The child sees the write end of its ready pipe as this descriptor.
inline constexpr int kChildReadyFd = 3;

class ChildProcess {
 public:
  explicit ChildProcess(std::string name) : name_(std::move(name)) {}
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `path args...`. The child's stdout and stderr go into a pipe that pump_output()
  // forwards to our stderr (our stdout stays reserved for the one ready line); the ready pipe's
  // write end is kChildReadyFd. The child gets its own process group, so a terminal's Ctrl-C
  // reaches only us and we stop the children in order, and it receives SIGTERM if we die.
  // Throws std::runtime_error when the pipes or fork fail. Called again once the child has
  // exited (and been reaped), it starts a new one.
  void start(const std::string& path, const std::vector<std::string>& args);

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  int output_fd() const { return output_fd_; }  // -1 once at EOF
  int ready_fd() const { return ready_fd_; }    // -1 once ready or at EOF

  // After the child exited and was reaped: no child, as before the first start() (a supervisor
  // no longer sees it as exited).
  void forget();
  // Call when output_fd() is readable: copies what arrived to our stderr (or, with a line sink,
  // hands over each whole line, at most 4096 bytes of it), keeps the last line.
  void pump_output();
  using LineSink = std::function<void(const ChildProcess&, std::string_view line)>;
  void set_line_sink(LineSink sink) { line_sink_ = std::move(sink); }
  // Call when ready_fd() is readable.
  void pump_ready();
  // Non-blocking waitpid; true once the child has exited (then exit_status() is valid).
  bool reap();
  void send_signal(int sig) const;

  bool running() const { return pid_ > 0 && !exited_; }
  bool exited() const { return exited_; }
  bool ready() const { return ready_; }
  bool ready_closed() const { return ready_closed_; }  // EOF on the ready pipe without a line
  const std::string& last_output_line() const { return last_line_; }
  // "exited with status 1", "was killed by signal 9".
  std::string describe_exit() const;

 private:
  void note_output(const char* data, size_t n);

  std::string name_;
  pid_t pid_ = -1;
  int output_fd_ = -1;
  int ready_fd_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
  bool ready_ = false;
  bool ready_closed_ = false;
  LineSink line_sink_;
  std::string partial_line_;
  std::string last_line_;
};

}  // namespace virtuoso::tools

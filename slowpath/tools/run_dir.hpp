// The daemon's run directory: created, claimed for one virtuosod at a time, cleaned at exit.
#pragma once
#include <string>

namespace virtuoso::tools {

class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  // mkdir -p; refuses when another daemon is live there (holds the lock, or answers on
  // app.sock); removes sockets a dead daemon left behind. Throws std::runtime_error with a
  // one-line message saying what to do.
  void claim();

  // Removes app.sock, fp.sock and ctl.sock (what the slow path leaves when killed).
  void remove_sockets() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int lock_fd_ = -1;
};

// True when something accepts connections on the Unix socket at `path` (SOCK_SEQPACKET or
// SOCK_STREAM, whichever the socket is).
bool unix_socket_live(const std::string& path);

}  // namespace virtuoso::tools

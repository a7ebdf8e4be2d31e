// A Unix datagram socket bound to a fresh path under /tmp, for tests of code that sends to one
// (the service manager's notify socket, syslog and journald stand-ins); unbound at destruction.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

namespace virtuoso::test {

class DatagramListener {
 public:
  explicit DatagramListener(const std::string& name)
      : path_("/tmp/virtuoso-" + name + "-" + std::to_string(getpid())) {
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~DatagramListener() { stop(); }
  DatagramListener(const DatagramListener&) = delete;
  DatagramListener& operator=(const DatagramListener&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // The datagram waiting now, if any (senders here send before the test reads).
  std::optional<std::string> take() const {
    char buf[4096];
    ssize_t n = fd_ >= 0 ? recv(fd_, buf, sizeof buf, MSG_DONTWAIT) : -1;
    if (n < 0) return std::nullopt;
    return std::string(buf, size_t(n));
  }
  // Nobody listens at the path any more.
  void stop() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    unlink(path_.c_str());
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace virtuoso::test

// Run directory claim (flock + a liveness probe of app.sock) and socket cleanup.
#include "run_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "virtuoso/abi/unix_proto.hpp"

namespace virtuoso::tools {
namespace {

constexpr const char* kLockName = "virtuosod.lock";

bool try_connect(const std::string& path, int type) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string another_daemon(const std::string& dir) {
  return fmt::format("another virtuosod runs in {}; stop it or set run_dir", dir);
}

}  // namespace

bool unix_socket_live(const std::string& path) {
  // A connect to a socket of the other type fails with EPROTOTYPE, so try both.
  return try_connect(path, SOCK_SEQPACKET) || try_connect(path, SOCK_STREAM);
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

void RunDir::claim() {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("cannot create run_dir {}: {}; create it or set run_dir to a writable path",
                    path_, ec.message()));
  }
  std::string lock_path = path_ + "/" + kLockName;
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw std::runtime_error(fmt::format("cannot open {}: {}; check the permissions of run_dir",
                                         lock_path, std::strerror(errno)));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) throw std::runtime_error(another_daemon(path_));
  // A slow path started by hand holds no lock: ask its socket.
  if (unix_socket_live(path_ + "/" + abi::kAppSocketName)) throw std::runtime_error(another_daemon(path_));
  remove_sockets();
}

void RunDir::remove_sockets() const {
  for (const char* name : {abi::kAppSocketName, abi::kFpSocketName, abi::kCtlSocketName}) {
    std::string p = path_ + "/" + name;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (unlink(p.c_str()) == 0) {
      spdlog::info("removed {}", p);
    } else {
      spdlog::warn("cannot remove {}: {}", p, std::strerror(errno));
    }
  }
}

}  // namespace virtuoso::tools

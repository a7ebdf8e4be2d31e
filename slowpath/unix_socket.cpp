// Unix-domain socket helpers.
#include "unix_socket.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace virtuoso::slowpath {

namespace {
UniqueFd listen_at(const std::string& path, int type, mode_t mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    throw std::runtime_error(fmt::format("socket path {} is too long; use a shorter run_dir", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(fmt::format("socket() for {} failed: {}", path, std::strerror(errno)));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    throw std::runtime_error(fmt::format("cannot remove the stale socket {}: {}", path, std::strerror(errno)));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(fmt::format("cannot bind {}: {} (does run_dir exist and is it writable?)", path,
                                         std::strerror(errno)));
  if (chmod(path.c_str(), mode) != 0)
    throw std::runtime_error(fmt::format("cannot chmod {}: {}", path, std::strerror(errno)));
  if (listen(fd.get(), 128) != 0)
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", path, std::strerror(errno)));
  return fd;
}
}  // namespace

ListeningSocket::ListeningSocket(std::string path, int type, mode_t mode) : path_(std::move(path)) {
  fd_ = listen_at(path_, type, mode);
}

ListeningSocket::~ListeningSocket() {
  if (fd_ && unlink(path_.c_str()) != 0 && errno != ENOENT)
    spdlog::warn("cannot remove {}: {}", path_, std::strerror(errno));
}

UniqueFd accept_unix(int listen_fd) {
  return UniqueFd(accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

int send_with_fds(int sock, const void* data, size_t len, std::initializer_list<int> fds) {
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fds.size() > 0) {
    if (fds.size() > 4) return EINVAL;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    size_t i = 0;
    for (int fd : fds) std::memcpy(CMSG_DATA(c) + sizeof(int) * i++, &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return size_t(n) == len ? 0 : EMSGSIZE;
}

std::optional<PeerCred> peer_credentials(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  return PeerCred{cred.pid, cred.uid, cred.gid};
}

}  // namespace virtuoso::slowpath

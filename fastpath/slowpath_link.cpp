// The fast path's Unix-socket link to the slow path: SCM_RIGHTS handling and region mapping.
#include "slowpath_link.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "virtuoso/abi/unix_proto.hpp"

namespace virtuoso::fastpath {

namespace {

// Receives one message with up to `max_fds` descriptors; returns the message size or -1.
ssize_t recv_with_fds(int sock, void* buf, size_t len, int* fds, int max_fds, int& nfds, int flags) {
  iovec iov{buf, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  nfds = 0;
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = int((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (nfds < max_fds) fds[nfds++] = fd;
      else ::close(fd);
    }
  }
  return n;
}

}  // namespace

SlowpathLink::~SlowpathLink() {
  if (control_.base) munmap(control_.base, control_bytes_);
  for (int fd : {sock_, control_fd_, sp_doorbell_, fp_doorbell_})
    if (fd >= 0) ::close(fd);
}

bool SlowpathLink::connect(const std::string& run_dir, const wire::MacAddr& mac, std::string& error) {
  std::string path = run_dir + "/" + abi::kFpSocketName;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    error = fmt::format("run directory path too long: {}", path);
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  sock_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock_ < 0 || ::connect(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = fmt::format("cannot reach the slow path at {}: {} (start it first, or use virtuosod)", path,
                        std::strerror(errno));
    return false;
  }
  // A slow path that never answers must not hang start-up (virtuosod would have to SIGKILL us).
  timeval tv{10, 0};
  setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  abi::FpMessage hello{};
  hello.kind = uint32_t(abi::FpMessageKind::kHello);
  hello.version = abi::kAbiVersion;
  std::memcpy(hello.mac, mac.data(), 6);
  if (send(sock_, &hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)) {
    error = fmt::format("cannot talk to the slow path: {}", std::strerror(errno));
    return false;
  }
  abi::FpMessage answer{};
  int fds[3];
  int nfds = 0;
  ssize_t n = recv_with_fds(sock_, &answer, sizeof(answer), fds, 3, nfds, 0);
  if (n != sizeof(answer) || answer.kind != uint32_t(abi::FpMessageKind::kHelloAnswer) || nfds != 3 ||
      answer.version != abi::kAbiVersion || !answer.control.valid()) {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    error = n < 0 ? fmt::format("no answer from the slow path at {}: {}", path, std::strerror(errno))
                  : "the slow path's answer to hello is malformed (mismatched versions of the two programs?)";
    return false;
  }
  control_fd_ = fds[0];
  sp_doorbell_ = fds[1];
  fp_doorbell_ = fds[2];
  control_bytes_ = answer.control.total_bytes();
  void* base = mmap(nullptr, control_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, control_fd_, 0);
  if (base == MAP_FAILED) {
    error = fmt::format("cannot map the control region ({} bytes): {}", control_bytes_, std::strerror(errno));
    return false;
  }
  control_ = {static_cast<uint8_t*>(base), answer.control};
  if (control_.header()->magic != abi::kControlRegionMagic) {
    error = "the control region has a bad magic number";
    return false;
  }
  local_ip_ = answer.local_ip;
  return true;
}

bool SlowpathLink::slowpath_alive() {
  pollfd p{sock_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLHUP | POLLERR)) return false;
  char c;
  return recv(sock_, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

int SlowpathLink::attach_context(uint16_t ctx, const abi::AppLayout& layout, Mapping& out) {
  // The slow path sent the message before pushing the command: it is there, and we never wait.
  abi::FpMessage msg{};
  int fds[2];
  int nfds = 0;
  ssize_t n = recv_with_fds(sock_, &msg, sizeof(msg), fds, 2, nfds, MSG_DONTWAIT);
  auto fail = [&](int err) {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    return err;
  };
  if (n != sizeof(msg) || msg.kind != uint32_t(abi::FpMessageKind::kAttachCtx) || nfds != 2) return fail(EPROTO);
  if (msg.ctx != ctx || std::memcmp(&msg.app, &layout, sizeof(layout)) != 0) return fail(EPROTO);
  size_t bytes = layout.total_bytes();
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  if (base == MAP_FAILED) return fail(errno);
  ::close(fds[0]);
  out = {static_cast<uint8_t*>(base), bytes, fds[1]};
  return 0;
}

void SlowpathLink::detach_context(uint16_t, Mapping& m) {
  if (m.base) munmap(m.base, m.bytes);
  if (m.doorbell_fd >= 0) ::close(m.doorbell_fd);
  m = {};
}

void SlowpathLink::ring(int fd) {
  uint64_t one = 1;
  // A full counter (EAGAIN) means the sleeper will wake anyway.
  [[maybe_unused]] ssize_t r = write(fd, &one, sizeof(one));
}

}  // namespace virtuoso::fastpath

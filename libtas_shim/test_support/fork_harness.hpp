// A Stack that stands for both sides of fork() in unit tests: its first attach is the parent's
// daemon context, every later one the child's; fork_prepare + fork_child (or fork_parent) on it
// give the state a fork() child (or parent) goes on from. Hold links are answered by one script.
#pragma once
#include <fcntl.h>

#include "test_support/fake_daemon.hpp"

namespace virtuoso::shim::testing {

// recv() of at most `max` bytes into `out` (resized to what came); the call's result.
inline ssize_t recv_str(Stack& st, int fd, std::string& out, size_t max = 64, int flags = 0) {
  out.assign(max, '\0');
  struct iovec iov = {out.data(), max};
  ssize_t n = st.recv(fd, &iov, 1, flags);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return n;
}

inline ssize_t send_str(Stack& st, int fd, const std::string& s) {
  struct iovec iov = {const_cast<char*>(s.data()), s.size()};
  return st.send(fd, &iov, 1, 0);
}

struct ForkHarness {
  ForkHarness() : k(libc_kernel_ops()) {
    child_daemon.ctx_id = 2;
    parent_ctx = parent_daemon.make_context(k);
    stack = std::make_unique<Stack>(
        k, StackConfig{0},
        [this](const KernelOps&, std::shared_ptr<Context>& out) {
          out = attaches++ == 0 ? parent_ctx : child_daemon.make_context(k);
          return 0;
        },
        fake_hold_links(hold_links));
  }
  ChannelScript& parent() { return *parent_daemon.channel; }
  ChannelScript& child() { return *child_daemon.channel; }

  int listener(uint16_t port, uint32_t& id) {
    int fd = stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
    struct sockaddr_in a = Harness::addr(0, port);
    if (stack->bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0) return -1;
    if (stack->listen(fd, 16) != 0) return -1;
    id = parent().last_listen_id;
    return fd;
  }
  // A non-blocking socket connected in the parent's context, in `slot`/`gen`.
  int connected(uint32_t slot, uint32_t gen, uint32_t start = 0) {
    int fd = stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
    struct sockaddr_in a = Harness::addr(0x0a000002, 7);
    auto* sa = reinterpret_cast<struct sockaddr*>(&a);
    if (stack->connect(fd, sa, sizeof a) != -EINPROGRESS) return -1;
    parent_daemon.connected(parent().of_kind(abi::AppRequestKind::kConnect).back().id, slot, gen, start);
    if (stack->connect(fd, sa, sizeof a) != 0) return -1;
    return fd;
  }
  void fork_child() {
    stack->fork_prepare();
    stack->fork_child();
  }
  void fork_parent() {
    stack->fork_prepare();
    stack->fork_parent();
  }
  // The hold link the parent's daemon handed out at the last fork, or -1.
  int hold_fd() {
    std::lock_guard<std::mutex> lk(parent().mu);
    return parent().handed_fds.empty() ? -1 : parent().handed_fds.back();
  }
  static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }
  // Spins until a thread of the child announced sleep on its context's doorbell.
  void wait_child_sleeping() {
    while (shm::load_acquire(child_daemon.header().app_sleeping) == 0) __builtin_ia32_pause();
  }

  FakeDaemon parent_daemon;
  FakeDaemon child_daemon;
  KernelOps k;
  std::shared_ptr<Context> parent_ctx;
  std::shared_ptr<ChannelScript> hold_links = std::make_shared<ChannelScript>();
  std::unique_ptr<Stack> stack;
  int attaches = 0;
};

}  // namespace virtuoso::shim::testing

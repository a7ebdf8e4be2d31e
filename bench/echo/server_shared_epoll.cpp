// echo-server --shared-epoll: worker threads waiting on one epoll set; EPOLLONESHOT hands each
// ready connection to exactly one worker, which serves it and re-arms it.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "server_modes.hpp"

namespace virtuoso::bench {
namespace {

constexpr int kWaitMs = 100;  // how often a worker looks at the stop flag when idle

struct Conn {
  int fd = -1;
  std::vector<char> buf = std::vector<char>(64 * 1024);
  size_t head = 0, tail = 0;  // bytes received and not yet echoed: [head, tail)
};

class SharedSet {
 public:
  SharedSet(int listen_fd, const std::atomic<bool>& stop, ModeStats& stats)
      : lfd_(listen_fd), stop_(stop), stats_(stats), epfd_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~SharedSet() {
    for (auto& [fd, c] : conns_) ::close(fd);
    if (epfd_ >= 0) ::close(epfd_);
  }

  bool start() {
    if (epfd_ < 0) return false;
    return arm(lfd_, EPOLLIN, EPOLL_CTL_ADD);
  }

  void worker() {
    while (!stop_.load(std::memory_order_relaxed)) {
      epoll_event ev{};
      int n;
      {
        InCall in(stats_);
        n = epoll_wait(epfd_, &ev, 1, kWaitMs);
      }
      if (n <= 0) continue;
      if (ev.data.fd == lfd_) {
        accept_all();
        continue;
      }
      std::shared_ptr<Conn> c = find(ev.data.fd);
      if (c) serve(*c);
    }
  }

 private:
  bool arm(int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events | EPOLLONESHOT;
    ev.data.fd = fd;
    return epoll_ctl(epfd_, op, fd, &ev) == 0;
  }

  std::shared_ptr<Conn> find(int fd) {
    std::lock_guard lk(mu_);
    auto it = conns_.find(fd);
    return it == conns_.end() ? nullptr : it->second;
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      set_nodelay(fd);
      auto c = std::make_shared<Conn>();
      c->fd = fd;
      {
        std::lock_guard lk(mu_);
        conns_.emplace(fd, c);
      }
      ++stats_.accepted;
      if (!arm(fd, EPOLLIN, EPOLL_CTL_ADD)) drop(fd, true);
    }
    if (!arm(lfd_, EPOLLIN, EPOLL_CTL_MOD))
      std::fprintf(stderr, "echo-server: re-arming the listener: %s\n", errno_text(errno).c_str());
  }

  // Reads what is there and echoes it; re-arms for more input, or for room to finish the echo.
  void serve(Conn& c) {
    bool eof = false;
    for (;;) {
      if (c.head == c.tail) {
        ssize_t n = recv(c.fd, c.buf.data(), c.buf.size(), 0);
        if (n == 0) eof = true;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return drop(c.fd, true);
        if (n <= 0) break;
        c.head = 0;
        c.tail = size_t(n);
      }
      ssize_t m = send(c.fd, c.buf.data() + c.head, c.tail - c.head, MSG_NOSIGNAL);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return drop(c.fd, true);
      if (m < 0) break;
      c.head += size_t(m);
      stats_.bytes += uint64_t(m);
    }
    if (eof && c.head == c.tail) return drop(c.fd, false);
    if (!arm(c.fd, c.head < c.tail ? EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD)) drop(c.fd, true);
  }

  void drop(int fd, bool reset) {
    if (reset) ++stats_.resets;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    std::lock_guard lk(mu_);
    conns_.erase(fd);
    ::close(fd);
  }

  int lfd_;
  const std::atomic<bool>& stop_;
  ModeStats& stats_;
  int epfd_;
  std::mutex mu_;  // the connection table; a connection itself belongs to the worker it fired on
  std::unordered_map<int, std::shared_ptr<Conn>> conns_;
};

}  // namespace

void run_shared_epoll(int listen_fd, unsigned threads, const std::atomic<bool>& stop, ModeStats& stats) {
  SharedSet set(listen_fd, stop, stats);
  if (!set.start()) {
    std::fprintf(stderr, "echo-server: the shared epoll set: %s\n", errno_text(errno).c_str());
    return;
  }
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&set] { set.worker(); });
  set.worker();
  for (auto& t : workers) t.join();
}

}  // namespace virtuoso::bench

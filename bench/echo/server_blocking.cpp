// echo-server --blocking: a thread per connection, blocking accept/recv/send, as classic servers do.
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "common/net.hpp"
#include "server_modes.hpp"

namespace virtuoso::bench {
namespace {

constexpr int kStopCheckMs = 100;

void serve(int fd, const std::atomic<bool>& stop, ModeStats& stats) {
  timeval tv{0, kStopCheckMs * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  set_nodelay(fd);
  std::vector<char> buf(64 * 1024);
  bool reset = false;
  while (!stop.load(std::memory_order_relaxed)) {
    ssize_t n;
    {
      InCall in(stats);
      n = recv(fd, buf.data(), buf.size(), 0);
    }
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      reset = true;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t m = send(fd, buf.data() + off, size_t(n - off), MSG_NOSIGNAL);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) {
        reset = true;
        break;
      }
      off += m;
    }
    if (reset) break;
    stats.bytes += uint64_t(n);
  }
  if (reset) ++stats.resets;
  ::close(fd);
}

}  // namespace

void run_blocking(int listen_fd, const std::atomic<bool>& stop, ModeStats& stats) {
  std::vector<std::thread> threads;
  while (!stop.load(std::memory_order_relaxed)) {
    pollfd p{listen_fd, POLLIN, 0};
    if (poll(&p, 1, kStopCheckMs) <= 0) continue;
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
        std::fprintf(stderr, "echo-server: accept4: %s\n", errno_text(errno).c_str());
      continue;
    }
    ++stats.accepted;
    threads.emplace_back(serve, fd, std::cref(stop), std::ref(stats));
  }
  for (auto& t : threads) t.join();
}

}  // namespace virtuoso::bench

// kv-server worker: level-triggered epoll loop; every worker may accept from the one listener.
#include "kv/server/worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <system_error>

namespace virtuoso::kv {
namespace {

constexpr int kMaxEvents = 128;

uint32_t events_for(Interest interest) {
  return interest == Interest::kWrite ? EPOLLOUT : EPOLLIN;
}

int64_t unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

}  // namespace

Worker::Worker(int listen_fd, Store& store, const ServerInfo& info, WorkerCounters& counters)
    : listen_fd_(listen_fd),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      counters_(counters),
      executor_(store, counters, info) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  // Every worker watches the listener (level-triggered) and takes one connection per wake-up,
  // which spreads connections across workers without SO_REUSEPORT or a hand-off channel.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "epoll_ctl(listener)");
  }
}

Worker::~Worker() {
  conns_.clear();
  ::close(epoll_fd_);
}

void Worker::run(const std::atomic<bool>& stop) {
  epoll_event events[kMaxEvents];
  while (!stop.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, kStopCheckMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    const int64_t now = unix_now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == listen_fd_) {
        accept_one();
      } else {
        serve(events[i].data.fd, events[i].events, now);
      }
    }
  }
}

void Worker::serve(int fd, uint32_t events, int64_t now_unix) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Connection& conn = *it->second.conn;
  // Errors and hang-ups surface as a failed or empty read, so they take the read path.
  const bool readable = events & (EPOLLIN | EPOLLERR | EPOLLHUP);
  Interest next = Interest::kRead;
  if (events & EPOLLOUT) next = conn.on_writable(now_unix);
  if (next == Interest::kRead && readable) next = conn.on_readable(now_unix);
  apply(fd, it->second, next);
}

void Worker::accept_one() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;  // another worker won it, or a transient error (EMFILE, ECONNABORTED)
  const int one = 1;
  // Replies are whole and small: send each at once rather than waiting for more.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto conn = std::make_unique<Connection>(fd, executor_, counters_);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return;  // conn closes the fd
  conns_[fd] = Slot{std::move(conn), Interest::kRead};
}

void Worker::apply(int fd, Slot& slot, Interest interest) {
  if (interest == slot.registered) return;
  if (interest != Interest::kClose) {
    epoll_event ev{};
    ev.events = events_for(interest);
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) {
      slot.registered = interest;
      return;
    }
  }
  // Removed from the set before the close, which a shim's epoll may not notice by itself.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  conns_.erase(fd);
}

}  // namespace virtuoso::kv

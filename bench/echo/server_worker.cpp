// Echo-server thread: accept, read, echo back with partial writes and backpressure (or, as a sink,
// read, discard and optionally check the one-way pattern), close on EOF.
#include "server_worker.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/clock.hpp"
#include "common/net.hpp"

namespace virtuoso::bench {

namespace {
constexpr int kMaxEvents = 64;
constexpr int kWaitMs = 100;         // how often the stop flag is looked at when idle
constexpr int kReadRoundsPerEvent = 8;  // bound the work on one connection per wake-up
constexpr size_t kSinkBuffer = 256 * 1024;
}  // namespace

EchoWorker::EchoWorker(int listen_fd, const EchoWorkerOptions& opts, const std::atomic<bool>& stop)
    : listen_fd_(listen_fd), opts_(opts), stop_(stop) {}

EchoWorker::~EchoWorker() {
  for (auto& [fd, c] : conns_) ::close(fd);
  if (epfd_ >= 0) ::close(epfd_);
}

bool EchoWorker::init(std::string& err) {
  if (opts_.sink) sink_rx_.resize(kSinkBuffer);
  if (opts_.sink && opts_.verify_pattern) expected_.resize(kSinkBuffer);
  epfd_ = epoll_create1(0);
  if (epfd_ < 0) {
    err = "epoll_create1: " + errno_text(errno);
    return false;
  }
  // Every worker watches the listening socket; whichever wakes first accepts (the others see EAGAIN).
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    err = "epoll_ctl(listen): " + errno_text(errno);
    return false;
  }
  return true;
}

void EchoWorker::run() {
  epoll_event events[kMaxEvents];
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epfd_, events, kMaxEvents, kWaitMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "echo-server: epoll_wait: %s\n", errno_text(errno).c_str());
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        accept_ready();
        continue;
      }
      auto it = conns_.find(fd);
      if (it != conns_.end()) on_conn_event(*it->second, events[i].events);
    }
  }
  // Closed here rather than in the destructor so that open connections get their pattern report.
  while (!conns_.empty()) close_conn(*conns_.begin()->second, false);
}

void EchoWorker::accept_ready() {
  for (int i = 0; i < kMaxEvents; ++i) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // EAGAIN: another worker took it. ECONNABORTED and friends concern one peer only.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
        std::fprintf(stderr, "echo-server: accept4: %s\n", errno_text(errno).c_str());
      return;
    }
    set_nodelay(fd);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->peer = peer;
    if (!opts_.sink) c->buf.resize(opts_.buffer_bytes);
    c->interest = EPOLLIN;
    epoll_event ev{};
    ev.events = c->interest;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      std::fprintf(stderr, "echo-server: epoll_ctl(add): %s\n", errno_text(errno).c_str());
      ::close(fd);
      continue;
    }
    stats_.accepted++;
    conns_.emplace(fd, std::move(c));
  }
}

void EchoWorker::on_conn_event(Conn& c, uint32_t events) {
  if (opts_.sink) {
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    if (!sink_some(c)) return close_conn(c, true);
    if (c.peer_closed) close_conn(c, false);
    return;
  }
  bool ok = true;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ok = read_some(c);
  if (ok) ok = write_some(c);
  if (!ok) return close_conn(c, true);
  if (c.peer_closed && c.head == c.tail) return close_conn(c, false);
  if (!update_interest(c)) close_conn(c, true);
}

// Reads while there is room, echoing in between so one large burst does not stall on a full buffer.
bool EchoWorker::read_some(Conn& c) {
  for (int round = 0; round < kReadRoundsPerEvent && !c.peer_closed; ++round) {
    if (c.head == c.tail) c.head = c.tail = 0;
    size_t room = c.buf.size() - c.tail;
    if (room == 0) break;  // backpressure: wait for the peer to read its echo
    ssize_t n = recv(c.fd, c.buf.data() + c.tail, room, 0);
    if (n > 0) {
      c.tail += size_t(n);
      do_work(c, size_t(n));
      if (!write_some(c)) return false;
      if (size_t(n) < room) break;  // drained the socket for now
    } else if (n == 0) {
      c.peer_closed = true;
    } else if (errno == EINTR) {
      continue;
    } else {
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }
  return true;
}

bool EchoWorker::write_some(Conn& c) {
  while (c.head < c.tail) {
    ssize_t n = send(c.fd, c.buf.data() + c.head, c.tail - c.head, 0);
    if (n > 0) {
      c.head += size_t(n);
      stats_.bytes += uint64_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  c.head = c.tail = 0;
  return true;
}

// Sink: reads into the thread's buffer and drops the data; the peer's FIN closes the connection.
bool EchoWorker::sink_some(Conn& c) {
  for (int round = 0; round < kReadRoundsPerEvent; ++round) {
    ssize_t n = recv(c.fd, sink_rx_.data(), sink_rx_.size(), 0);
    if (n > 0) {
      stats_.bytes += uint64_t(n);
      if (opts_.verify_pattern) c.pattern.feed(sink_rx_.data(), size_t(n), expected_.data());
      do_work(c, size_t(n));
      if (size_t(n) < sink_rx_.size()) break;  // drained the socket for now
    } else if (n == 0) {
      c.peer_closed = true;
      break;
    } else if (errno == EINTR) {
      continue;
    } else {
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }
  return true;
}

bool EchoWorker::update_interest(Conn& c) {
  uint32_t want = 0;
  if (!c.peer_closed && c.tail < c.buf.size()) want |= EPOLLIN;
  if (c.head < c.tail) want |= EPOLLOUT;
  if (want == c.interest) return true;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = c.fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev) != 0) return false;
  c.interest = want;
  return true;
}

void EchoWorker::do_work(Conn& c, size_t bytes) {
  if (opts_.work_ns == 0) return;
  if (opts_.request_size == 0) return spin_for_ns(opts_.work_ns);
  c.work_carry += bytes;
  while (c.work_carry >= opts_.request_size) {
    spin_for_ns(opts_.work_ns);
    c.work_carry -= opts_.request_size;
  }
}

void EchoWorker::close_conn(Conn& c, bool reset) {
  if (reset) stats_.resets++;
  if (c.pattern.mismatched()) report_pattern(c);
  int fd = c.fd;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  conns_.erase(fd);  // destroys c
}

void EchoWorker::report_pattern(const Conn& c) {
  stats_.mismatched_bytes += c.pattern.mismatched();
  stats_.mismatched_conns++;
  std::fprintf(stderr,
               "echo-server: sink connection from %s: %llu of %llu bytes differ from the one-way "
               "pattern, the first at stream byte %llu\n",
               to_string(c.peer).c_str(), (unsigned long long)c.pattern.mismatched(),
               (unsigned long long)c.pattern.bytes(), (unsigned long long)c.pattern.first_mismatch());
}

}  // namespace virtuoso::bench

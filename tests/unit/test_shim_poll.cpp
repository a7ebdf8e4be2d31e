// Shim core: readiness of stack sockets in poll, select and epoll, mixed with kernel descriptors.
#include <catch2/catch.hpp>
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "core/readiness.hpp"
#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using virtuoso::shim::testing::Harness;

namespace {

constexpr struct timespec kZero = {0, 0};

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
};

std::string drain(Harness& h, int fd) {
  std::string out(8192, '\0');
  struct iovec iov = {out.data(), out.size()};
  ssize_t n = h.stack->recv(fd, &iov, 1, MSG_DONTWAIT);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

}  // namespace

TEST_CASE("shim_poll_mask_follows_linux_tcp_states", "[shim][poll]") {
  Harness h;
  int fresh = h.stack->socket(SOCK_STREAM);
  struct pollfd p = {fresh, POLLIN | POLLOUT, 0};
  h.stack->poll(&p, 1, &kZero, nullptr);
  CHECK(p.revents == (POLLOUT | POLLHUP));  // unconnected TCP socket

  int conn = h.connect_socket(1, 1);
  p = {conn, POLLIN | POLLOUT, 0};
  h.stack->poll(&p, 1, &kZero, nullptr);
  CHECK(p.revents == POLLOUT);
  h.daemon.deliver(1, "x");
  h.stack->poll(&p, 1, &kZero, nullptr);
  CHECK(p.revents == (POLLIN | POLLOUT));
  h.stack->shutdown(conn, SHUT_WR);
  h.daemon.peer_fin(1);
  p.events = POLLIN | POLLOUT | POLLRDHUP;
  h.stack->poll(&p, 1, &kZero, nullptr);
  CHECK(p.revents == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP));  // both directions shut

  uint32_t id = 0;
  int lfd = h.listen_socket(80, id);
  p = {lfd, POLLIN | POLLOUT, 0};
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 0);  // a listener is never writable
  h.daemon.accepted(id, 2, 1);
  h.stack->poll(&p, 1, &kZero, nullptr);
  CHECK(p.revents == POLLIN);
  for (int fd : {fresh, conn, lfd}) h.stack->close(fd);
}

TEST_CASE("shim_poll_reports_stack_and_kernel_descriptors_together", "[shim][poll]") {
  Harness h;
  Pipe pipe;
  int fd = h.connect_socket(1, 1);
  struct pollfd p[3] = {{pipe.r, POLLIN, 0}, {fd, POLLIN, 0}, {-1, POLLIN, 0}};
  CHECK(h.stack->poll(p, 3, &kZero, nullptr) == 0);
  REQUIRE(::write(pipe.w, "k", 1) == 1);
  CHECK(h.stack->poll(p, 3, &kZero, nullptr) == 1);
  CHECK(p[0].revents == POLLIN);
  CHECK(p[1].revents == 0);
  h.daemon.deliver(1, "s");
  CHECK(h.stack->poll(p, 3, &kZero, nullptr) == 2);
  CHECK(p[1].revents == POLLIN);
  CHECK(p[2].revents == 0);
  h.stack->close(fd);
}

TEST_CASE("shim_poll_sleeps_until_a_stack_event", "[shim][poll]") {
  Harness h;
  Pipe pipe;
  int fd = h.connect_socket(1, 1);
  std::thread fast_path([&] {
    h.wait_app_sleeping();
    h.daemon.deliver(1, "wake");
  });
  struct pollfd p[2] = {{pipe.r, POLLIN, 0}, {fd, POLLIN, 0}};
  CHECK(h.stack->poll(p, 2, nullptr, nullptr) == 1);
  fast_path.join();
  CHECK(p[1].revents == POLLIN);
  CHECK(h.daemon.header().app_sleeping == 0);
  h.stack->close(fd);
}

TEST_CASE("shim_poll_sleeping_on_stack_socket_wakes_for_kernel_descriptor", "[shim][poll]") {
  Harness h;
  Pipe pipe;
  int fd = h.connect_socket(1, 1);
  ssize_t wrote = 0;
  std::thread writer([&] {
    h.wait_app_sleeping();
    wrote = ::write(pipe.w, "k", 1);  // no assertions off the test's thread: Catch is not thread-safe
  });
  struct pollfd p[2] = {{fd, POLLIN, 0}, {pipe.r, POLLIN, 0}};
  CHECK(h.stack->poll(p, 2, nullptr, nullptr) == 1);
  writer.join();
  CHECK(wrote == 1);
  CHECK(p[0].revents == 0);
  CHECK(p[1].revents == POLLIN);
  h.stack->close(fd);
}

TEST_CASE("shim_poll_times_out_with_nothing_ready", "[shim][poll]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  struct pollfd p = {fd, POLLIN, 0};
  struct timespec ts = {0, 10 * 1000 * 1000};
  CHECK(h.stack->poll(&p, 1, &ts, nullptr) == 0);
  h.stack->close(fd);
}

TEST_CASE("shim_select_reports_stack_and_kernel_descriptors", "[shim][poll]") {
  Harness h;
  Pipe pipe;
  int fd = h.connect_socket(1, 1);
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(fd, &rd);
  FD_SET(pipe.r, &rd);
  FD_SET(fd, &wr);
  int nfds = std::max(fd, pipe.r) + 1;
  h.daemon.deliver(1, "x");
  CHECK(select_via_poll(*h.stack, nfds, &rd, &wr, nullptr, &kZero, nullptr) == 2);
  CHECK(FD_ISSET(fd, &rd));
  CHECK(FD_ISSET(fd, &wr));
  CHECK_FALSE(FD_ISSET(pipe.r, &rd));
  h.stack->close(fd);
}

TEST_CASE("shim_epoll_level_triggered_repeats_until_drained", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 42;
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -EEXIST);
  struct epoll_event out[4];
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.daemon.deliver(1, "abc");
  for (int round = 0; round < 3; ++round) {
    REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
    CHECK(uint64_t{out[0].data.u64} == 42);  // a copy: epoll_event is packed
    CHECK(out[0].events == EPOLLIN);
  }
  CHECK(drain(h, fd) == "abc");
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_edge_triggered_reports_each_arrival_once", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.fd = fd;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(out[0].events == EPOLLOUT);  // writable at registration
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.daemon.deliver(1, "one");
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK((out[0].events & EPOLLIN) != 0);
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);  // still readable: no new edge
  h.daemon.deliver(1, "two");
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);  // more data: a new edge
  CHECK(drain(h, fd) == "onetwo");
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_oneshot_reports_once_until_rearmed", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLONESHOT;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  h.daemon.deliver(1, "x");
  struct epoll_event out[4];
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.daemon.deliver(1, "y");
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0);
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr) == 0);
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr) == -ENOENT);
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_mixes_kernel_descriptors_and_hides_its_own", "[shim][epoll]") {
  Harness h;
  Pipe pipe;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 1;
  REQUIRE(h.stack->epoll_ctl_kernel(ep, EPOLL_CTL_ADD, pipe.r, &ev) == 0);  // into the kernel set
  int fd = h.connect_socket(1, 1);
  ev.data.u64 = 2;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  // The registration itself kicked the set: that kick must not show up as an event.
  struct epoll_event out[8];
  CHECK(h.stack->epoll_wait(ep, out, 8, Deadline::after_ms(0), nullptr) == 0);
  REQUIRE(::write(pipe.w, "k", 1) == 1);
  h.daemon.deliver(1, "s");
  int n = h.stack->epoll_wait(ep, out, 8, Deadline::after_ms(0), nullptr);
  REQUIRE(n == 2);
  uint64_t seen = out[0].data.u64 | out[1].data.u64 << 8;
  CHECK((seen == (1 | 2 << 8) || seen == (2 | 1 << 8)));
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_wait_sleeps_until_stack_event", "[shim][epoll]") {
  Harness h;
  Pipe pipe;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 1;
  REQUIRE(h.stack->epoll_ctl_kernel(ep, EPOLL_CTL_ADD, pipe.r, &ev) == 0);
  int fd = h.connect_socket(1, 1);
  ev.data.u64 = 2;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  std::thread fast_path([&] {
    h.wait_app_sleeping();
    h.daemon.deliver(1, "wake");
  });
  struct epoll_event out[4];
  int n = h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(-1), nullptr);
  fast_path.join();
  REQUIRE(n == 1);
  CHECK(uint64_t{out[0].data.u64} == 2);  // a copy: epoll_event is packed
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_registration_goes_away_with_the_last_close", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.stack->socket(SOCK_STREAM);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLOUT;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(out[0].events == (EPOLLOUT | EPOLLHUP));  // an unconnected socket, as Linux reports it
  h.stack->close(fd);
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  CHECK(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, 100000, &ev) == -EBADF);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_reports_after_arx_overflow_rescan", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  // Bytes arrive, but the event was lost to a full arx queue: only the overflow flag says so.
  h.daemon.slot(1).rx_head = 5;
  h.daemon.header().arx_overflow = 1;
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(h.daemon.header().arx_overflow == 0);
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_wait_sees_a_stack_socket_added_while_it_waits", "[shim][epoll]") {
  Harness h;
  Pipe pipe;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 1;
  REQUIRE(h.stack->epoll_ctl_kernel(ep, EPOLL_CTL_ADD, pipe.r, &ev) == 0);
  int fd = h.connect_socket(1, 1);
  h.daemon.deliver(1, "ready before it is even registered");
  int n = -1;
  struct epoll_event out[4];
  std::atomic<bool> waiting{false};
  std::thread waiter([&] {
    waiting = true;
    n = h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(5000), nullptr);  // only the pipe in the set for now
  });
  while (!waiting) std::this_thread::yield();
  ev.data.u64 = 2;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  waiter.join();
  REQUIRE(n == 1);
  CHECK(uint64_t{out[0].data.u64} == 2);  // a copy: epoll_event is packed
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_epoll_edge_triggered_out_fires_again_only_after_the_ring_was_full", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLOUT | EPOLLET;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  std::string small(100, 's');
  struct iovec iov = {small.data(), small.size()};
  REQUIRE(h.stack->send(fd, &iov, 1, 0) == 100);
  h.daemon.take_tx(1);  // acknowledged: room was never short, so no new edge
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  std::string big(5000, 'b');
  iov = {big.data(), big.size()};
  REQUIRE(h.stack->send(fd, &iov, 1, 0) == 4096);  // the ring filled up
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);
  h.daemon.take_tx(1);
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);
  CHECK(out[0].events == EPOLLOUT);
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

// The nginx bulk-download stall: the socket was queued for evaluation by a kTxSpace drained before
// the ring filled; the fast path freed the space before that evaluation and announced it only
// after. The evaluation saw the socket writable; it must report that as an edge (it did not, and
// cleared the shortage, so the late kTxSpace was no edge either and the writer waited forever).
TEST_CASE("shim_epoll_edge_triggered_out_fires_when_space_is_seen_before_its_event", "[shim][epoll]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int fd = h.connect_socket(1, 1);
  struct epoll_event ev = {};
  ev.events = EPOLLOUT | EPOLLET;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  REQUIRE(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 1);  // writable at registration
  std::string small(100, 's');
  struct iovec iov = {small.data(), small.size()};
  REQUIRE(h.stack->send(fd, &iov, 1, 0) == 100);
  h.daemon.take_tx(1);  // its kTxSpace waits in the queue until the next call drains it
  std::string big(5000, 'b');
  iov = {big.data(), big.size()};
  REQUIRE(h.stack->send(fd, &iov, 1, MSG_DONTWAIT) == 4096);  // drains it, then fills the ring
  REQUIRE(h.stack->send(fd, &iov, 1, MSG_DONTWAIT) == -EAGAIN);
  h.daemon.take_tx(1, false);  // freed; announced after the app looked
  int reported = h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr);
  h.daemon.app_event(1, abi::AppEventKind::kTxSpace);
  reported += h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr);
  CHECK(reported == 1);
  CHECK(out[0].events == EPOLLOUT);
  CHECK(h.stack->epoll_wait(ep, out, 4, Deadline::after_ms(0), nullptr) == 0);  // one edge, not one per look
  h.stack->close(fd);
  h.stack->epoll_closing(ep);
}

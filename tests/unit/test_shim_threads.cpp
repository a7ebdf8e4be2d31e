// Shim core: several threads blocking at once, and the lost-wake-up race with the fast path.
#include <catch2/catch.hpp>
#include <errno.h>

#include <atomic>
#include <string>
#include <thread>

#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using virtuoso::shim::testing::Harness;

namespace {

ssize_t recv_some(Harness& h, int fd, std::string& out) {
  out.assign(64, '\0');
  struct iovec iov = {out.data(), out.size()};
  ssize_t r = h.stack->recv(fd, &iov, 1, 0);
  out.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return r;
}

}  // namespace

TEST_CASE("shim_two_threads_blocked_on_two_sockets_both_wake", "[shim][threads]") {
  Harness h;
  int a = h.connect_socket(1, 1, 0, false);
  int b = h.connect_socket(2, 1, 0, false);
  for (int round = 0; round < 50; ++round) {
    std::string ga, gb;
    std::atomic<int> blocked{0};
    std::thread ta([&] {
      ++blocked;
      recv_some(h, a, ga);
    });
    std::thread tb([&] {
      ++blocked;
      recv_some(h, b, gb);
    });
    while (blocked.load() < 2) std::this_thread::yield();
    h.wait_app_sleeping();
    // Only one of them waits on the doorbell; the other must be passed the wake-up.
    h.daemon.deliver(2, "to b");
    h.daemon.deliver(1, "to a");
    ta.join();
    tb.join();
    CHECK(ga == "to a");
    CHECK(gb == "to b");
  }
  h.stack->close(a);
  h.stack->close(b);
}

TEST_CASE("shim_blocking_recv_never_misses_a_racing_delivery", "[shim][threads]") {
  // The delivery races with the receiver going to sleep, in every interleaving the scheduler
  // produces: a lost wake-up would hang this test (and the test timeout would catch it).
  Harness h;
  int fd = h.connect_socket(1, 1, 0, false);
  for (int i = 0; i < 500; ++i) {
    std::string got;
    std::thread rx([&] { recv_some(h, fd, got); });
    h.daemon.deliver(1, "p");
    rx.join();
    REQUIRE(got == "p");
  }
  h.stack->close(fd);
}

TEST_CASE("shim_one_thread_in_epoll_one_in_recv_both_served", "[shim][threads]") {
  Harness h;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int a = h.connect_socket(1, 1, 0, false);
  int b = h.connect_socket(2, 1, 0, false);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = b;
  REQUIRE(h.stack->epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev) == 0);
  for (int round = 0; round < 50; ++round) {
    std::string ga;
    int nb = -1;
    std::thread ta([&] { recv_some(h, a, ga); });
    std::thread tb([&] {
      struct epoll_event out[2];
      nb = h.stack->epoll_wait(ep, out, 2, Deadline::after_ms(-1), nullptr);
    });
    h.wait_app_sleeping();
    h.daemon.deliver(1, "a");
    h.daemon.deliver(2, "b");
    ta.join();
    tb.join();
    CHECK(ga == "a");
    CHECK(nb == 1);
    std::string gb;
    REQUIRE(recv_some(h, b, gb) == 1);
  }
  h.stack->close(a);
  h.stack->close(b);
  h.stack->epoll_closing(ep);
}

TEST_CASE("shim_close_by_another_thread_ends_a_blocked_recv", "[shim][threads]") {
  Harness h;
  int fd = h.connect_socket(1, 1, 0, false);
  ssize_t r = 0;
  std::thread rx([&] {
    std::string got;
    r = recv_some(h, fd, got);
  });
  h.wait_app_sleeping();
  h.stack->close(fd);
  rx.join();
  CHECK(r == -EBADF);
}

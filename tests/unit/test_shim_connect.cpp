// Shim core: connect, bind, listen and accept against a scripted slow path.
#include <catch2/catch.hpp>
#include <errno.h>
#include <sys/epoll.h>

#include <thread>

#include "core/readiness.hpp"
#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using virtuoso::shim::testing::Harness;
using Kind = abi::AppRequestKind;

namespace {

struct sockaddr* sa(struct sockaddr_in& a) { return reinterpret_cast<struct sockaddr*>(&a); }

uint32_t last_cookie(Harness& h) { return h.channel().of_kind(Kind::kConnect).back().id; }

}  // namespace

TEST_CASE("shim_connect_nonblocking_inprogress_then_connected_reported_once", "[shim][connect]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  REQUIRE(fd >= 0);
  auto a = Harness::addr(0x0a000002, 7);
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EINPROGRESS);
  auto req = h.channel().of_kind(Kind::kConnect).back();
  CHECK(req.ip == 0x0a000002);
  CHECK(req.port == 7);
  CHECK(req.id != 0);
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EALREADY);
  struct pollfd p = {fd, POLLOUT, 0};
  struct timespec zero = {0, 0};
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 0);  // nothing while the handshake runs
  h.daemon.connected(req.id, 3, 7);
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 1);
  CHECK(p.revents == POLLOUT);
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  CHECK(err == 0);
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == 0);  // reports the completion once
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EISCONN);
  struct sockaddr_in peer = {}, me = {};
  len = sizeof peer;
  CHECK(h.stack->getpeername(fd, sa(peer), &len) == 0);
  CHECK(ntohl(peer.sin_addr.s_addr) == 0x0a000002);
  CHECK(ntohs(peer.sin_port) == 7);
  len = sizeof me;
  CHECK(h.stack->getsockname(fd, sa(me), &len) == 0);
  CHECK(ntohs(me.sin_port) == 50000);
  CHECK(h.stack->close(fd) == 0);
}

TEST_CASE("shim_connect_blocking_waits_for_kconnected", "[shim][connect]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM);
  auto a = Harness::addr(0x0a000002, 80);
  std::thread slow_path([&] {
    h.wait_app_sleeping();
    h.daemon.connected(last_cookie(h), 2, 1);
  });
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == 0);
  slow_path.join();
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EISCONN);
  h.stack->close(fd);
}

TEST_CASE("shim_connect_blocking_refused_returns_econnrefused", "[shim][connect]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM);
  auto a = Harness::addr(0x0a000002, 81);
  std::thread slow_path([&] {
    h.wait_app_sleeping();
    h.daemon.connect_failed(last_cookie(h), ECONNREFUSED);
  });
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -ECONNREFUSED);
  slow_path.join();
  int err = -1;
  socklen_t len = sizeof err;
  h.stack->getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  CHECK(err == 0);  // connect() consumed it
  h.stack->close(fd);
}

TEST_CASE("shim_connect_failed_nonblocking_so_error_reports_and_clears", "[shim][connect]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  auto a = Harness::addr(0x0a000002, 81);
  REQUIRE(h.stack->connect(fd, sa(a), sizeof a) == -EINPROGRESS);
  h.daemon.connect_failed(last_cookie(h), ETIMEDOUT);
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  struct timespec zero = {0, 0};
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 1);
  CHECK(p.revents == (POLLOUT | POLLERR | POLLHUP));  // Linux after a failed connect
  int err = 0;
  socklen_t len = sizeof err;
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  CHECK(err == ETIMEDOUT);
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  CHECK(err == 0);
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -ECONNABORTED);  // error already taken
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EINPROGRESS);   // a fresh attempt
  h.stack->close(fd);
}

TEST_CASE("shim_connect_daemon_error_answer_fails_the_call", "[shim][connect]") {
  Harness h;
  h.channel().handler = [](const abi::AppRequest& r, abi::AppResponse& resp) {
    if (r.kind != static_cast<uint32_t>(Kind::kConnect)) return false;
    resp.error = ENETUNREACH;
    return true;
  };
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  auto a = Harness::addr(0xc0a80101, 81);
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -ENETUNREACH);
  h.channel().handler = nullptr;
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EINPROGRESS);  // back to fresh: may retry
  h.stack->close(fd);
}

TEST_CASE("shim_connect_rejects_other_families_and_short_addresses", "[shim][connect]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM);
  auto a = Harness::addr(0x0a000002, 7);
  a.sin_family = AF_INET6;
  CHECK(h.stack->connect(fd, sa(a), sizeof a) == -EAFNOSUPPORT);
  a.sin_family = AF_INET;
  CHECK(h.stack->connect(fd, sa(a), 4) == -EINVAL);
  CHECK(h.channel().of_kind(Kind::kConnect).empty());
  h.stack->close(fd);
}

TEST_CASE("shim_listen_accepts_in_order_and_acks_each", "[shim][listen]") {
  Harness h;
  uint32_t id = 0;
  int lfd = h.listen_socket(8080, id);
  REQUIRE(lfd >= 0);
  auto bind_req = h.channel().of_kind(Kind::kBind).back();
  CHECK(bind_req.port == 8080);
  auto listen_req = h.channel().of_kind(Kind::kListen).back();
  CHECK(listen_req.port == 8080);
  CHECK(listen_req.backlog == 16);
  CHECK(h.stack->accept(lfd, nullptr, nullptr, 0x4000000) == -EINVAL);  // unknown flag
  h.stack->fcntl(lfd, F_SETFL, O_NONBLOCK);
  CHECK(h.stack->accept(lfd, nullptr, nullptr, 0) == -EAGAIN);
  h.daemon.accepted(id, 4, 9, 1111);
  h.daemon.accepted(id, 5, 2, 2222);
  struct sockaddr_in peer = {};
  socklen_t len = sizeof peer;
  int c1 = h.stack->accept(lfd, sa(peer), &len, SOCK_CLOEXEC);
  REQUIRE(c1 >= 0);
  CHECK(ntohs(peer.sin_port) == 1111);
  CHECK(len == sizeof peer);
  int c2 = h.stack->accept(lfd, nullptr, nullptr, SOCK_NONBLOCK);
  REQUIRE(c2 >= 0);
  CHECK((h.stack->fcntl(c2, F_GETFL, 0) & O_NONBLOCK) != 0);
  CHECK((h.stack->fcntl(c1, F_GETFL, 0) & O_NONBLOCK) == 0);
  CHECK((h.stack->fcntl(c1, F_GETFD, 0) & FD_CLOEXEC) != 0);
  auto acks = h.channel().of_kind(Kind::kAcceptAck);
  REQUIRE(acks.size() == 2);
  CHECK(acks[0].id == id);
  struct sockaddr_in me = {};
  len = sizeof me;
  CHECK(h.stack->getsockname(lfd, sa(me), &len) == 0);
  CHECK(ntohs(me.sin_port) == 8080);
  CHECK(me.sin_addr.s_addr == 0);  // bound to INADDR_ANY
  len = sizeof me;
  CHECK(h.stack->getsockname(c1, sa(me), &len) == 0);
  CHECK(ntohl(me.sin_addr.s_addr) == h.daemon.local_ip);
  int v = 0;
  len = sizeof v;
  CHECK(h.stack->getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0);
  CHECK(v == 1);
  h.stack->close(c1);
  h.stack->close(c2);
  h.stack->close(lfd);
}

TEST_CASE("shim_accepted_event_before_listen_answer_is_kept", "[shim][listen]") {
  Harness h;
  // The slow path may push kAccepted for a brand-new listener before the app reads the answer.
  h.channel().handler = [&](const abi::AppRequest& r, abi::AppResponse& resp) {
    if (r.kind != static_cast<uint32_t>(Kind::kListen)) return false;
    resp.id = 77;
    resp.port = 9000;
    h.daemon.accepted(77, 6, 3);
    return true;
  };
  int lfd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  REQUIRE(h.stack->listen(lfd, 4) == 0);
  int c = h.stack->accept(lfd, nullptr, nullptr, 0);
  CHECK(c >= 0);
  CHECK(h.channel().of_kind(Kind::kAbort).empty());
  h.stack->close(c);
  h.stack->close(lfd);
}

TEST_CASE("shim_accepted_for_unknown_listener_is_aborted", "[shim][listen]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  h.daemon.accepted(999, 2, 5);
  int v = 0;
  socklen_t len = sizeof v;
  h.stack->getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);  // any call drains the queues
  auto aborts = h.channel().of_kind(Kind::kAbort);
  REQUIRE(aborts.size() == 1);
  CHECK(aborts[0].slot == 2);
  CHECK(aborts[0].gen == 5);
  h.stack->close(fd);
}

TEST_CASE("shim_close_listener_unlistens_and_resets_unaccepted", "[shim][listen]") {
  Harness h;
  uint32_t id = 0;
  int lfd = h.listen_socket(8081, id);
  h.daemon.accepted(id, 1, 4);
  CHECK(h.stack->close(lfd) == 0);
  auto un = h.channel().of_kind(Kind::kUnlisten);
  REQUIRE(un.size() == 1);
  CHECK(un[0].id == id);
  auto aborts = h.channel().of_kind(Kind::kAbort);
  REQUIRE(aborts.size() == 1);
  CHECK(aborts[0].slot == 1);
  CHECK(aborts[0].gen == 4);
  CHECK(h.channel().of_kind(Kind::kUnbind).empty());  // the reservation became the listener
}

TEST_CASE("shim_accept_blocking_woken_by_kaccepted", "[shim][listen]") {
  Harness h;
  uint32_t id = 0;
  int lfd = h.listen_socket(8082, id);
  std::thread slow_path([&] {
    h.wait_app_sleeping();
    h.daemon.accepted(id, 3, 1);
  });
  int c = h.stack->accept(lfd, nullptr, nullptr, 0);
  slow_path.join();
  CHECK(c >= 0);
  h.stack->close(c);
  h.stack->close(lfd);
}

TEST_CASE("shim_shutdown_listener_wakes_blocked_accept_with_einval", "[shim][listen]") {
  Harness h;
  uint32_t id = 0;
  int lfd = h.listen_socket(8083, id);
  int result = 0;
  std::thread acceptor([&] { result = h.stack->accept(lfd, nullptr, nullptr, 0); });
  h.wait_app_sleeping();
  CHECK(h.stack->shutdown(lfd, SHUT_RDWR) == 0);
  acceptor.join();
  CHECK(result == -EINVAL);
  CHECK(h.channel().of_kind(Kind::kUnlisten).size() == 1);
  h.stack->close(lfd);
}

TEST_CASE("shim_bind_reports_daemon_eaddrinuse_and_unbinds_on_close", "[shim][listen]") {
  Harness h;
  h.channel().handler = [](const abi::AppRequest& r, abi::AppResponse& resp) {
    if (r.kind != static_cast<uint32_t>(Kind::kBind) || r.port != 22) return false;
    resp.error = EADDRINUSE;
    return true;
  };
  int fd = h.stack->socket(SOCK_STREAM);
  auto a = Harness::addr(0, 22);
  CHECK(h.stack->bind(fd, sa(a), sizeof a) == -EADDRINUSE);
  a = Harness::addr(0, 0);
  CHECK(h.stack->bind(fd, sa(a), sizeof a) == 0);
  CHECK(h.stack->bind(fd, sa(a), sizeof a) == -EINVAL);  // already bound
  struct sockaddr_in me = {};
  socklen_t len = sizeof me;
  h.stack->getsockname(fd, sa(me), &len);
  CHECK(ntohs(me.sin_port) == 41000);  // the ephemeral port the daemon chose
  h.stack->close(fd);
  auto un = h.channel().of_kind(Kind::kUnbind);
  REQUIRE(un.size() == 1);
  CHECK(un[0].port == 41000);
}

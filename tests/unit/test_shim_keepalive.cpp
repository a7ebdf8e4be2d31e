// Shim core: SO_KEEPALIVE and TCP_KEEP* reach the slow path as kKeepalive once the socket has a flow.
#include <catch2/catch.hpp>
#include <netinet/tcp.h>

#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

namespace {
int set_int(Harness& h, int fd, int level, int name, int v) { return h.stack->setsockopt(fd, level, name, &v, sizeof v); }
}  // namespace

TEST_CASE("shim_keepalive_on_connected_socket_sends_kkeepalive_with_slot_and_values", "[shim][keepalive]") {
  Harness h;
  int fd = h.connect_socket(3, 7);
  REQUIRE(fd >= 0);
  CHECK(set_int(h, fd, IPPROTO_TCP, TCP_KEEPIDLE, 5) == 0);
  CHECK(h.channel().of_kind(abi::AppRequestKind::kKeepalive).empty());  // not switched on yet
  CHECK(set_int(h, fd, SOL_SOCKET, SO_KEEPALIVE, 1) == 0);
  auto reqs = h.channel().of_kind(abi::AppRequestKind::kKeepalive);
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].slot == 3);
  CHECK(reqs[0].gen == 7);
  CHECK(reqs[0].keep_enabled == 1);
  CHECK(reqs[0].keep_idle_s == 5);
  CHECK(reqs[0].keep_intvl_s == 0);  // unset: the stack's configured default
  CHECK(reqs[0].keep_cnt == 0);
  CHECK(set_int(h, fd, IPPROTO_TCP, TCP_KEEPCNT, 4) == 0);
  reqs = h.channel().of_kind(abi::AppRequestKind::kKeepalive);
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].keep_cnt == 4);
  CHECK(set_int(h, fd, SOL_SOCKET, SO_KEEPALIVE, 0) == 0);
  reqs = h.channel().of_kind(abi::AppRequestKind::kKeepalive);
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[2].keep_enabled == 0);
  h.stack->close(fd);
}

TEST_CASE("shim_keepalive_set_before_connect_is_sent_once_connected", "[shim][keepalive]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  CHECK(set_int(h, fd, SOL_SOCKET, SO_KEEPALIVE, 1) == 0);
  CHECK(set_int(h, fd, IPPROTO_TCP, TCP_KEEPINTVL, 2) == 0);
  CHECK(h.channel().of_kind(abi::AppRequestKind::kKeepalive).empty());  // no flow yet
  struct sockaddr_in a = Harness::addr(0x0a000002, 7);
  auto* sa = reinterpret_cast<struct sockaddr*>(&a);
  REQUIRE(h.stack->connect(fd, sa, sizeof a) == -EINPROGRESS);
  h.daemon.connected(h.channel().of_kind(abi::AppRequestKind::kConnect).back().id, 2, 5);
  REQUIRE(h.stack->connect(fd, sa, sizeof a) == 0);
  auto reqs = h.channel().of_kind(abi::AppRequestKind::kKeepalive);
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].slot == 2);
  CHECK(reqs[0].gen == 5);
  CHECK(reqs[0].keep_enabled == 1);
  CHECK(reqs[0].keep_intvl_s == 2);
  h.stack->close(fd);
}

TEST_CASE("shim_connection_without_keepalive_sends_no_kkeepalive", "[shim][keepalive]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  REQUIRE(fd >= 0);
  CHECK(set_int(h, fd, IPPROTO_TCP, TCP_KEEPIDLE, 9) == 0);
  CHECK(h.channel().of_kind(abi::AppRequestKind::kKeepalive).empty());
  h.stack->close(fd);
}

TEST_CASE("shim_accepted_socket_inherits_the_listeners_keepalive", "[shim][keepalive]") {
  Harness h;
  uint32_t id = 0;
  int lfd = h.listen_socket(8080, id);
  REQUIRE(lfd >= 0);
  CHECK(set_int(h, lfd, SOL_SOCKET, SO_KEEPALIVE, 1) == 0);
  CHECK(set_int(h, lfd, IPPROTO_TCP, TCP_KEEPIDLE, 30) == 0);
  CHECK(h.channel().of_kind(abi::AppRequestKind::kKeepalive).empty());  // a listener has no flow
  h.daemon.accepted(id, 4, 9);
  int c = h.stack->accept(lfd, nullptr, nullptr, 0);
  REQUIRE(c >= 0);
  auto reqs = h.channel().of_kind(abi::AppRequestKind::kKeepalive);
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].slot == 4);
  CHECK(reqs[0].gen == 9);
  CHECK(reqs[0].keep_idle_s == 30);
  int v = 0;
  socklen_t len = sizeof v;
  CHECK(h.stack->getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, &len) == 0);
  CHECK(v == 1);
  h.stack->close(c);
  h.stack->close(lfd);
}

TEST_CASE("shim_keepalive_values_never_set_read_back_as_linux_defaults", "[shim][keepalive]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM);
  int v = 0;
  socklen_t len = sizeof v;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len) == 0);
  CHECK(v == 7200);
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &len) == 0);
  CHECK(v == 75);
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &len) == 0);
  CHECK(v == 9);
  CHECK(set_int(h, fd, IPPROTO_TCP, TCP_KEEPCNT, 0) == -EINVAL);
  h.stack->close(fd);
}

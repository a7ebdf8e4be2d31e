// Shim core around fork(): the hold link asked for before fork, the child passing it to its own
// context (kInherit), joining an inherited listener, giving back what it closes unused
// (kDropHold), the parent's shared closes, and the count of sockets left to adopt.
#include <catch2/catch.hpp>
#include <errno.h>
#include <fcntl.h>

#include "test_support/fork_harness.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

TEST_CASE("shim_fork_child_joins_the_inherited_listener_passing_its_hold", "[shim][fork]") {
  ForkHarness h;
  uint32_t parent_id = 0;
  int fd = h.listener(8080, parent_id);
  REQUIRE(fd >= 0);
  REQUIRE(h.stack->fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);  // nothing for an exec to keep
  h.fork_child();
  REQUIRE(h.parent().of_kind(abi::AppRequestKind::kForkHold).size() == 1);
  int hold = h.hold_fd();
  REQUIRE(hold >= 0);
  CHECK(h.fd_open(hold));  // the child keeps the hold link until it registers
  CHECK((fcntl(hold, F_GETFD) & FD_CLOEXEC) != 0);
  size_t parent_requests = h.parent().requests.size();
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);  // joined, nothing queued yet
  CHECK(h.parent().requests.size() == parent_requests);  // never the parent's link
  auto inherit = h.child().of_kind(abi::AppRequestKind::kInherit);
  REQUIRE(inherit.size() == 1);
  REQUIRE(h.child().passed_fds.size() == 1);
  CHECK(h.child().passed_fds[0] == hold);
  CHECK_FALSE(h.fd_open(hold));  // passed on: the context holds the references now
  auto share = h.child().of_kind(abi::AppRequestKind::kShareListener);
  REQUIRE(share.size() == 1);
  CHECK(share[0].id == parent_id);
  CHECK(inherit[0].seq < share[0].seq);
  uint32_t own_id = 500 + share[0].seq;
  h.child_daemon.accepted(own_id, 3, 9);
  int c = h.stack->accept(fd, nullptr, nullptr, 0);
  CHECK(c >= 0);
  CHECK(h.child().of_kind(abi::AppRequestKind::kAcceptAck).size() == 1);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);  // used again: no second join
  CHECK(h.child().of_kind(abi::AppRequestKind::kShareListener).size() == 1);
  h.stack->close(c);
  h.stack->close(fd);
  CHECK(h.child().of_kind(abi::AppRequestKind::kUnlisten).size() == 1);
  CHECK(h.hold_links->requests.empty());
}

TEST_CASE("shim_fork_without_daemon_state_asks_for_no_hold", "[shim][fork]") {
  ForkHarness h;
  int fd = h.stack->socket(SOCK_STREAM);  // fresh: nothing of it in the daemon
  REQUIRE(fd >= 0);
  h.fork_child();
  CHECK(h.parent().of_kind(abi::AppRequestKind::kForkHold).empty());
  struct sockaddr_in a = Harness::addr(0, 9000);
  CHECK(h.stack->bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0);  // own context
  CHECK(h.child().of_kind(abi::AppRequestKind::kInherit).empty());
  CHECK(h.child().of_kind(abi::AppRequestKind::kBind).size() == 1);
  CHECK(h.stack->sockets_to_adopt() == 0);
}

TEST_CASE("shim_fork_parent_closes_its_copy_of_the_hold_and_closes_connections_shared",
          "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(fd >= 0);
  h.fork_parent();
  REQUIRE(h.parent().of_kind(abi::AppRequestKind::kForkHold).size() == 1);
  CHECK_FALSE(h.fd_open(h.hold_fd()));  // only the child keeps it
  h.parent_daemon.deliver(1, "unread");  // a lone owner would answer this close with a reset
  h.parent_daemon.take_cmds();
  CHECK(h.stack->close(fd) == 0);
  auto closes = h.parent().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == abi::kCloseShared);
  CHECK(closes[0].slot == 1);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kAbort).empty());
  for (const abi::AppCmd& c : h.parent_daemon.take_cmds()) {
    CHECK(c.kind != static_cast<uint16_t>(abi::AppCmdKind::kTxFin));  // the daemon decides
  }
}

TEST_CASE("shim_fork_parent_shutdown_write_still_queues_the_fin", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  h.fork_parent();
  h.parent_daemon.take_cmds();
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  auto cmds = h.parent_daemon.take_cmds();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  h.stack->close(fd);
  REQUIRE(h.parent().of_kind(abi::AppRequestKind::kClose).size() == 1);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClose)[0].flags == abi::kCloseShared);
}

TEST_CASE("shim_fork_unforked_connection_closes_with_its_own_fin", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  h.parent_daemon.take_cmds();
  CHECK(h.stack->close(fd) == 0);
  auto cmds = h.parent_daemon.take_cmds();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  REQUIRE(h.parent().of_kind(abi::AppRequestKind::kClose).size() == 1);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClose)[0].flags == 0);
}

TEST_CASE("shim_fork_child_closing_unused_sockets_drops_them_on_the_hold_link", "[shim][fork]") {
  ForkHarness h;
  uint32_t lid = 0;
  int lfd = h.listener(8082, lid);
  int cfd = h.connected(2, 5);
  h.fork_child();
  size_t parent_requests = h.parent().requests.size();
  CHECK(h.stack->close(cfd) == 0);
  CHECK(h.stack->close(lfd) == 0);
  auto drops = h.hold_links->of_kind(abi::AppRequestKind::kDropHold);
  REQUIRE(drops.size() == 2);
  CHECK(drops[0].id == 0);
  CHECK(drops[0].slot == abi::kClaimByTuple);  // it may have moved since the fork
  CHECK(drops[0].local_ip == 0x0a000001);
  CHECK(drops[0].local_port == 50000);
  CHECK(drops[0].ip == 0x0a000002);
  CHECK(drops[0].port == 7);
  CHECK(drops[1].id == lid);
  CHECK(h.attaches == 1);  // nothing made the child register
  CHECK(h.parent().requests.size() == parent_requests);
  CHECK(h.parent_daemon.take_cmds().empty());
  CHECK(h.stack->sockets_to_adopt() == 0);
}

TEST_CASE("shim_fork_child_after_registering_drops_on_its_own_link", "[shim][fork]") {
  ForkHarness h;
  int used = h.connected(1, 1);
  int unused = h.connected(2, 3);
  h.fork_child();
  char b;
  struct iovec iov = {&b, 1};
  CHECK(h.stack->recv(used, &iov, 1, 0) == -EAGAIN);  // registers and claims
  CHECK(h.stack->close(unused) == 0);
  auto drops = h.child().of_kind(abi::AppRequestKind::kDropHold);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].slot == abi::kClaimByTuple);
  CHECK(drops[0].port == 7);
  CHECK(h.hold_links->requests.empty());
}

TEST_CASE("shim_fork_child_gives_back_connections_queued_for_the_parent", "[shim][fork]") {
  ForkHarness h;
  uint32_t lid = 0;
  int lfd = h.listener(8083, lid);
  h.parent_daemon.accepted(lid, 4, 2);  // announced, never accepted by the parent
  h.fork_child();
  CHECK(h.stack->close(lfd) == 0);
  auto drops = h.hold_links->of_kind(abi::AppRequestKind::kDropHold);
  REQUIRE(drops.size() == 2);
  CHECK(drops[0].ctx == 1);
  CHECK(drops[0].slot == 4);
  CHECK(drops[0].gen == 2);
  CHECK(drops[1].id == lid);
}

TEST_CASE("shim_fork_grandchild_before_registering_asks_the_hold_link", "[shim][fork]") {
  ForkHarness h;
  uint32_t lid = 0;
  int lfd = h.listener(8084, lid);
  h.fork_child();
  int first = h.hold_fd();
  h.fork_child();  // the child forks again before it used anything
  CHECK(h.parent().of_kind(abi::AppRequestKind::kForkHold).size() == 1);
  REQUIRE(h.hold_links->of_kind(abi::AppRequestKind::kForkHold).size() == 1);
  CHECK_FALSE(h.fd_open(first));  // the child's reference, not the grandchild's
  REQUIRE(h.hold_links->handed_fds.size() == 1);
  int second = h.hold_links->handed_fds[0];
  CHECK(h.fd_open(second));
  CHECK(h.stack->accept(lfd, nullptr, nullptr, 0) == -EAGAIN);
  REQUIRE(h.child().passed_fds.size() == 1);
  CHECK(h.child().passed_fds[0] == second);
  REQUIRE(h.child().of_kind(abi::AppRequestKind::kShareListener).size() == 1);
  CHECK(h.child().of_kind(abi::AppRequestKind::kShareListener)[0].id == lid);
}

TEST_CASE("shim_fork_refused_hold_leaves_inherited_sockets_unusable", "[shim][fork]") {
  ForkHarness h;
  uint32_t lid = 0;
  int lfd = h.listener(8085, lid);
  int cfd = h.connected(1, 1);
  h.parent().handler = [](const abi::AppRequest& req, abi::AppResponse& resp) {
    if (req.kind != static_cast<uint32_t>(abi::AppRequestKind::kForkHold)) return false;
    resp.error = ENOMEM;
    return true;
  };
  h.fork_child();
  CHECK(h.hold_fd() == -1);
  char b;
  struct iovec iov = {&b, 1};
  CHECK(h.stack->accept(lfd, nullptr, nullptr, 0) == -EBADF);
  CHECK(h.stack->recv(cfd, &iov, 1, 0) == -EBADF);
  CHECK(h.child().of_kind(abi::AppRequestKind::kInherit).empty());
  CHECK(h.child().of_kind(abi::AppRequestKind::kClaim).empty());
  CHECK(h.child().of_kind(abi::AppRequestKind::kRegister).empty());  // nothing to register for
  CHECK(h.stack->sockets_to_adopt() == 0);  // both are hopeless: other calls skip the adoption path
  CHECK(h.stack->recv(cfd, &iov, 1, 0) == -EBADF);  // and they still say so
  h.stack->close(cfd);
  h.stack->close(lfd);
  CHECK(h.stack->sockets_to_adopt() == 0);
  CHECK(h.child().of_kind(abi::AppRequestKind::kDropHold).empty());  // nothing held
}

TEST_CASE("shim_fork_sockets_to_adopt_counts_down_to_zero", "[shim][fork]") {
  ForkHarness h;
  uint32_t lid = 0;
  int lfd = h.listener(8086, lid);
  int cfd = h.connected(1, 1);
  int dup_fd = h.stack->dup(cfd, 0, false);
  int fresh = h.stack->socket(SOCK_STREAM);
  CHECK(h.stack->sockets_to_adopt() == 0);
  h.fork_child();
  CHECK(h.stack->sockets_to_adopt() == 3);  // a dup()ed descriptor is the same socket
  CHECK(h.stack->accept(lfd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.stack->sockets_to_adopt() == 2);
  h.stack->close(cfd);
  CHECK(h.stack->sockets_to_adopt() == 2);  // dup_fd still names it
  h.stack->close(dup_fd);
  CHECK(h.stack->sockets_to_adopt() == 1);
  struct sockaddr_in a = Harness::addr(0, 9001);
  CHECK(h.stack->bind(fresh, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0);
  CHECK(h.stack->sockets_to_adopt() == 0);
  size_t n = h.child().requests.size();
  struct pollfd p = {lfd, POLLIN, 0};
  struct timespec zero = {0, 0};
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 0);
  CHECK(h.child().requests.size() == n);  // nothing left to adopt: no request, no lock
}

TEST_CASE("shim_fork_parent_says_kaccepting_once_when_it_accepts_after_forking", "[shim][fork]") {
  ForkHarness h;
  uint32_t id = 0;
  int fd = h.listener(8081, id);
  REQUIRE(fd >= 0);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kAccepting).empty());  // never forked
  h.fork_parent();
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  auto acc = h.parent().of_kind(abi::AppRequestKind::kAccepting);
  REQUIRE(acc.size() == 1);
  CHECK(acc[0].id == id);
  h.stack->close(fd);
}

// Shim core after fork(): the child's own context, joining an inherited listener, connections that
// stay the parent's, and the parent telling the daemon when it accepts.
#include <catch2/catch.hpp>
#include <errno.h>
#include <fcntl.h>

#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

namespace {

// A stack whose first attach is the parent's daemon context and every later one the child's:
// fork_prepare + fork_child on it stand for the state a fork() child starts from.
struct ForkHarness {
  ForkHarness() : k(libc_kernel_ops()) {
    child_daemon.ctx_id = 2;
    parent_ctx = parent_daemon.make_context(k);
    stack = std::make_unique<Stack>(k, StackConfig{0}, [this](const KernelOps&, std::shared_ptr<Context>& out) {
      out = attaches++ == 0 ? parent_ctx : child_daemon.make_context(k);
      return 0;
    });
  }
  int listener(uint16_t port, uint32_t& id) {
    int fd = stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
    struct sockaddr_in a = Harness::addr(0, port);
    if (stack->bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0) return -1;
    if (stack->listen(fd, 16) != 0) return -1;
    id = parent_daemon.channel->last_listen_id;
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

  FakeDaemon parent_daemon;
  FakeDaemon child_daemon;
  KernelOps k;
  std::shared_ptr<Context> parent_ctx;
  std::unique_ptr<Stack> stack;
  int attaches = 0;
};

}  // namespace

TEST_CASE("shim_fork_child_joins_the_inherited_listener_with_its_own_context", "[shim][fork]") {
  ForkHarness h;
  uint32_t parent_id = 0;
  int fd = h.listener(8080, parent_id);
  REQUIRE(fd >= 0);
  int region_fd = h.parent_ctx->region_fd();
  size_t parent_requests = h.parent_daemon.channel->requests.size();
  h.fork_child();
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);  // joined, nothing queued yet
  CHECK(h.parent_daemon.channel->requests.size() == parent_requests);  // never the parent's link
  auto inherit = h.child_daemon.channel->of_kind(abi::AppRequestKind::kInherit);
  REQUIRE(inherit.size() == 1);
  REQUIRE(h.child_daemon.channel->passed_fds.size() == 1);
  CHECK(h.child_daemon.channel->passed_fds[0] == region_fd);  // proof of descent: the parent's memfd
  auto share = h.child_daemon.channel->of_kind(abi::AppRequestKind::kShareListener);
  REQUIRE(share.size() == 1);
  CHECK(share[0].id == parent_id);
  uint32_t own_id = 500 + share[0].seq;
  // A connection for the child's own listener record arrives on the child's queues.
  h.child_daemon.prepare_slot(3, 9);
  h.child_daemon.accepted(own_id, 3, 9);
  int c = h.stack->accept(fd, nullptr, nullptr, 0);
  CHECK(c >= 0);
  CHECK(h.child_daemon.channel->of_kind(abi::AppRequestKind::kAcceptAck).size() == 1);
  // Used again: no second join.
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.child_daemon.channel->of_kind(abi::AppRequestKind::kShareListener).size() == 1);
  h.stack->close(c);
  h.stack->close(fd);
  CHECK(h.child_daemon.channel->of_kind(abi::AppRequestKind::kUnlisten).size() == 1);
}

TEST_CASE("shim_fork_inherited_connection_stays_the_parents", "[shim][fork]") {
  ForkHarness h;
  h.parent_daemon.prepare_slot(1, 1);
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  struct sockaddr_in a = Harness::addr(0x0a000002, 7);
  REQUIRE(h.stack->connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == -EINPROGRESS);
  h.parent_daemon.connected(h.parent_daemon.channel->of_kind(abi::AppRequestKind::kConnect).back().id, 1, 1);
  REQUIRE(h.stack->connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0);
  size_t parent_requests = h.parent_daemon.channel->requests.size();
  h.fork_child();
  char b = 'x';
  struct iovec iov = {&b, 1};
  CHECK(h.stack->send(fd, &iov, 1, 0) == -EOPNOTSUPP);
  CHECK(h.stack->recv(fd, &iov, 1, 0) == -EOPNOTSUPP);
  CHECK(h.stack->close(fd) == 0);  // harmless: nothing reaches the parent's queues or link
  CHECK(h.parent_daemon.channel->requests.size() == parent_requests);
  CHECK(h.parent_daemon.take_cmds().empty());
  CHECK(h.attaches == 1);  // nothing made the child attach
}

TEST_CASE("shim_fork_parent_says_kaccepting_once_when_it_accepts_after_forking", "[shim][fork]") {
  ForkHarness h;
  uint32_t id = 0;
  int fd = h.listener(8081, id);
  REQUIRE(fd >= 0);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.parent_daemon.channel->of_kind(abi::AppRequestKind::kAccepting).empty());  // never forked
  h.fork_parent();
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  auto acc = h.parent_daemon.channel->of_kind(abi::AppRequestKind::kAccepting);
  REQUIRE(acc.size() == 1);
  CHECK(acc[0].id == id);
  h.stack->close(fd);
}

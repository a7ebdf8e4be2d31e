// Shim core: a connection inherited through fork() claimed by the child (kClaim): nothing to read
// or write while the claim waits, then the parent's ring positions in the child's own slot after
// kAdopted; a claim that fails; shutdown and close while it waits.
#include <catch2/catch.hpp>
#include <errno.h>

#include <string>
#include <thread>

#include "test_support/fork_harness.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

namespace {

constexpr struct timespec kZero = {0, 0};

abi::AppRequest the_claim(ForkHarness& h) {
  auto claims = h.child().of_kind(abi::AppRequestKind::kClaim);
  REQUIRE(claims.size() == 1);
  return claims[0];
}

}  // namespace

TEST_CASE("shim_fork_claim_waits_then_reads_the_parents_bytes_in_the_new_slot", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(fd >= 0);
  h.fork_child();
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == -EAGAIN);  // claimed, not ours yet
  abi::AppRequest claim = the_claim(h);
  // By its addresses: the parent's slot may be gone by now (a sibling took the connection).
  CHECK(claim.slot == abi::kClaimByTuple);
  CHECK(claim.local_ip == 0x0a000001);
  CHECK(claim.local_port == 50000);
  CHECK(claim.ip == 0x0a000002);
  CHECK(claim.port == 7);
  CHECK(claim.id != 0);
  CHECK(send_str(*h.stack, fd, "x") == -EAGAIN);
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 0);
  CHECK(p.revents == 0);
  // The daemon moved it: rings copied, positions preserved (the parent had read up to 1000).
  h.child_daemon.prepare_slot(5, 7, 1000);
  h.child_daemon.deliver(5, "hello");
  h.child_daemon.adopted(claim.id, 5, 7);
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 1);
  CHECK(p.revents == (POLLIN | POLLOUT));
  CHECK(recv_str(*h.stack, fd, got) == 5);
  CHECK(got == "hello");
  CHECK(h.child_daemon.slot(5).rx_tail == 1005);
  CHECK(send_str(*h.stack, fd, "abc") == 3);
  CHECK(h.child_daemon.slot(5).tx_head == 1003);
  CHECK(h.child_daemon.take_tx(5) == "abc");
  bool bumped = false;
  for (const abi::AppCmd& c : h.child_daemon.take_cmds()) {
    bumped = bumped || (c.kind == static_cast<uint16_t>(abi::AppCmdKind::kTxBump) && c.slot == 5 && c.gen == 7);
    CHECK(c.kind != static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  }
  CHECK(bumped);
  CHECK(h.parent_daemon.take_cmds().empty());
  CHECK(h.stack->close(fd) == 0);
  auto closes = h.child().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == abi::kCloseShared);  // a sibling or the parent may still hold it
  CHECK(closes[0].slot == 5);
  CHECK(closes[0].gen == 7);
  for (const abi::AppCmd& c : h.child_daemon.take_cmds()) {
    CHECK(c.kind != static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  }
}

TEST_CASE("shim_fork_blocking_recv_on_a_claimed_connection_wakes_on_kadopted", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(h.stack->fcntl(fd, F_SETFL, 0) == 0);
  h.fork_child();
  std::string got;
  ssize_t n = 0;
  std::thread reader([&] { n = recv_str(*h.stack, fd, got); });
  h.wait_child_sleeping();  // registered, claimed, asleep
  abi::AppRequest claim = the_claim(h);
  h.child_daemon.prepare_slot(2, 4, 77);
  h.child_daemon.deliver(2, "late");
  h.child_daemon.adopted(claim.id, 2, 4);
  reader.join();
  CHECK(n == 4);
  CHECK(got == "late");
}

TEST_CASE("shim_fork_claim_that_fails_in_kadopted_reports_its_error", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  h.fork_child();
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == -EAGAIN);
  h.child_daemon.adopted(the_claim(h).id, 0, 0, ECONNRESET);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 1);
  CHECK((p.revents & POLLERR) != 0);
  CHECK(recv_str(*h.stack, fd, got) == -ECONNRESET);
  CHECK(recv_str(*h.stack, fd, got) == 0);  // then the end of the stream
  CHECK(send_str(*h.stack, fd, "x") == -EPIPE);
  CHECK(h.stack->close(fd) == 0);
  CHECK(h.child().of_kind(abi::AppRequestKind::kClose).empty());
  CHECK(h.child().of_kind(abi::AppRequestKind::kDropHold).empty());
}

TEST_CASE("shim_fork_claim_refused_in_the_answer_reports_its_error", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  h.fork_child();
  h.child().handler = [](const abi::AppRequest& req, abi::AppResponse& resp) {
    if (req.kind != static_cast<uint32_t>(abi::AppRequestKind::kClaim)) return false;
    resp.error = EBADF;
    return true;
  };
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == -EBADF);
  CHECK(recv_str(*h.stack, fd, got) == 0);
  // A late kAdopted for that cookie finds nobody: nothing is closed in its name.
  h.child_daemon.adopted(the_claim(h).id, 3, 3);
  CHECK(recv_str(*h.stack, fd, got) == 0);
  CHECK(h.stack->close(fd) == 0);
}

TEST_CASE("shim_fork_shutdown_while_claiming_queues_the_fin_once_adopted", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  h.fork_child();
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  CHECK(h.child_daemon.take_cmds().empty());  // no slot of ours yet
  h.child_daemon.prepare_slot(6, 2);
  h.child_daemon.adopted(the_claim(h).id, 6, 2);
  CHECK(send_str(*h.stack, fd, "x") == -EPIPE);  // drains kAdopted first
  auto cmds = h.child_daemon.take_cmds();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  CHECK(cmds[0].slot == 6);
  CHECK(cmds[0].gen == 2);
}

TEST_CASE("shim_fork_close_while_claiming_closes_shared_once_adopted", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  int other = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  h.fork_child();
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == -EAGAIN);
  uint32_t cookie = the_claim(h).id;
  CHECK(h.stack->close(fd) == 0);
  CHECK(h.child().of_kind(abi::AppRequestKind::kClose).empty());
  CHECK(h.child().of_kind(abi::AppRequestKind::kDropHold).empty());  // the claim took the reference
  h.child_daemon.prepare_slot(4, 8);
  h.child_daemon.adopted(cookie, 4, 8);
  struct pollfd p = {other, POLLOUT, 0};
  h.stack->poll(&p, 1, &kZero, nullptr);  // any call drains the queue
  auto closes = h.child().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == abi::kCloseShared);
  CHECK(closes[0].slot == 4);
  CHECK(closes[0].gen == 8);
}

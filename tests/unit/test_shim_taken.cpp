// Shim core: connections taken from a process that forked (FlowSlot::app_busy, CtlEvent kTaken).
// A shared connection's slot is busy only while a call works on it; one found taken (or announced
// taken) is claimed back by its addresses and arrives with its positions preserved; closes mark
// the slot taken first (kCloseShared) or give the reference back by addresses (kDropHold); sockets
// that never crossed fork() never touch the busy word.
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

uint32_t busy_word(ForkHarness& h, uint32_t slot) {
  return shm::load_acquire(h.parent_daemon.slot(slot).app_busy);
}

// The one kClaim the parent's context sent, checked to name ForkHarness::connected's addresses.
abi::AppRequest claim_by_addresses(ForkHarness& h) {
  auto claims = h.parent().of_kind(abi::AppRequestKind::kClaim);
  REQUIRE(claims.size() == 1);
  const abi::AppRequest& c = claims[0];
  CHECK(c.slot == abi::kClaimByTuple);
  CHECK(c.local_ip == 0x0a000001);
  CHECK(c.local_port == 50000);
  CHECK(c.ip == 0x0a000002);
  CHECK(c.port == 7);
  CHECK(c.id != 0);
  return c;
}

void check_dropped_by_addresses(ForkHarness& h) {
  auto drops = h.parent().of_kind(abi::AppRequestKind::kDropHold);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].id == 0);
  CHECK(drops[0].slot == abi::kClaimByTuple);
  CHECK(drops[0].local_ip == 0x0a000001);
  CHECK(drops[0].local_port == 50000);
  CHECK(drops[0].ip == 0x0a000002);
  CHECK(drops[0].port == 7);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClose).empty());
}

}  // namespace

TEST_CASE("shim_taken_forked_socket_is_busy_only_inside_calls", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1, 300);
  REQUIRE(fd >= 0);
  h.fork_parent();
  CHECK(send_str(*h.stack, fd, "ping") == 4);
  CHECK(busy_word(h, 1) == 0);
  CHECK(h.parent_daemon.take_tx(1) == "ping");
  h.parent_daemon.deliver(1, "pong");
  std::string got;
  CHECK(recv_str(*h.stack, fd, got, 64, MSG_PEEK) == 4);
  CHECK(busy_word(h, 1) == 0);
  CHECK(recv_str(*h.stack, fd, got) == 4);
  CHECK(got == "pong");
  CHECK(busy_word(h, 1) == 0);
  CHECK(h.parent_daemon.slot(1).rx_tail == 304);
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  CHECK(busy_word(h, 1) == 0);
  // Idle between calls: the daemon can take it.
  CHECK(h.parent_daemon.take(1, 1));
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClaim).empty());
}

TEST_CASE("shim_taken_socket_that_never_crossed_fork_ignores_the_busy_word", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(2, 5);
  REQUIRE(fd >= 0);
  // Whatever the word says (it is nobody's business for a socket only this process has), the
  // calls go ahead and leave it alone.
  h.parent_daemon.slot(2).app_busy = abi::kSlotTaken;
  CHECK(send_str(*h.stack, fd, "abc") == 3);
  CHECK(h.parent_daemon.take_tx(2) == "abc");
  h.parent_daemon.deliver(2, "xyz");
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == 3);
  CHECK(got == "xyz");
  CHECK(h.stack->close(fd) == 0);
  CHECK(busy_word(h, 2) == abi::kSlotTaken);
  auto closes = h.parent().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == 0);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClaim).empty());
}

TEST_CASE("shim_taken_slot_found_taken_turns_recv_into_a_claim_by_addresses", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1, 1000);
  REQUIRE(fd >= 0);
  h.fork_parent();
  h.parent_daemon.deliver(1, "old");  // in the slot when it was taken: moves with the flow
  h.parent_daemon.slot(1).app_busy = abi::kSlotTaken;  // taken; kTaken not read yet
  std::string got;
  CHECK(recv_str(*h.stack, fd, got) == -EAGAIN);  // non-blocking: claimed, not ours yet
  CHECK(h.parent_daemon.slot(1).rx_tail == 1000);  // nothing was read from the taken slot
  abi::AppRequest claim = claim_by_addresses(h);
  CHECK(send_str(*h.stack, fd, "x") == -EAGAIN);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClaim).size() == 1);  // one claim
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 0);
  // The kTaken that follows names a slot the socket already let go of.
  uint64_t stale = h.parent_ctx->counters().stale_events;
  abi::CtlEvent taken{};
  taken.kind = static_cast<uint16_t>(abi::CtlEventKind::kTaken);
  taken.slot = 1;
  taken.gen = 1;
  h.parent_daemon.push_ctl(taken);
  CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 0);
  CHECK(h.parent_ctx->counters().stale_events == stale + 1);
  // Back in a new slot of ours, positions preserved: the unread bytes and new ones.
  h.parent_daemon.prepare_slot(5, 3, 1000);
  h.parent_daemon.deliver(5, "old");
  h.parent_daemon.deliver(5, "new");
  h.parent_daemon.adopted(claim.id, 5, 3);
  CHECK(recv_str(*h.stack, fd, got) == 6);
  CHECK(got == "oldnew");
  CHECK(h.parent_daemon.slot(5).rx_tail == 1006);
  CHECK(busy_word(h, 5) == 0);
  CHECK(send_str(*h.stack, fd, "more") == 4);
  CHECK(h.parent_daemon.take_tx(5) == "more");
  CHECK(busy_word(h, 5) == 0);
}

TEST_CASE("shim_taken_event_makes_the_next_call_claim_back", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1, 50);
  REQUIRE(fd >= 0);
  h.fork_parent();
  REQUIRE(h.parent_daemon.take(1, 1));
  std::string got;
  CHECK(send_str(*h.stack, fd, "hi") == -EAGAIN);
  CHECK(h.parent_daemon.slot(1).tx_head == 50);  // the taken slot was left alone
  abi::AppRequest claim = claim_by_addresses(h);
  CHECK(h.parent_ctx->counters().stale_events == 0);  // kTaken named our socket
  h.parent_daemon.prepare_slot(3, 9, 50);
  h.parent_daemon.adopted(claim.id, 3, 9);
  CHECK(send_str(*h.stack, fd, "hi") == 2);
  CHECK(h.parent_daemon.take_tx(3) == "hi");
  CHECK(h.parent_daemon.slot(3).tx_head == 52);
}

TEST_CASE("shim_taken_while_a_blocking_recv_sleeps_it_claims_and_completes", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1, 70);
  REQUIRE(fd >= 0);
  REQUIRE(h.stack->fcntl(fd, F_SETFL, 0) == 0);
  h.fork_parent();
  std::string got;
  ssize_t n = 0;
  std::thread reader([&] { n = recv_str(*h.stack, fd, got); });
  while (shm::load_acquire(h.parent_daemon.header().app_sleeping) == 0) __builtin_ia32_pause();
  // Asleep: not working on the slot, so the take succeeds; the sleeper wakes and claims it.
  REQUIRE(h.parent_daemon.take(1, 1));
  for (;;) {
    std::lock_guard<std::mutex> lk(h.parent().mu);
    bool claimed = false;
    for (const auto& r : h.parent().requests) {
      claimed = claimed || r.kind == static_cast<uint32_t>(abi::AppRequestKind::kClaim);
    }
    if (claimed) break;
  }
  abi::AppRequest claim = claim_by_addresses(h);
  h.parent_daemon.prepare_slot(6, 2, 70);
  h.parent_daemon.deliver(6, "late");
  h.parent_daemon.adopted(claim.id, 6, 2);
  reader.join();
  CHECK(n == 4);
  CHECK(got == "late");
  CHECK(h.parent_daemon.slot(6).rx_tail == 74);
}

TEST_CASE("shim_taken_shutdown_of_a_taken_socket_sends_its_fin_once_back", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(fd >= 0);
  h.fork_parent();
  h.parent_daemon.take_cmds();
  h.parent_daemon.slot(1).app_busy = abi::kSlotTaken;
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  CHECK(h.parent_daemon.take_cmds().empty());  // no kTxFin for the slot it lost
  abi::AppRequest claim = claim_by_addresses(h);
  h.parent_daemon.prepare_slot(4, 4);
  h.parent_daemon.adopted(claim.id, 4, 4);
  CHECK(send_str(*h.stack, fd, "x") == -EPIPE);  // drains kAdopted first
  auto cmds = h.parent_daemon.take_cmds();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  CHECK(cmds[0].slot == 4);
  CHECK(cmds[0].gen == 4);
  CHECK(busy_word(h, 4) == 0);
}

TEST_CASE("shim_taken_close_of_a_forked_socket_marks_it_taken_then_closes_shared", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(fd >= 0);
  h.fork_parent();
  CHECK(h.stack->close(fd) == 0);
  CHECK(busy_word(h, 1) == abi::kSlotTaken);  // no claim can take it while kClose travels
  CHECK_FALSE(h.parent_daemon.take(1, 1));
  auto closes = h.parent().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == abi::kCloseShared);
  CHECK(closes[0].slot == 1);
  CHECK(closes[0].gen == 1);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kDropHold).empty());
}

TEST_CASE("shim_taken_close_of_a_taken_socket_drops_its_reference_by_addresses", "[shim][fork]") {
  ForkHarness h;
  int fd = h.connected(1, 1);
  REQUIRE(fd >= 0);
  h.fork_parent();
  SECTION("found taken by the close itself") {
    h.parent_daemon.slot(1).app_busy = abi::kSlotTaken;
    CHECK(h.stack->close(fd) == 0);
  }
  SECTION("told by kTaken") {
    REQUIRE(h.parent_daemon.take(1, 1));
    struct pollfd p = {fd, POLLIN, 0};
    // Readable, so that the app's next call claims it back; it closes it instead.
    CHECK(h.stack->poll(&p, 1, &kZero, nullptr) == 1);
    CHECK(h.stack->close(fd) == 0);
  }
  check_dropped_by_addresses(h);
  CHECK(h.parent().of_kind(abi::AppRequestKind::kClaim).empty());
  CHECK(h.stack->sockets_to_adopt() == 0);
}

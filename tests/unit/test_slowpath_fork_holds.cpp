// Slow path, connections across fork(): hold references, the last holder's close, claims and moves into the claimant.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

// A parent that accepted one connection on port 80, and a child context that inherited it.
struct Forked {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t flow = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint32_t hold = 0;

  Forked() {
    uint32_t l = h.listen(parent, 80);
    flow = h.accept_one(80, 40000);
    const abi::CtlEvent* acc = h.last_event(abi::CtlEventKind::kAccepted);
    slot = acc->slot;
    gen = acc->gen;
    abi::AppRequest ack{};
    ack.id = l;
    REQUIRE(h.request(parent, abi::AppRequestKind::kAcceptAck, ack).error == 0);
    REQUIRE(h.request(parent, abi::AppRequestKind::kUnlisten, ack).error == 0);  // only the connection is held
    hold = h.cp.fork_hold(parent);
    h.out.clear();
  }
  // Another child of the parent, registered with its own hold.
  uint16_t second_child() {
    uint16_t ctx = h.add_app();
    uint16_t origin = 0;
    REQUIRE(h.cp.inherit_hold(ctx, h.cp.fork_hold(parent), origin) == 0);
    return ctx;
  }
  void child_registers() {
    uint16_t origin = 0;
    REQUIRE(h.cp.inherit_hold(child, hold, origin) == 0);
    REQUIRE(origin == parent);
  }
  abi::AppResponse close(uint16_t ctx, uint32_t s, uint32_t g, bool shared = true, bool abort = false) {
    abi::AppRequest r{};
    r.slot = s;
    r.gen = g;
    r.flags = shared ? abi::kCloseShared : 0;
    return h.request(ctx, abort ? abi::AppRequestKind::kAbort : abi::AppRequestKind::kClose, r);
  }
  abi::AppResponse claim(uint16_t ctx, uint32_t cookie = 9) {
    abi::AppRequest r{};
    r.id = cookie;
    r.ctx = parent;
    r.slot = slot;
    r.gen = gen;
    return h.request(ctx, abi::AppRequestKind::kClaim, r);
  }
  // Plays the fast path's answer to the kRehome it was sent.
  void rehomed(int error = 0) {
    const abi::FpCommand* cmd = h.last_command(abi::FpCommandKind::kRehome);
    REQUIRE(cmd != nullptr);
    h.event(abi::FpEventKind::kRehomed, cmd->flow, error, cmd->ctx);
  }
  bool ended() const {
    return h.count_commands(abi::FpCommandKind::kFin) + h.count_commands(abi::FpCommandKind::kRemove) != 0;
  }
};

}  // namespace

TEST_CASE("Fork hold: parent closes its copy while the child holds it -> no FIN, no reset") {
  Forked f;
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  CHECK_FALSE(f.ended());
  CHECK(f.h.out.frames.empty());
  CHECK(f.h.cp.table_counts().held_refs == 1);
  CHECK(f.h.cp.table_counts().orphans == 0);  // held, not orphaned
}

TEST_CASE("Fork hold: child exits without using it after the parent closed -> FIN from the daemon") {
  Forked f;
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  f.h.cp.hold_link_gone(f.hold, f.h.now);
  const abi::FpCommand* fin = f.h.last_command(abi::FpCommandKind::kFin);
  REQUIRE(fin != nullptr);
  CHECK(fin->flow == f.flow);
  CHECK(f.h.cp.table_counts().held_refs == 0);
  CHECK(f.h.cp.table_counts().hold_links == 0);
}

TEST_CASE("Fork hold: child exits first, then the parent closes -> FIN on the parent's close") {
  Forked f;
  f.h.cp.hold_link_gone(f.hold, f.h.now);
  CHECK_FALSE(f.ended());
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
}

TEST_CASE("Fork hold: last holder lets go with unread bytes -> reset, as a last close() does") {
  Forked f;
  f.h.slot(f.parent, f.slot).rx_head = 10;  // ten bytes arrived that nobody read
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  f.h.cp.hold_link_gone(f.hold, f.h.now);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRemove) == 1);
  REQUIRE_FALSE(f.h.out.frames.empty());
  CHECK((f.h.out.frames.back().tcp().tcp.flags & wire::kTcpRst) != 0);
}

TEST_CASE("Fork hold: an unshared close (the app queued its own FIN) -> no daemon FIN") {
  Forked f;
  f.h.cp.hold_link_gone(f.hold, f.h.now);
  REQUIRE(f.close(f.parent, f.slot, f.gen, false).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 0);
}

TEST_CASE("Claim: parent closed first -> kRehome into a child slot, then kAdopted with the new slot") {
  Forked f;
  f.child_registers();
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  REQUIRE(f.claim(f.child, 9).error == 0);
  const abi::FpCommand* cmd = f.h.last_command(abi::FpCommandKind::kRehome);
  REQUIRE(cmd != nullptr);
  CHECK(cmd->flow == f.flow);
  CHECK(cmd->ctx == f.child);
  CHECK(cmd->gen == f.h.slot(f.child, cmd->slot).gen);
  f.rehomed();
  const abi::CtlEvent* ad = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(ad != nullptr);
  CHECK(f.h.out.events.back().first == f.child);
  CHECK(ad->id == 9);
  CHECK(ad->error == 0);
  CHECK(ad->slot == cmd->slot);
  CHECK(ad->gen == cmd->gen);
  CHECK(ad->remote_port == 40000);
  CHECK(f.h.cp.stats().flows_moved == 1);
  ControlPlane::TableCounts t = f.h.cp.table_counts();
  CHECK(t.slots_in_use == 1);  // the parent's slot was freed
  CHECK(t.held_refs == 0);
  CHECK(t.orphans == 0);
  // The child owns it now like any connection: its ordinary close ends it.
  REQUIRE(f.close(f.child, ad->slot, ad->gen, true).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
}

TEST_CASE("Claim: parent still holds it, working on it -> the move waits for the parent's close") {
  Forked f;
  f.child_registers();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotBusy;
  REQUIRE(f.claim(f.child).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 0);
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 1);
  CHECK_FALSE(f.ended());
}

TEST_CASE("Claim: parent still holds it, idle -> taken at once: kTaken to the parent, which keeps a reference") {
  Forked f;
  f.child_registers();
  REQUIRE(f.claim(f.child, 4).error == 0);
  CHECK(f.h.slot(f.parent, f.slot).app_busy == abi::kSlotTaken);
  REQUIRE(f.h.out.events.size() == 1);
  CHECK(f.h.out.events[0].first == f.parent);
  CHECK(f.h.out.events[0].second.kind == uint16_t(abi::CtlEventKind::kTaken));
  CHECK(f.h.out.events[0].second.slot == f.slot);
  f.rehomed();
  REQUIRE(f.h.last_event(abi::CtlEventKind::kAdopted) != nullptr);
  CHECK(f.h.cp.stats().flows_taken == 1);
  CHECK(f.h.cp.table_counts().held_refs == 1);  // the parent's
  CHECK_FALSE(f.ended());
}

TEST_CASE("Claim: parent busy at the claim -> taken on the first tick after it is done") {
  Forked f;
  f.child_registers();
  abi::FlowSlot& fs = f.h.slot(f.parent, f.slot);
  fs.app_busy = abi::kSlotBusy;
  REQUIRE(f.claim(f.child).error == 0);
  f.h.advance(30);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 0);
  fs.app_busy = 0;
  f.h.advance(10);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 1);
  CHECK(fs.app_busy == abi::kSlotTaken);
}

TEST_CASE("Claim: taken from the parent, then claimed back by the parent -> taken from the child in turn") {
  Forked f;
  f.child_registers();
  REQUIRE(f.claim(f.child, 4).error == 0);
  f.rehomed();
  const abi::CtlEvent ad = *f.h.last_event(abi::CtlEventKind::kAdopted);
  abi::AppRequest back{};
  back.id = 8;
  back.slot = abi::kClaimByTuple;
  back.local_ip = ad.local_ip;
  back.local_port = ad.local_port;
  back.ip = ad.remote_ip;
  back.port = ad.remote_port;
  f.h.out.clear();
  REQUIRE(f.h.request(f.parent, abi::AppRequestKind::kClaim, back).error == 0);
  const abi::FpCommand* cmd = f.h.last_command(abi::FpCommandKind::kRehome);
  REQUIRE(cmd != nullptr);
  CHECK(cmd->ctx == f.parent);
  CHECK(f.h.slot(f.child, ad.slot).app_busy == abi::kSlotTaken);
  f.rehomed();
  const abi::CtlEvent* again = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(again != nullptr);
  CHECK(again->id == 8);
  CHECK(f.h.cp.stats().flows_moved == 2);
}

TEST_CASE("Claim: parent exits while the child waits -> the connection moves to the child") {
  Forked f;
  f.child_registers();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotBusy;  // it died in the middle of a send
  REQUIRE(f.claim(f.child).error == 0);
  f.h.cp.app_disconnected(f.parent, f.h.now);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 1);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 0);  // not orphaned: no FIN
  f.rehomed();
  REQUIRE(f.h.last_event(abi::CtlEventKind::kAdopted) != nullptr);
  CHECK(f.h.last_event(abi::CtlEventKind::kAdopted)->error == 0);
  CHECK(f.h.cp.ctx_state(f.parent) == CtxState::kDetaching);  // its last slot moved away
}

TEST_CASE("Claim: a connection this context did not inherit -> EBADF") {
  Forked f;
  uint16_t stranger = f.h.add_app();
  CHECK(f.claim(stranger).error == EBADF);
  f.child_registers();
  REQUIRE(f.claim(f.child).error == 0);
  CHECK(f.claim(f.child).error == EBADF);  // the reference was used up
}

TEST_CASE("Claim: the fast path refuses the move -> kAdopted carries the error, the child slot is freed") {
  Forked f;
  f.child_registers();
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  REQUIRE(f.claim(f.child, 5).error == 0);
  f.rehomed(ENOENT);
  const abi::CtlEvent* ad = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(ad != nullptr);
  CHECK(ad->id == 5);
  CHECK(ad->error != 0);
  CHECK(f.h.cp.table_counts().slots_in_use == 1);  // only the parent's, where the flow still is
  CHECK(f.h.cp.stats().claims_failed == 1);
}

TEST_CASE("Claim: the connection fails while the claim waits -> kAdopted with that error") {
  Forked f;
  f.child_registers();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotBusy;
  REQUIRE(f.claim(f.child, 6).error == 0);
  f.h.event(abi::FpEventKind::kFlowError, f.flow, EPROTO);
  const abi::CtlEvent* ad = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(ad != nullptr);
  CHECK(ad->id == 6);
  CHECK(ad->error == EPROTO);
}

TEST_CASE("Drop hold: the child closes its unused copy after the parent did -> FIN") {
  Forked f;
  f.child_registers();
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  abi::AppRequest r{};
  r.ctx = f.parent;
  r.slot = f.slot;
  r.gen = f.gen;
  REQUIRE(f.h.request(f.child, abi::AppRequestKind::kDropHold, r).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
  CHECK(f.h.request(f.child, abi::AppRequestKind::kDropHold, r).error == EINVAL);  // once
}

TEST_CASE("Drop hold: on the hold link before the child registered -> same as on its context") {
  Forked f;
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  abi::AppRequest r{};
  r.kind = uint32_t(abi::AppRequestKind::kDropHold);
  r.ctx = f.parent;
  r.slot = f.slot;
  r.gen = f.gen;
  CHECK(f.h.cp.handle_hold_request(f.hold, r, f.h.now).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
  r.kind = uint32_t(abi::AppRequestKind::kListen);
  CHECK(f.h.cp.handle_hold_request(f.hold, r, f.h.now).error == EINVAL);  // only drops on a hold link
}

TEST_CASE("Fork hold: a grandchild's hold from the child's hold link -> the connection waits for both") {
  Forked f;
  uint32_t grand = f.h.cp.fork_hold_from_link(f.hold);
  REQUIRE(grand != 0);
  CHECK(f.h.cp.fork_hold_from_link(777) == 0);
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  f.h.cp.hold_link_gone(f.hold, f.h.now);
  CHECK_FALSE(f.ended());
  f.h.cp.hold_link_gone(grand, f.h.now);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
}

TEST_CASE("Claim: by addresses (a program exec'd with the socket) -> the same move as by slot") {
  Forked f;
  f.child_registers();
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  abi::AppRequest r{};
  r.id = 3;
  r.slot = abi::kClaimByTuple;
  r.local_ip = f.h.settings.local_ip;
  r.local_port = 80;
  r.ip = kPeerIp;
  r.port = 40000;
  abi::AppRequest wrong = r;
  wrong.port = 40001;
  CHECK(f.h.request(f.child, abi::AppRequestKind::kClaim, wrong).error == EBADF);
  REQUIRE(f.h.request(f.child, abi::AppRequestKind::kClaim, r).error == 0);
  f.rehomed();
  const abi::CtlEvent* ad = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(ad != nullptr);
  CHECK(ad->id == 3);
  CHECK(ad->error == 0);
}

TEST_CASE("Claim: a second process claims while the first claim waits -> its turn comes after the first's") {
  Forked f;
  f.child_registers();
  uint16_t sibling = f.second_child();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotBusy;
  REQUIRE(f.claim(f.child, 1).error == 0);
  REQUIRE(f.claim(sibling, 2).error == 0);  // queued
  f.h.slot(f.parent, f.slot).app_busy = 0;
  f.h.advance(10);
  const abi::FpCommand first = *f.h.last_command(abi::FpCommandKind::kRehome);
  CHECK(first.ctx == f.child);
  f.rehomed();  // the child has it; the sibling's turn: taken from the idle child
  const abi::FpCommand* second = f.h.last_command(abi::FpCommandKind::kRehome);
  REQUIRE(second != nullptr);
  CHECK(second->ctx == sibling);
  CHECK(f.h.slot(f.child, first.slot).app_busy == abi::kSlotTaken);
  f.rehomed();
  const abi::CtlEvent* ad = f.h.last_event(abi::CtlEventKind::kAdopted);
  REQUIRE(ad != nullptr);
  CHECK(ad->id == 2);
  CHECK(f.h.out.events.back().first == sibling);
  CHECK(f.h.cp.stats().flows_moved == 2);
}

TEST_CASE("Claim: queued claims when the connection fails -> each hears the error") {
  Forked f;
  f.child_registers();
  uint16_t sibling = f.second_child();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotBusy;
  REQUIRE(f.claim(f.child, 1).error == 0);
  REQUIRE(f.claim(sibling, 2).error == 0);
  f.h.out.clear();
  f.h.event(abi::FpEventKind::kFlowError, f.flow, EPROTO);
  int told = 0;
  for (const auto& [ctx, ev] : f.h.out.events)
    if (ev.kind == uint16_t(abi::CtlEventKind::kAdopted) && ev.error == EPROTO) ++told;
  CHECK(told == 2);
}

TEST_CASE("Drop hold: by addresses, from a parent the connection was taken from -> its reference goes") {
  Forked f;
  f.child_registers();
  REQUIRE(f.claim(f.child, 4).error == 0);  // taken from the idle parent
  f.rehomed();
  const abi::CtlEvent ad = *f.h.last_event(abi::CtlEventKind::kAdopted);
  abi::AppRequest r{};
  r.slot = abi::kClaimByTuple;
  r.local_ip = ad.local_ip;
  r.local_port = ad.local_port;
  r.ip = ad.remote_ip;
  r.port = ad.remote_port;
  REQUIRE(f.h.request(f.parent, abi::AppRequestKind::kDropHold, r).error == 0);
  CHECK(f.h.cp.table_counts().held_refs == 0);
  CHECK_FALSE(f.ended());  // the child still holds it
  REQUIRE(f.close(f.child, ad.slot, ad.gen).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kFin) == 1);
}

TEST_CASE("Claim: the owner is closing (it took its own slot) -> the move waits for its kClose") {
  Forked f;
  f.child_registers();
  f.h.slot(f.parent, f.slot).app_busy = abi::kSlotTaken;  // the parent's close() is on its way
  REQUIRE(f.claim(f.child).error == 0);
  f.h.advance(20);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 0);
  CHECK(f.h.cp.stats().flows_taken == 0);
  REQUIRE(f.close(f.parent, f.slot, f.gen).error == 0);
  CHECK(f.h.count_commands(abi::FpCommandKind::kRehome) == 1);
  CHECK(f.h.cp.table_counts().held_refs == 0);
}

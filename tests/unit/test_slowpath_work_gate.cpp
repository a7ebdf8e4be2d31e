// The slow path's work gate: punted frames of a tenant out of budget parked while another tenant
// with budget works, served in order afterwards (or on spare time), bounded; app requests admitted
// the same way.
#include <catch2/catch.hpp>

#include "core/work_gate.hpp"

using virtuoso::abi::PacketSlot;
using virtuoso::slowpath::WorkGate;

namespace {

// Host 100, tenant 1 100, tenant 2 100: a third of a 3 ms period each, 1 ms.
WorkGate gate_of(uint32_t backlog = 3, bool enforce = true) {
  uint32_t w[WorkGate::kAccounts] = {};
  w[0] = w[1] = w[2] = 100;
  WorkGate g;
  g.configure({enforce, 3'000'000, 1, backlog}, w);
  g.begin_round(0);
  return g;
}

PacketSlot slot(uint16_t tag) {
  PacketSlot s{};
  s.len = tag;
  return s;
}

}  // namespace

TEST_CASE("work gate: a tenant with budget goes at once, one without waits while another works") {
  WorkGate g = gate_of();
  g.done(1, 5'000'000);  // tenant 1 spent far past its budget
  g.begin_round(1);
  CHECK(g.admit_frame(2, slot(1)) == WorkGate::Admit::kNow);
  g.done(2, 1000);  // tenant 2 had budget: funded work this round
  CHECK(g.admit_frame(1, slot(2)) == WorkGate::Admit::kParked);
  CHECK(g.admit_frame(1, slot(3)) == WorkGate::Admit::kParked);
  CHECK_FALSE(g.admit_request(1));
  CHECK(g.counts(1).deferred_frames == 2);
  CHECK(g.counts(1).deferred_requests == 1);
  uint32_t acct = 99;
  PacketSlot out{};
  CHECK_FALSE(g.next_parked(acct, out));  // not while tenant 2 works
  // The next round nobody with budget has worked yet: spare time, parked frames in order.
  g.begin_round(2);
  REQUIRE(g.next_parked(acct, out));
  CHECK(acct == 1);
  CHECK(out.len == 2);
  REQUIRE(g.next_parked(acct, out));
  CHECK(out.len == 3);
  CHECK_FALSE(g.has_parked());
}

TEST_CASE("work gate: a tenant's parked frames are bounded, the rest dropped and counted") {
  WorkGate g = gate_of(2);
  g.done(1, 5'000'000);
  g.begin_round(1);
  g.done(2, 1000);
  CHECK(g.admit_frame(1, slot(1)) == WorkGate::Admit::kParked);
  CHECK(g.admit_frame(1, slot(2)) == WorkGate::Admit::kParked);
  CHECK(g.admit_frame(1, slot(3)) == WorkGate::Admit::kDropped);
  CHECK(g.counts(1).dropped_frames == 1);
  CHECK(g.parked(1) == 2);
}

TEST_CASE("work gate: once parked, a tenant's later frames queue behind, even with budget back") {
  WorkGate g = gate_of();
  g.done(1, 5'000'000);
  g.begin_round(1);
  g.done(2, 1000);
  CHECK(g.admit_frame(1, slot(1)) == WorkGate::Admit::kParked);
  g.begin_round(100'000'000);  // many periods: tenant 1 has budget again
  CHECK(g.budgets().funded(1));
  CHECK(g.admit_frame(1, slot(2)) == WorkGate::Admit::kParked);  // behind frame 1
  uint32_t acct = 0;
  PacketSlot out{};
  REQUIRE(g.next_parked(acct, out));
  CHECK(out.len == 1);
}

TEST_CASE("work gate: a lone tenant out of budget still runs (work-conserving), not enforcing, all run") {
  WorkGate g = gate_of();
  g.done(1, 5'000'000);
  g.begin_round(1);
  CHECK(g.admit_frame(1, slot(1)) == WorkGate::Admit::kNow);
  CHECK(g.admit_request(1));
  WorkGate off = gate_of(3, false);
  off.done(1, 5'000'000);
  off.begin_round(1);
  off.done(2, 1000);
  CHECK(off.admit_frame(1, slot(1)) == WorkGate::Admit::kNow);
  CHECK(off.admit_request(1));
}

TEST_CASE("work gate: work of an account with no weight is the host's") {
  WorkGate g = gate_of();
  CHECK(g.account(2) == 2);
  CHECK(g.account(7) == 0);
  CHECK(g.account(100000) == 0);
}

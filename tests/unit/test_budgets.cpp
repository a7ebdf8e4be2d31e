// Per-tenant CPU-time budgets as pure logic: shares by weight, refill, cap, floor, order; the
// bounded per-account backlog of parked frames; telling a frame's VNI at a glance.
#include <catch2/catch.hpp>
#include <vector>

#include "virtuoso/util/budgets.hpp"
#include "rx_backlog.hpp"
#include "virtuoso/wire/vxlan.hpp"

using virtuoso::util::Budgets;
using virtuoso::fastpath::Frame;
using virtuoso::fastpath::RxBacklog;
namespace wire = virtuoso::wire;

namespace {

// Host weight 100, tenant 1 100, tenant 2 200: shares of a 1000-cycle period 250, 250, 500.
Budgets three_accounts(uint32_t burst = 2, bool enforce = true) {
  uint32_t w[Budgets::kAccounts] = {};
  w[0] = 100;
  w[1] = 100;
  w[2] = 200;
  Budgets b;
  b.configure({enforce, 1000, burst}, w);
  b.refill(0);  // starts the clock
  return b;
}

}  // namespace

TEST_CASE("budgets: each account's share of a period follows its weight, and a new account starts full") {
  Budgets b = three_accounts();
  CHECK(b.share(0) == 250);
  CHECK(b.share(1) == 250);
  CHECK(b.share(2) == 500);
  CHECK(b.cap(2) == 1000);
  CHECK(b.budget(1) == 500);
  CHECK(b.share(3) == 0);  // no such tenant
  CHECK_FALSE(b.funded(3));
}

TEST_CASE("budgets: charging spends the budget, a refill per period brings it back, never past the cap") {
  Budgets b = three_accounts();
  b.charge(1, 800);
  CHECK(b.budget(1) == -300);
  CHECK_FALSE(b.funded(1));
  CHECK(b.funded(2));
  CHECK(b.refill(999) == 0);  // not a whole period yet
  CHECK(b.budget(1) == -300);
  CHECK(b.refill(1000) == 1);
  CHECK(b.budget(1) == -50);
  CHECK_FALSE(b.funded(1));
  CHECK(b.refill(2500) == 1);  // the half period left over counts towards the next refill
  CHECK(b.budget(1) == 200);
  CHECK(b.funded(1));
  CHECK(b.refill(3000) == 1);
  CHECK(b.budget(1) == 450);
  CHECK(b.refill(100'000) == 97);
  CHECK(b.budget(1) == 500);  // the cap: two periods' share
  CHECK(b.budget(2) == 1000);
}

TEST_CASE("budgets: an overdrawn account owes at most its cap, so it runs again within a few periods") {
  Budgets b = three_accounts();
  b.charge(1, 1'000'000);  // one long step of spare time
  CHECK(b.budget(1) == -500);
  CHECK(b.used(1) == 1'000'000);
  b.refill(1000);
  b.refill(2000);
  b.refill(3000);
  CHECK(b.budget(1) == 250);
  CHECK(b.funded(1));
}

TEST_CASE("budgets: cycles charged while out of budget are counted as spare time") {
  Budgets b = three_accounts();
  b.charge(1, 400);
  CHECK(b.spare(1) == 0);
  b.charge(1, 300);  // 100 left before: the whole step counts as within budget
  CHECK(b.spare(1) == 0);
  b.charge(1, 50);  // from -200
  CHECK(b.spare(1) == 50);
  CHECK(b.used(1) == 750);
}

TEST_CASE("budgets: an account with budget goes first, then the one that used least per weight") {
  Budgets b = three_accounts();
  CHECK_FALSE(b.ahead(1, 2));  // nothing used yet: a tie
  CHECK_FALSE(b.ahead(2, 1));
  b.charge(2, 600);  // 1000 -> 400 left, but it has used 3 cycles per weight unit
  CHECK(b.ahead(1, 2));
  b.charge(1, 900);  // -400: out of budget
  CHECK(b.ahead(2, 1));
  CHECK(b.ahead(0, 1));
}

TEST_CASE("budgets: accounts out of budget that keep having work share the core by weight") {
  Budgets b = three_accounts();
  b.charge(1, 100'000);
  b.charge(2, 200'000);  // the same use per weight unit so far
  REQUIRE_FALSE(b.funded(1));
  REQUIRE_FALSE(b.funded(2));
  uint64_t before1 = b.used(1), before2 = b.used(2);
  for (int i = 0; i < 3000; ++i) b.charge(b.ahead(1, 2) ? 1 : 2, 100);  // both always have work
  double share2 = double(b.used(2) - before2) / double(b.used(1) - before1 + b.used(2) - before2);
  CHECK(share2 == Approx(2.0 / 3.0).margin(0.02));
}

TEST_CASE("budgets: an account back from idle is at most a few periods behind the others") {
  Budgets b = three_accounts();
  for (uint64_t t = 1; t <= 100; ++t) {
    b.charge(2, 100'000);  // tenant 2 busy for 100 periods, tenant 1 idle
    b.refill(t * 1000);
  }
  // Tenant 1 now wins every choice, but only until it has used what the lag allows:
  // burst 2 * period 1000 / 400 total weight * its weight 100 = 500 cycles.
  int wins = 0;
  b.charge(1, 1'000'000);  // out of budget like tenant 2, so only virtual time decides
  for (int i = 0; i < 100 && b.ahead(1, 2); ++i, ++wins) b.charge(1, 10);
  CHECK(wins < 100);
}

TEST_CASE("budgets: not enforcing, every account may run and is still charged") {
  Budgets b = three_accounts(2, false);
  b.charge(1, 5000);
  CHECK(b.funded(1));
  CHECK(b.used(1) == 5000);
  CHECK_FALSE(b.enforcing());
}

TEST_CASE("budgets: new weights give new shares at once, and keep what an account had within its new cap") {
  Budgets b = three_accounts();
  b.charge(2, 200);  // 800 left
  uint32_t w[Budgets::kAccounts] = {};
  w[0] = 100;
  w[1] = 300;  // now 300 of 400 + 100: shares 200, 600, 200
  w[2] = 100;
  b.configure({true, 1000, 2}, w);
  CHECK(b.share(1) == 600);
  CHECK(b.share(2) == 200);
  CHECK(b.budget(2) == 400);  // clamped to its new cap
  CHECK(b.budget(1) == 500);  // kept
  b.refill(1000);
  CHECK(b.budget(1) == 1100);
}

TEST_CASE("rx backlog: frames come back in order, per account, and a full account refuses more") {
  RxBacklog q(4, 3);
  std::vector<uint8_t> bytes(10);
  auto frame = [&](int i) { return Frame{bytes.data() + i, uint16_t(i), nullptr}; };
  CHECK(q.waiting().empty());
  CHECK(q.push(1, frame(1)));
  CHECK(q.push(2, frame(5)));
  CHECK(q.push(1, frame(2)));
  CHECK(q.push(1, frame(3)));
  CHECK_FALSE(q.push(1, frame(4)));  // three per account
  CHECK(q.size(1) == 3);
  CHECK(q.total() == 4);
  CHECK(q.waiting().size() == 2);
  CHECK(q.pop(1).len == 1);
  CHECK(q.push(1, frame(4)));  // room again, and the ring wraps
  CHECK(q.pop(1).len == 2);
  CHECK(q.pop(1).len == 3);
  CHECK(q.pop(1).len == 4);
  CHECK(q.empty(1));
  REQUIRE(q.waiting().size() == 1);
  CHECK(q.waiting()[0] == 2);
  CHECK(q.pop(2).len == 5);
  CHECK(q.waiting().empty());
}

TEST_CASE("rx backlog: with no room at all, nothing is parked") {
  RxBacklog q(2, 0);
  CHECK_FALSE(q.push(1, Frame{}));
  CHECK(q.waiting().empty());
}

TEST_CASE("peek_vni: a VXLAN frame's VNI before any check, 0 for anything else") {
  std::vector<uint8_t> f(wire::kVxlanOverhead + 60);
  wire::VxlanOuter o{};
  o.src_ip = 0xc0000202;
  o.dst_ip = 0xc0000201;
  o.src_port = 50000;
  o.vni = 0xabcdef;
  f.resize(wire::build_vxlan_outer(f.data(), o, 60));
  CHECK(wire::peek_vni(f.data(), f.size()) == 0xabcdef);
  CHECK(wire::peek_vni(f.data(), wire::kVxlanOverhead - 1) == 0);  // cut before the VNI
  auto other_port = f;
  wire::store_be16(&other_port[wire::kEthHeaderLen + 20 + 2], 4790);
  CHECK(wire::peek_vni(other_port.data(), other_port.size()) == 0);
  auto fragment = f;
  wire::store_be16(&fragment[wire::kEthHeaderLen + 6], 0x0010);  // offset 128: no UDP header here
  CHECK(wire::peek_vni(fragment.data(), fragment.size()) == 0);
  auto no_i_flag = f;
  no_i_flag[wire::kEthHeaderLen + 28] = 0;
  CHECK(wire::peek_vni(no_i_flag.data(), no_i_flag.size()) == 0);
  auto tcp = f;
  tcp[wire::kEthHeaderLen + 9] = wire::kIpProtoTcp;
  CHECK(wire::peek_vni(tcp.data(), tcp.size()) == 0);
}

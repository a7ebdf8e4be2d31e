// Unit tests of the once-a-second watches: budgets (one line when an account runs out of budget, one
// when it is back) and drops (what grew in the last second, by reason).
#include <catch2/catch.hpp>

#include "core/budget_watch.hpp"
#include "core/drop_watch.hpp"

using virtuoso::abi::BudgetAccount;
using virtuoso::slowpath::BudgetWatch;

TEST_CASE("budget watch: the first sample is the baseline, over once, within once") {
  BudgetWatch w;
  BudgetAccount a[3] = {};
  a[1].deferred_rx = 500;  // counted before the watch began: not a change
  CHECK(w.sample(a, 3).empty());
  CHECK(w.sample(a, 3).empty());
  a[1].deferred_rx += 40;
  a[1].dropped_rx += 2;
  auto c = w.sample(a, 3);
  REQUIRE(c.size() == 1);
  CHECK(c[0].account == 1);
  CHECK(c[0].over);
  CHECK(c[0].held.deferred_rx == 40);
  CHECK(c[0].held.dropped_rx == 2);
  a[1].deferred_tx += 7;  // still held back: no new line
  CHECK(w.sample(a, 3).empty());
  auto back = w.sample(a, 3);  // nothing held back in this interval
  REQUIRE(back.size() == 1);
  CHECK(back[0].account == 1);
  CHECK_FALSE(back[0].over);
  CHECK(w.sample(a, 3).empty());
}

TEST_CASE("budget watch: accounts change independently, waiting app queues count too") {
  BudgetWatch w;
  BudgetAccount a[3] = {};
  w.sample(a, 3);
  a[0].deferred_apps = 3;
  a[2].deferred_tx = 1;
  auto c = w.sample(a, 3);
  REQUIRE(c.size() == 2);
  CHECK(c[0].account == 0);
  CHECK(c[0].held.deferred_apps == 3);
  CHECK(c[1].account == 2);
  CHECK(c[1].held.deferred_tx == 1);
}

TEST_CASE("budget watch: counters that went backwards (a new fast path) are no change") {
  BudgetWatch w;
  BudgetAccount a[2] = {};
  a[1].deferred_rx = 100;
  w.sample(a, 2);
  a[1].deferred_rx = 0;
  CHECK(w.sample(a, 2).empty());
}

TEST_CASE("drop watch: what grew since the last second, by name, the first sample is the baseline") {
  using virtuoso::slowpath::DropCounter;
  using virtuoso::slowpath::DropWatch;
  DropWatch w;
  std::vector<DropCounter> c = {{"fastpath.drop_bad_ip", 10}, {"slowpath.bad_frames", 2}};
  CHECK(w.sample(c).empty());
  CHECK(w.sample(c).empty());
  c[0].value = 1510;
  auto grew = w.sample(c);
  REQUIRE(grew.size() == 1);
  CHECK(grew[0].name == "fastpath.drop_bad_ip");
  CHECK(grew[0].value == 1500);
  c[1].value = 0;  // a counter that went backwards (restarted): no drop
  CHECK(w.sample(c).empty());
}

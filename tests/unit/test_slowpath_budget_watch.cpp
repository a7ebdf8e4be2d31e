// Unit tests of the budget watch: one change per account when it runs out of budget and when it
// is back within it, never a line per sample while its state holds.
#include <catch2/catch.hpp>

#include "core/budget_watch.hpp"

using virtuoso::abi::BudgetAccount;
using virtuoso::slowpath::BudgetWatch;

TEST_CASE("budget watch: the first sample is the baseline; over once, within once") {
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

TEST_CASE("budget watch: accounts change independently; waiting app queues count too") {
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

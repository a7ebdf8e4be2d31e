// Unit tests of virtuosod's restart budget: at most N restarts in any window, then none.
#include <catch2/catch.hpp>

#include "tools/restart_budget.hpp"

using virtuoso::tools::RestartBudget;
using namespace std::chrono_literals;

TEST_CASE("restart budget: N restarts within the window, the next refused, allowed again once one ages out") {
  RestartBudget b(3, 60s);
  RestartBudget::Clock::time_point t0{};
  CHECK(b.allow(t0));
  CHECK(b.allow(t0 + 10s));
  CHECK(b.allow(t0 + 20s));
  CHECK_FALSE(b.allow(t0 + 30s));  // a child that dies at once every time ends the daemon
  CHECK_FALSE(b.allow(t0 + 59s));
  CHECK(b.allow(t0 + 60s));        // the first has aged out
  CHECK_FALSE(b.allow(t0 + 61s));
}

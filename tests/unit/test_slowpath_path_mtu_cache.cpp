// Slow path, the per-destination path MTU cache: it only lowers, entries expire, it stays bounded.
#include <catch2/catch.hpp>

#include "slowpath/core/path_mtu_cache.hpp"

using virtuoso::slowpath::PathMtuCache;

TEST_CASE("path MTU cache: lowered per destination, never raised while the entry lives") {
  PathMtuCache c(1000, 8);
  CHECK_FALSE(c.mtu(1, 0));
  c.lower(1, 1400, 0);
  CHECK(c.mtu(1, 0) == 1400u);
  CHECK_FALSE(c.mtu(2, 0));
  c.lower(1, 1450, 10);
  CHECK(c.mtu(1, 10) == 1400u);
  c.lower(1, 1300, 20);
  CHECK(c.mtu(1, 20) == 1300u);
}

TEST_CASE("path MTU cache: an entry expires a period after the message that last lowered it") {
  PathMtuCache c(1000, 8);
  c.lower(1, 1400, 0);
  c.lower(1, 1300, 500);
  CHECK(c.mtu(1, 1499) == 1300u);
  CHECK_FALSE(c.mtu(1, 1500));
  c.lower(1, 1450, 1500);  // expired: the new value stands, larger or not
  CHECK(c.mtu(1, 1500) == 1450u);
}

TEST_CASE("path MTU cache: full -> an expired entry, else the one nearest expiry, makes room") {
  PathMtuCache c(1000, 3);
  c.lower(1, 1400, 0);
  c.lower(2, 1400, 100);
  c.lower(3, 1400, 200);
  c.lower(4, 1400, 300);
  CHECK(c.size() == 3);
  CHECK_FALSE(c.mtu(1, 300));
  CHECK(c.mtu(4, 300) == 1400u);
  c.lower(5, 1400, 1150);  // 2 expired at 1100
  CHECK(c.size() == 3);
  CHECK_FALSE(c.mtu(2, 1150));
  CHECK(c.mtu(3, 1150) == 1400u);
  CHECK(c.mtu(5, 1150) == 1400u);
}

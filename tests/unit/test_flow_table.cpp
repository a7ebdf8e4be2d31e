// The fast path's 4-tuple flow table: insert, find, erase under collisions.
#include <catch2/catch.hpp>

#include "flow_table.hpp"

using virtuoso::fastpath::FlowKey;
using virtuoso::fastpath::FlowTable;

TEST_CASE("flow table: insert then find -> the flow id; absent key -> kNone") {
  FlowTable t(8);
  CHECK(t.insert({1, 2, 3, 4}, 5));
  CHECK(t.find({1, 2, 3, 4}) == 5);
  CHECK(t.find({1, 2, 3, 5}) == FlowTable::kNone);
}

TEST_CASE("flow table: duplicate key or full table -> insert refused") {
  FlowTable t(2);
  CHECK(t.insert({1, 1, 1, 1}, 0));
  CHECK_FALSE(t.insert({1, 1, 1, 1}, 1));
  CHECK(t.insert({2, 2, 2, 2}, 1));
  CHECK_FALSE(t.insert({3, 3, 3, 3}, 2));
}

TEST_CASE("flow table: many inserts and erases in mixed order -> every remaining key still found") {
  const uint32_t n = 1000;
  FlowTable t(n);
  for (uint32_t i = 0; i < n; ++i) REQUIRE(t.insert({10, 20 + i % 7, uint16_t(i), 80}, i));
  for (uint32_t i = 0; i < n; i += 3) REQUIRE(t.erase({10, 20 + i % 7, uint16_t(i), 80}));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t want = (i % 3 == 0) ? FlowTable::kNone : i;
    REQUIRE(t.find({10, 20 + i % 7, uint16_t(i), 80}) == want);
  }
  CHECK_FALSE(t.erase({10, 20, 0, 80}));
  CHECK(t.size() == n - (n + 2) / 3);
}

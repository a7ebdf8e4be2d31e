// The fast path's flow table by VNI and 4-tuple: insert, find, erase under collisions.
#include <catch2/catch.hpp>

#include "flow_table.hpp"

using virtuoso::fastpath::FlowKey;
using virtuoso::fastpath::FlowTable;

TEST_CASE("flow table: insert then find -> the flow id, absent key -> kNone") {
  FlowTable t(8);
  CHECK(t.insert({0, 1, 2, 3, 4}, 5));
  CHECK(t.find({0, 1, 2, 3, 4}) == 5);
  CHECK(t.find({0, 1, 2, 3, 5}) == FlowTable::kNone);
}

TEST_CASE("flow table: duplicate key or full table -> insert refused") {
  FlowTable t(2);
  CHECK(t.insert({0, 1, 1, 1, 1}, 0));
  CHECK_FALSE(t.insert({0, 1, 1, 1, 1}, 1));
  CHECK(t.insert({0, 2, 2, 2, 2}, 1));
  CHECK_FALSE(t.insert({0, 3, 3, 3, 3}, 2));
}

TEST_CASE("flow table: many inserts and erases in mixed order -> every remaining key still found") {
  const uint32_t n = 1000;
  FlowTable t(n);
  for (uint32_t i = 0; i < n; ++i) REQUIRE(t.insert({0, 10, 20 + i % 7, uint16_t(i), 80}, i));
  for (uint32_t i = 0; i < n; i += 3) REQUIRE(t.erase({0, 10, 20 + i % 7, uint16_t(i), 80}));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t want = (i % 3 == 0) ? FlowTable::kNone : i;
    REQUIRE(t.find({0, 10, 20 + i % 7, uint16_t(i), 80}) == want);
  }
  CHECK_FALSE(t.erase({0, 10, 20, 0, 80}));
  CHECK(t.size() == n - (n + 2) / 3);
}

TEST_CASE("flow table: one 4-tuple under two VNIs -> two entries, each found and erased alone") {
  FlowTable t(8);
  CHECK(t.insert({0, 1, 2, 3, 4}, 0));   // the host's own network
  CHECK(t.insert({42, 1, 2, 3, 4}, 1));  // a tenant's, same inner addresses and ports
  CHECK(t.insert({43, 1, 2, 3, 4}, 2));  // another tenant's
  CHECK(t.find({0, 1, 2, 3, 4}) == 0);
  CHECK(t.find({42, 1, 2, 3, 4}) == 1);
  CHECK(t.find({43, 1, 2, 3, 4}) == 2);
  CHECK(t.find({44, 1, 2, 3, 4}) == FlowTable::kNone);
  CHECK(t.erase({42, 1, 2, 3, 4}));
  CHECK(t.find({42, 1, 2, 3, 4}) == FlowTable::kNone);
  CHECK(t.find({0, 1, 2, 3, 4}) == 0);
  CHECK(t.find({43, 1, 2, 3, 4}) == 2);
  CHECK(t.size() == 2);
}

TEST_CASE("flow table: 1000 VNIs share one 4-tuple, a third erased -> every remaining key found") {
  const uint32_t n = 1000;
  FlowTable t(n);
  for (uint32_t vni = 1; vni <= n; ++vni) REQUIRE(t.insert({vni, 7, 8, 9, 10}, vni - 1));
  for (uint32_t vni = 1; vni <= n; vni += 3) REQUIRE(t.erase({vni, 7, 8, 9, 10}));
  for (uint32_t vni = 1; vni <= n; ++vni) {
    uint32_t want = (vni % 3 == 1) ? FlowTable::kNone : vni - 1;
    REQUIRE(t.find({vni, 7, 8, 9, 10}) == want);
  }
  CHECK(t.find({0, 7, 8, 9, 10}) == FlowTable::kNone);
}

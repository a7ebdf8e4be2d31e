// Unit tests: TCP sequence-number comparison across the 2^32 wrap (RFC 9293 3.4).
#include <catch2/catch.hpp>

#include <cstdint>

#include "virtuoso/wire/seq.hpp"

using namespace virtuoso::wire;

// Usable in constant expressions (window checks in constexpr tables).
static_assert(seq_lt(0xffffffffu, 0u));
static_assert(seq_in(0u, 0xffffffffu, 1u));

TEST_CASE("seq: just before and just after the wrap -> the later one is greater") {
  CHECK(seq_lt(0xfffffff0u, 0x10u));
  CHECK(seq_gt(0x10u, 0xfffffff0u));
  CHECK(seq_le(0xffffffffu, 0u));
  CHECK(seq_ge(0u, 0xffffffffu));
  CHECK_FALSE(seq_lt(0x10u, 0xfffffff0u));
  CHECK_FALSE(seq_gt(0xfffffff0u, 0x10u));
}

TEST_CASE("seq: equal numbers -> le and ge true, lt and gt false") {
  for (uint32_t v : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    CHECK(seq_le(v, v));
    CHECK(seq_ge(v, v));
    CHECK_FALSE(seq_lt(v, v));
    CHECK_FALSE(seq_gt(v, v));
  }
}

TEST_CASE("seq: 2^31 - 1 apart, straddling the wrap -> ordered by distance, not by value") {
  const uint32_t a = 0xc0000000u;
  const uint32_t b = a + 0x7fffffffu;  // wraps to 0x3fffffff
  CHECK(b < a);                        // as plain integers
  CHECK(seq_lt(a, b));
  CHECK(seq_gt(b, a));
}

TEST_CASE("seq: 2^31 + 1 apart -> the order flips (the far one counts as behind)") {
  const uint32_t a = 100;
  const uint32_t b = a + 0x80000001u;
  CHECK(seq_gt(a, b));
  CHECK(seq_lt(b, a));
}

TEST_CASE("seq: half-open window spanning the wrap -> contains lo up to hi-1 only") {
  const uint32_t lo = 0xfffffffeu;
  const uint32_t hi = 2;
  CHECK(seq_in(0xfffffffeu, lo, hi));
  CHECK(seq_in(0xffffffffu, lo, hi));
  CHECK(seq_in(0u, lo, hi));
  CHECK(seq_in(1u, lo, hi));
  CHECK_FALSE(seq_in(2u, lo, hi));
  CHECK_FALSE(seq_in(0xfffffffdu, lo, hi));
}

TEST_CASE("seq: empty window lo == hi -> contains nothing") {
  CHECK_FALSE(seq_in(5u, 5u, 5u));
  CHECK_FALSE(seq_in(0xffffffffu, 0xffffffffu, 0xffffffffu));
}

TEST_CASE("seq: max and min across the wrap -> pick by sequence order") {
  CHECK(seq_max(0xfffffff0u, 0x10u) == 0x10u);
  CHECK(seq_min(0xfffffff0u, 0x10u) == 0xfffffff0u);
  CHECK(seq_max(7u, 7u) == 7u);
}

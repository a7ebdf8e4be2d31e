// The bounded range set behind out-of-order data and the SACK scoreboard, and the RFC 6298 estimator.
#include <catch2/catch.hpp>

#include "rtt_estimator.hpp"
#include "seq_ranges.hpp"

using virtuoso::fastpath::RttEstimator;
using virtuoso::fastpath::SeqRanges;

TEST_CASE("seq ranges: touching and overlapping ranges merge into one") {
  SeqRanges<4> r;
  REQUIRE(r.add(10, 20));
  REQUIRE(r.add(30, 40));
  REQUIRE(r.add(20, 30));
  REQUIRE(r.size() == 1);
  CHECK(r[0].start == 10);
  CHECK(r[0].end == 40);
  REQUIRE(r.add(5, 50));
  CHECK(r.size() == 1);
  CHECK(r.bytes() == 45);
}

TEST_CASE("seq ranges: full set -> a disjoint range refused, a merging one accepted") {
  SeqRanges<2> r;
  REQUIRE(r.add(10, 20));
  REQUIRE(r.add(30, 40));
  CHECK_FALSE(r.add(50, 60));
  CHECK(r.add(15, 35));
  CHECK(r.size() == 1);
}

TEST_CASE("seq ranges: trim below cuts the straddling range and drops older ones") {
  SeqRanges<4> r;
  r.add(10, 20);
  r.add(30, 40);
  r.trim_below(35);
  REQUIRE(r.size() == 1);
  CHECK(r[0].start == 35);
  CHECK(r.find(36) != nullptr);
  CHECK(r.find(34) == nullptr);
}

TEST_CASE("seq ranges: ranges across the 2^32 wrap keep their order") {
  SeqRanges<4> r;
  r.add(0xfffffff0u, 0xfffffffau);
  r.add(5, 10);
  r.add(0xfffffffau, 5);
  REQUIRE(r.size() == 1);
  CHECK(r[0].start == 0xfffffff0u);
  CHECK(r[0].end == 10);
  CHECK(r.highest_end() == 10);
}

TEST_CASE("rtt estimator: first sample then steady samples converge per RFC 6298") {
  RttEstimator e;
  CHECK_FALSE(e.has_sample());
  e.sample(1000);
  CHECK(e.srtt_us() == 1000);
  CHECK(e.rttvar_us() == 500);
  for (int i = 0; i < 100; ++i) e.sample(2000);
  CHECK(e.srtt_us() > 1990);
  CHECK(e.rttvar_us() < 50);
  CHECK(e.rto_us() == e.srtt_us() + RttEstimator::kGranularityUs);
}

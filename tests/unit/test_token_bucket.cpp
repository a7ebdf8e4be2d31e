// util::TokenBucket: a burst at once, then the rate, never more than the burst saved up.
#include <catch2/catch.hpp>

#include "virtuoso/util/token_bucket.hpp"

using virtuoso::util::TokenBucket;

namespace {
int takes(TokenBucket& b, uint64_t now_us, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += b.take(now_us) ? 1 : 0;
  return n;
}
}  // namespace

TEST_CASE("token bucket: full at start, then refills at its rate") {
  TokenBucket b(1000, 50);
  CHECK(takes(b, 5, 100) == 50);
  CHECK(takes(b, 5 + 999, 5) == 0);   // 0.999 of a token
  CHECK(takes(b, 5 + 1000, 5) == 1);  // 1 ms: one token
  CHECK(takes(b, 5 + 21000, 100) == 20);
}

TEST_CASE("token bucket: an idle hour saves no more than the burst") {
  TokenBucket b(1000, 50);
  CHECK(takes(b, 0, 50) == 50);
  CHECK(takes(b, 3'600'000'000ull, 1000) == 50);
}

TEST_CASE("token bucket: rate 0 gives the burst once, then nothing") {
  TokenBucket b(0, 3);
  CHECK(takes(b, 0, 10) == 3);
  CHECK(takes(b, 1'000'000, 10) == 0);
}

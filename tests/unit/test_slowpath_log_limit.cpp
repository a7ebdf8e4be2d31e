// Slow path, rate-limited log lines: a burst, then a steady rate, and the count of those held back.
#include <catch2/catch.hpp>

#include "core/log_limit.hpp"

using virtuoso::slowpath::LogKind;
using virtuoso::slowpath::LogLimit;

TEST_CASE("log limit: a burst of lines, then ten a second, the next line written says how many were held") {
  LogLimit l;
  uint64_t held = 0;
  int written = 0;
  for (int i = 0; i < 1000; ++i) written += l.allow(LogKind::kRefusal, 1000, held) ? 1 : 0;  // all at once
  CHECK(written == int(LogLimit::kBurst));
  CHECK(l.suppressed(LogKind::kRefusal) == 1000 - LogLimit::kBurst);
  REQUIRE(l.allow(LogKind::kRefusal, 1100, held));  // 100 ms later: one more token
  CHECK(held == 1000 - LogLimit::kBurst);
  CHECK(l.suppressed(LogKind::kRefusal) == 0);
  CHECK_FALSE(l.allow(LogKind::kRefusal, 1100, held));
  // A flood of 10 s at 1000 lines a second writes about 10 a second.
  written = 0;
  for (int ms = 1101; ms < 11'101; ++ms) written += l.allow(LogKind::kRefusal, ms, held) ? 1 : 0;
  CHECK(written >= 99);
  CHECK(written <= 101);
}

TEST_CASE("log limit: kinds have their own budgets") {
  LogLimit l;
  uint64_t held = 0;
  for (int i = 0; i < 100; ++i) l.allow(LogKind::kRefusal, 0, held);
  CHECK(l.allow(LogKind::kFault, 0, held));
  CHECK(held == 0);
}

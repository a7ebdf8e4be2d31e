// The fast path's TSC time: an estimated rate 0.6% off is corrected at the re-anchors, so that
// intervals measured by it match the reference clock's; and it never goes backwards.
#include <catch2/catch.hpp>

#include <cstdint>

#include "tsc_timeline.hpp"

using virtuoso::fastpath::TscTimeline;

namespace {
// A counter that truly runs at 2.6156 GHz (0.6% faster than EAL estimated), read every 7 us.
constexpr double kTrueHz = 2.6e9 * 1.006;
uint64_t tsc_at(uint64_t ref_us) { return uint64_t(double(ref_us) * kTrueHz / 1e6); }
}  // namespace

TEST_CASE("TSC time: a misestimated rate is corrected at the re-anchors, time never goes back") {
  uint64_t ref = 1'000'000;
  TscTimeline line(2'600'000'000, tsc_at(ref), ref);
  uint64_t last = 0;
  bool went_back = false;
  auto step = [&](uint64_t us) {
    uint64_t end = ref + us;
    for (; ref < end; ref += 7) {
      uint64_t t = line.now_us(tsc_at(ref), [&] { return ref; });
      went_back = went_back || t < last;
      last = t;
    }
  };
  // Before any correction a 5 ms interval reads 30 us long, as the delay line's did.
  uint64_t a = line.now_us(tsc_at(ref), [&] { return ref; });
  step(5'000);
  uint64_t b = line.now_us(tsc_at(ref), [&] { return ref; });
  CHECK(b - a >= 5'025);
  step(3'000'000);  // thirty re-anchors
  a = line.now_us(tsc_at(ref), [&] { return ref; });
  step(5'000);
  b = line.now_us(tsc_at(ref), [&] { return ref; });
  CHECK(b - a >= 4'995);
  CHECK(b - a <= 5'005);
  CHECK(line.us_per_tick() == Approx(1e6 / kTrueHz).epsilon(1e-4));
  CHECK_FALSE(went_back);
}

TEST_CASE("TSC time: a reference reading that jumps (a preempted re-anchor) moves the rate by a "
          "quarter at most, within 5% of the estimate") {
  uint64_t ref = 1'000'000;
  TscTimeline line(2'600'000'000, tsc_at(ref), ref);
  double before = line.us_per_tick();
  uint64_t tsc = tsc_at(ref) + 260'000'000;  // 100 ms of ticks at the estimate
  line.now_us(tsc, [&] { return ref + 200'000; });  // but the reference says 200 ms
  CHECK(line.us_per_tick() <= before * 1.05 / 4 + before * 3 / 4 + 1e-12);
  CHECK(line.us_per_tick() > before);
}

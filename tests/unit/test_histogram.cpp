// Unit tests: the benchmarks' log-bucketed latency histogram (bucket math, percentiles, error bound),
// and the echo benchmark's one-way stream check (what echo-server --sink --verify-pattern relies on).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "common/histogram.hpp"
#include "echo/one_way.hpp"

using virtuoso::bench::LogHistogram;
using virtuoso::bench::OneWayVerifier;

namespace {

// Exact percentile with the histogram's rank rule: the ceil(p% * n)-th smallest value.
uint64_t exact_percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = std::max<size_t>(1, size_t(std::ceil(p / 100.0 * double(v.size()))));
  return v[rank - 1];
}

constexpr double kBound = 1.0 / double(2 * LogHistogram::kSubCount);

}  // namespace

TEST_CASE("histogram: empty -> zero count, zero percentiles, zero mean") {
  LogHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(50) == 0);
  CHECK(h.percentile(100) == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
}

TEST_CASE("histogram: values below 2*kSubCount -> one exact bucket each") {
  for (uint64_t v = 0; v < 2 * LogHistogram::kSubCount; ++v) {
    size_t b = LogHistogram::bucket_of(v);
    CHECK(LogHistogram::bucket_low(b) == v);
    CHECK(LogHistogram::bucket_high(b) == v);
  }
}

TEST_CASE("histogram: bucket ranges -> contiguous, increasing, covering all 64-bit values") {
  for (size_t b = 1; b < LogHistogram::kBuckets; ++b) {
    INFO("bucket " << b);
    REQUIRE(LogHistogram::bucket_low(b) == LogHistogram::bucket_high(b - 1) + 1);
    REQUIRE(LogHistogram::bucket_of(LogHistogram::bucket_low(b)) == b);
    REQUIRE(LogHistogram::bucket_of(LogHistogram::bucket_high(b)) == b);
  }
  CHECK(LogHistogram::bucket_of(0) == 0);
  CHECK(LogHistogram::bucket_of(std::numeric_limits<uint64_t>::max()) == LogHistogram::kBuckets - 1);
  CHECK(LogHistogram::bucket_high(LogHistogram::kBuckets - 1) == std::numeric_limits<uint64_t>::max());
}

TEST_CASE("histogram: every bucket -> width at most 1/kSubCount of its lower bound") {
  for (size_t b = 2 * LogHistogram::kSubCount; b < LogHistogram::kBuckets; ++b) {
    uint64_t lo = LogHistogram::bucket_low(b);
    uint64_t width = LogHistogram::bucket_high(b) - lo + 1;
    REQUIRE(width * LogHistogram::kSubCount <= lo);
  }
}

TEST_CASE("histogram: single value -> every percentile, min and max equal it exactly") {
  LogHistogram h;
  h.record(123456789);
  for (double p : {0.0, 50.0, 99.99, 100.0}) CHECK(h.percentile(p) == 123456789);
  CHECK(h.min() == 123456789);
  CHECK(h.max() == 123456789);
}

TEST_CASE("histogram: log-normal latencies -> percentiles within the stated relative error") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(20000.0), 1.0);  // ~20 us median, long tail
  std::vector<uint64_t> values;
  LogHistogram h;
  for (int i = 0; i < 200000; ++i) {
    uint64_t v = uint64_t(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    double exact = double(exact_percentile(values, p));
    double got = double(h.percentile(p));
    INFO("p" << p << " exact " << exact << " got " << got);
    CHECK(std::abs(got - exact) <= exact * kBound + 0.5);
  }
  CHECK(h.percentile(100) == *std::max_element(values.begin(), values.end()));
  CHECK(h.max() == h.percentile(100));
}

TEST_CASE("histogram: mass at a bucket's lower edge -> reported within half a bucket width") {
  const uint64_t edge = LogHistogram::bucket_low(LogHistogram::bucket_of(1'000'000));
  LogHistogram h;
  // Smaller and larger values around it, so min/max clamping cannot hide the bucket error.
  for (int i = 0; i < 10; ++i) h.record(1), h.record(1'000'000'000);
  for (int i = 0; i < 1000; ++i) h.record(edge);
  double got = double(h.percentile(50));
  CHECK(std::abs(got - double(edge)) <= double(edge) * kBound);
}

TEST_CASE("histogram: 1..100 recorded -> p50 is 50, p99 is 99, p100 is 100, mean 50.5") {
  LogHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  CHECK(h.percentile(50) == 50);
  CHECK(h.percentile(99) == 99);
  CHECK(h.percentile(100) == 100);
  CHECK(h.mean() == Approx(50.5));
}

TEST_CASE("histogram: two halves merged -> same percentiles as one histogram of everything") {
  LogHistogram a, b, all;
  for (uint64_t v = 1; v < 50000; v += 7) {
    (v % 2 ? a : b).record(v * 13);
    all.record(v * 13);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  for (double p : {10.0, 50.0, 99.0, 99.9}) CHECK(a.percentile(p) == all.percentile(p));
}

TEST_CASE("histogram: largest 64-bit value -> recorded without overflow, reported as the max") {
  LogHistogram h;
  h.record(std::numeric_limits<uint64_t>::max());
  h.record(1);
  CHECK(h.percentile(100) == std::numeric_limits<uint64_t>::max());
  CHECK(h.percentile(50) == 1);
}

TEST_CASE("histogram: reset -> empty again") {
  LogHistogram h;
  h.record(5);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.percentile(99) == 0);
}

namespace {

// Bytes [off, off + len) of the one-way stream, as echo-client --one-way sends them.
std::vector<uint8_t> one_way_bytes(uint64_t off, size_t len) {
  std::vector<uint8_t> v(len);
  virtuoso::bench::fill_pattern(virtuoso::bench::kOneWaySeed, off, v.data(), len);
  return v;
}

// Feeds `data` in pieces of the given sizes, cycling through them.
void feed_in_pieces(OneWayVerifier& v, const std::vector<uint8_t>& data, std::vector<size_t> pieces) {
  std::vector<uint8_t> scratch(data.size());
  size_t at = 0;
  for (size_t i = 0; at < data.size(); ++i) {
    size_t n = std::min(pieces[i % pieces.size()], data.size() - at);
    v.feed(data.data() + at, n, scratch.data());
    at += n;
  }
}

}  // namespace

TEST_CASE("one-way pattern: first bytes -> the documented splitmix64 words, the same for every sender") {
  // Pinned so that other senders (scripts, other tools) built from the README keep matching.
  const std::vector<uint8_t> want = {0xfb, 0xed, 0x1d, 0xc0, 0xe3, 0xef, 0x07, 0x2d, 0x1b, 0xc3, 0x29, 0x3a};
  CHECK(one_way_bytes(0, want.size()) == want);
  CHECK(one_way_bytes(1'000'000, 3) == std::vector<uint8_t>{0xd1, 0x67, 0x72});
}

TEST_CASE("one-way verifier: the stream in uneven pieces -> no mismatch, every byte counted") {
  auto data = one_way_bytes(0, 100'000);
  OneWayVerifier v;
  feed_in_pieces(v, data, {1, 7, 8, 13, 4096, 3});
  CHECK(v.bytes() == data.size());
  CHECK(v.mismatched() == 0);
}

TEST_CASE("one-way verifier: one flipped byte inside a piece -> one mismatch at its stream offset") {
  auto data = one_way_bytes(0, 50'000);
  data[40'001] ^= 0x01;
  OneWayVerifier v;
  feed_in_pieces(v, data, {4096, 5});
  CHECK(v.mismatched() == 1);
  CHECK(v.first_mismatch() == 40'001);
}

TEST_CASE("one-way verifier: a stream from a later offset -> mismatches from byte 0") {
  auto shifted = one_way_bytes(8, 1000);  // what a sender that skipped one word would send
  OneWayVerifier v;
  feed_in_pieces(v, shifted, {333});
  CHECK(v.mismatched() > 900);
  CHECK(v.first_mismatch() == 0);
}

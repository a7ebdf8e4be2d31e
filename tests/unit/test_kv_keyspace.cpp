// Unit tests: kv client key names, key-derived values and the Zipf key sampler.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kv/core/keyspace.hpp"
#include "kv/core/zipf.hpp"

using namespace virtuoso::kv;

TEST_CASE("kv keys: fixed width, zero padded, distinct") {
  const KeySpace keys(1000, 8);
  CHECK(keys.key(0) == "k0000000");
  CHECK(keys.key(999) == "k0000999");
  CHECK(KeySpace::min_key_size(1000) == 4);  // "k999"
  CHECK(KeySpace::min_key_size(1001) == 5);
  CHECK(KeySpace::min_key_size(1) == 2);
}

TEST_CASE("kv values: same key -> same bytes, other key, size or one flipped byte -> mismatch") {
  const ValuePattern pattern(100);
  std::string a(100, '\0'), b(100, '\0');
  pattern.fill(7, a.data());
  pattern.fill(7, b.data());
  CHECK(a == b);
  CHECK(pattern.matches(7, a));
  CHECK_FALSE(pattern.matches(8, a));
  CHECK_FALSE(pattern.matches(7, a.substr(0, 99)));
  a[50] ^= 1;
  CHECK_FALSE(pattern.matches(7, a));
  const ValuePattern other(100 + 1);
  std::string c(101, '\0');
  other.fill(7, c.data());
  CHECK(c.substr(0, 100) != b);
}

TEST_CASE("kv values: printable and self-matching for sizes 0 to 64 KiB") {
  for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 4096u, 65536u}) {
    const ValuePattern pattern(size);
    for (uint64_t k = 0; k < 50; ++k) {
      std::string v(size, '\0');
      pattern.fill(k, v.data());
      const bool printable = std::all_of(v.begin(), v.end(), [](char ch) {
        return std::isprint(static_cast<unsigned char>(ch)) != 0;
      });
      INFO("size " << size << " key " << k);
      CHECK(printable);
      CHECK(pattern.matches(k, v));
    }
  }
}

TEST_CASE("kv values: 16 bytes or more -> every key's value distinct") {
  for (std::size_t size : {16u, 100u, 4096u}) {
    const ValuePattern pattern(size);
    std::set<std::string> seen;
    for (uint64_t k = 0; k < 1000; ++k) {
      std::string v(size, '\0');
      pattern.fill(k, v.data());
      seen.insert(v);
    }
    CHECK(seen.size() == 1000);
  }
}

namespace {

std::vector<uint64_t> sample(uint64_t n, double s, int draws) {
  ZipfGenerator zipf(n, s);
  std::mt19937_64 rng(12345);
  std::vector<uint64_t> counts(n, 0);
  int out_of_range = 0;
  for (int i = 0; i < draws; ++i) {
    const uint64_t k = zipf.next(rng);
    if (k < n) {
      ++counts[k];
    } else {
      ++out_of_range;
    }
  }
  CHECK(out_of_range == 0);
  return counts;
}

double expected_share(uint64_t n, double s, uint64_t rank) {
  double norm = 0;
  for (uint64_t i = 1; i <= n; ++i) norm += std::pow(static_cast<double>(i), -s);
  return std::pow(static_cast<double>(rank + 1), -s) / norm;
}

}  // namespace

TEST_CASE("kv zipf: s = 0.99 over 1000 keys -> head ranks within 3% of the exact law") {
  const int draws = 1'000'000;
  const auto counts = sample(1000, 0.99, draws);
  for (uint64_t rank : {0u, 1u, 2u, 9u}) {
    const double want = expected_share(1000, 0.99, rank);
    const double got = static_cast<double>(counts[rank]) / draws;
    INFO("rank " << rank << " got " << got << " want " << want);
    CHECK(std::abs(got - want) / want < 0.03);
  }
}

TEST_CASE("kv zipf: exponents 1.0 and 1.5 -> still matching the exact law at rank 0") {
  for (double s : {1.0, 1.5}) {
    const int draws = 400'000;
    const auto counts = sample(100, s, draws);
    const double want = expected_share(100, s, 0);
    const double got = static_cast<double>(counts[0]) / draws;
    INFO("s " << s << " got " << got << " want " << want);
    CHECK(std::abs(got - want) / want < 0.03);
  }
}

TEST_CASE("kv zipf: a single key -> always rank 0") {
  const auto counts = sample(1, 0.99, 1000);
  CHECK(counts[0] == 1000);
}

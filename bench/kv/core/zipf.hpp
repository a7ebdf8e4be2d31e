// Zipf-distributed key ranks in O(1) per sample, for any exponent s > 0 and any key count.
#pragma once

#include <cstdint>
#include <random>

namespace virtuoso::kv {

// Rejection-inversion sampling (Hörmann and Derflinger, "Rejection-inversion to generate
// variates from monotone discrete distributions", 1996): no table of n probabilities, so a
// key space of billions costs nothing to set up.
class ZipfGenerator {
 public:
  ZipfGenerator(uint64_t n, double s);

  // A rank in [0, n): 0 is the most popular, with probability proportional to 1/(rank+1)^s.
  uint64_t next(std::mt19937_64& rng) const;

 private:
  double h(double x) const;           // the density x^-s
  double h_integral(double x) const;  // its antiderivative, zero at x = 1
  double h_integral_inverse(double y) const;

  uint64_t n_;
  double s_;
  double h_integral_x1_;
  double h_integral_n_;
  double threshold_;
};

}  // namespace virtuoso::kv

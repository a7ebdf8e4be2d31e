// Zipf sampler by rejection-inversion; the helpers keep precision as s approaches 1.
#include "kv/core/zipf.hpp"

#include <algorithm>
#include <cmath>

namespace virtuoso::kv {
namespace {

// log1p(x)/x, continuous at 0.
double log1p_over_x(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x / 2.0;
}

// expm1(x)/x, continuous at 0.
double expm1_over_x(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1.0 + x / 2.0;
}

}  // namespace

ZipfGenerator::ZipfGenerator(uint64_t n, double s) : n_(std::max<uint64_t>(n, 1)), s_(s) {
  h_integral_x1_ = h_integral(1.5) - 1.0;
  h_integral_n_ = h_integral(static_cast<double>(n_) + 0.5);
  threshold_ = 2.0 - h_integral_inverse(h_integral(2.5) - h(2.0));
}

double ZipfGenerator::h(double x) const {
  return std::exp(-s_ * std::log(x));
}

double ZipfGenerator::h_integral(double x) const {
  const double log_x = std::log(x);
  return expm1_over_x((1.0 - s_) * log_x) * log_x;
}

double ZipfGenerator::h_integral_inverse(double y) const {
  double t = y * (1.0 - s_);
  if (t < -1.0) t = -1.0;  // rounding can push it just past the pole
  return std::exp(log1p_over_x(t) * y);
}

uint64_t ZipfGenerator::next(std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  while (true) {
    const double u = h_integral_n_ + uniform(rng) * (h_integral_x1_ - h_integral_n_);
    const double x = h_integral_inverse(u);
    double k = std::floor(x + 0.5);
    k = std::clamp(k, 1.0, static_cast<double>(n_));
    // Accept at once when the point is close enough to k, else test it against the hat.
    if (k - x <= threshold_ || u >= h_integral(k + 0.5) - h(k)) {
      return static_cast<uint64_t>(k) - 1;
    }
  }
}

}  // namespace virtuoso::kv

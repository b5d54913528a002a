// The rotation before product quantization must keep distances and share
// the variance out evenly among the subquantizers' groups of coordinates.
#include "storage/ann/balanced_rotation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace facedex {
namespace {

constexpr size_t kDims = 128, kGroups = 32;

// Vectors whose coordinate j has standard deviation 1 / (1 + j / 4): most
// of the variance in the first coordinates, as descriptors have it in a few
// directions.
std::vector<float> anisotropic(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> unit(0.f, 1.f);
  std::vector<float> x(n * kDims);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < kDims; ++j) x[i * kDims + j] = unit(rng) / (1.f + float(j) / 4.f);
  return x;
}

// Largest minus smallest, over the groups of kDims / kGroups coordinates, of
// the log of the product of the group's variances.
double log_product_spread(const std::vector<float>& x, size_t n) {
  std::vector<double> variance(kDims, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < kDims; ++j) variance[j] += double(x[i * kDims + j]) * x[i * kDims + j] / double(n);
  std::vector<double> log_product(kGroups, 0.0);
  for (size_t j = 0; j < kDims; ++j) log_product[j / (kDims / kGroups)] += std::log(variance[j]);
  const auto [lo, hi] = std::minmax_element(log_product.begin(), log_product.end());
  return *hi - *lo;
}

TEST(BalancedRotationTest, KeepsDistancesAndEvensOutTheGroups) {
  const size_t n = 8000;
  const std::vector<float> x = anisotropic(n, 1);
  storage::BalancedRotation rotation;
  rotation.learn(kDims, x.data(), n, kGroups);

  std::vector<float> rotated(n * kDims);
  for (size_t i = 0; i < n; ++i) rotation.apply(x.data() + i * kDims, rotated.data() + i * kDims);
  for (size_t i = 0; i + 1 < 200; ++i) {
    double before = 0, after = 0;
    for (size_t j = 0; j < kDims; ++j) {
      const double a = x[i * kDims + j] - x[(i + 1) * kDims + j];
      const double b = rotated[i * kDims + j] - rotated[(i + 1) * kDims + j];
      before += a * a, after += b * b;
    }
    EXPECT_NEAR(after, before, 1e-4 * before) << "pair " << i;
  }

  const double raw = log_product_spread(x, n), balanced = log_product_spread(rotated, n);
  std::printf("log variance-product spread over %zu groups: %.2f raw, %.2f rotated\n", kGroups, raw, balanced);
  EXPECT_LT(balanced, raw / 4);
}

TEST(BalancedRotationTest, StaysTheIdentityWithoutEnoughSamples) {
  const std::vector<float> x = anisotropic(50, 2);  // fewer vectors than dimensions
  storage::BalancedRotation rotation;
  rotation.learn(kDims, x.data(), 50, kGroups);
  std::vector<float> out(kDims);
  rotation.apply(x.data(), out.data());
  for (size_t j = 0; j < kDims; ++j) EXPECT_EQ(out[j], x[j]);
}

}  // namespace
}  // namespace facedex

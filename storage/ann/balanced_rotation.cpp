#include "storage/ann/balanced_rotation.h"

#include <faiss/VectorTransform.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "storage/ann/l2_distance.h"
#include "util/kernel_choice.h"

namespace facedex::storage {
namespace {

// out = R x with R's transpose `columns` ([j][i]): x[j] times column j added
// into 8 accumulators of 8 outputs, 64 outputs a pass (no horizontal sums).
__attribute__((target("avx2,fma"))) void rotate_avx2(const float* columns, const float* x, float* out, size_t d) {
  for (size_t first = 0; first < d; first += 64) {
    // Named accumulators: as an array, GCC kept them in memory and every FMA
    // waited on the store of the one before (4x slower).
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t j = 0; j < d; ++j) {
      const __m256 xj = _mm256_set1_ps(x[j]);
      const float* column = columns + j * d + first;
      a0 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column), a0);
      a1 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 8), a1);
      a2 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 16), a2);
      a3 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 24), a3);
      a4 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 32), a4);
      a5 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 40), a5);
      a6 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 48), a6);
      a7 = _mm256_fmadd_ps(xj, _mm256_loadu_ps(column + 56), a7);
    }
    _mm256_storeu_ps(out + first, a0);
    _mm256_storeu_ps(out + first + 8, a1);
    _mm256_storeu_ps(out + first + 16, a2);
    _mm256_storeu_ps(out + first + 24, a3);
    _mm256_storeu_ps(out + first + 32, a4);
    _mm256_storeu_ps(out + first + 40, a5);
    _mm256_storeu_ps(out + first + 48, a6);
    _mm256_storeu_ps(out + first + 56, a7);
  }
}

}  // namespace

void BalancedRotation::learn(size_t d, const float* sample, size_t n, size_t groups) {
  d_ = d;
  columns_.assign(d * d, 0.f);
  for (size_t i = 0; i < d; ++i) columns_[i * d + i] = 1.f;
  if (n < d || groups == 0 || d % groups != 0) return;
  faiss::PCAMatrix pca(static_cast<int>(d), static_cast<int>(d), 0.f, false);
  pca.train(faiss::Index::idx_t(n), sample);  // axes as rows, largest variance first
  const size_t per_group = d / groups;
  std::vector<std::vector<size_t>> members(groups);
  std::vector<double> log_product(groups, 0.0);
  for (size_t axis = 0; axis < d; ++axis) {
    size_t best = 0;
    double smallest = std::numeric_limits<double>::infinity();
    for (size_t g = 0; g < groups; ++g)
      if (members[g].size() < per_group && log_product[g] < smallest) smallest = log_product[g], best = g;
    members[best].push_back(axis);
    // Variances near zero (a sample of rank < d) count as a tiny one, not -inf.
    log_product[best] += std::log(std::max(double(pca.eigenvalues[axis]), 1e-12));
  }
  // Output coordinate i is the i-th axis dealt out: column j of the
  // transpose holds coordinate j of every axis.
  size_t out = 0;
  for (const auto& group : members)
    for (size_t axis : group) {
      for (size_t j = 0; j < d; ++j) columns_[j * d + out] = pca.PCAMat[axis * d + j];
      ++out;
    }
}

void BalancedRotation::apply(const float* x, float* out) const {
  if (d_ % 64 == 0 && use_avx2_kernels()) {
    rotate_avx2(columns_.data(), x, out, d_);
    return;
  }
  for (size_t i = 0; i < d_; ++i) out[i] = 0.f;
  for (size_t j = 0; j < d_; ++j)
    for (size_t i = 0; i < d_; ++i) out[i] += columns_[j * d_ + i] * x[j];
}

}  // namespace facedex::storage

#include "storage/ann/sq8_vectors.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "storage/ann/l2_distance.h"
#include "util/kernel_choice.h"

namespace facedex::storage {
namespace {

__attribute__((target("avx2,fma"))) float distance_avx2(const float* shifted, const float* step, const uint8_t* code,
                                                        size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + j));
    const __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
    const __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
    const __m256 t0 = _mm256_fnmadd_ps(_mm256_loadu_ps(step + j), c0, _mm256_loadu_ps(shifted + j));
    const __m256 t1 = _mm256_fnmadd_ps(_mm256_loadu_ps(step + j + 8), c1, _mm256_loadu_ps(shifted + j + 8));
    acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    acc1 = _mm256_fmadd_ps(t1, t1, acc1);
  }
  float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; j < d; ++j) {
    const float t = shifted[j] - step[j] * float(code[j]);
    sum += t * t;
  }
  return sum;
}

}  // namespace

void Sq8Vectors::train(size_t d, const float* sample, size_t n) {
  d_ = 0;
  if (d == 0 || n == 0) return;
  low_.assign(d, 0.f);
  step_.assign(d, 0.f);
  inverse_step_.assign(d, 0.f);
  for (size_t j = 0; j < d; ++j) {
    float lo = sample[j], hi = sample[j];
    for (size_t i = 1; i < n; ++i) lo = std::min(lo, sample[i * d + j]), hi = std::max(hi, sample[i * d + j]);
    // A little wider than the sample, for vectors added later.
    const float margin = 0.05f * (hi - lo);
    low_[j] = lo - margin;
    step_[j] = std::max((hi - lo + 2 * margin) / 255.f, 1e-12f);
    inverse_step_[j] = 1.f / step_[j];
  }
  d_ = d;
  block_.reset();
  start_.clear();
  room_.clear();
  count_.clear();
}

void Sq8Vectors::encode(const float* vector, uint8_t* out) const {
  // Multiplies and a +0.5 truncation, which the compiler vectorises (a
  // division and nearbyint per value took a third of a million-face load).
  for (size_t j = 0; j < d_; ++j)
    out[j] = uint8_t(std::clamp((vector[j] - low_[j]) * inverse_step_[j] + 0.5f, 0.f, 255.f));
}

void Sq8Vectors::lay_out(const std::vector<const float*>& vectors, const std::vector<size_t>& sizes) {
  const size_t lists = sizes.size();
  start_.assign(lists, 0);
  room_.assign(lists, 0);
  count_.assign(lists, 0);
  size_t total = 0;
  for (size_t l = 0; l < lists; ++l) {
    start_[l] = total;
    room_[l] = sizes[l] + sizes[l] / 4 + 8;  // room to grow before the next lay-out
    total += room_[l];
  }
  block_ = allocate_block(total * d_);
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t l = 0; l < lists; ++l) {
    for (size_t i = 0; i < sizes[l]; ++i) encode(vectors[l] + i * d_, block_.get() + (start_[l] + i) * d_);
    count_[l] = sizes[l];
  }
}

void Sq8Vectors::sync(const std::vector<const float*>& vectors, const std::vector<size_t>& sizes) {
  if (!trained()) return;
  bool fits = block_ && sizes.size() == room_.size();
  for (size_t l = 0; fits && l < sizes.size(); ++l) fits = sizes[l] <= room_[l];
  if (!fits) {
    lay_out(vectors, sizes);
    return;
  }
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t l = 0; l < sizes.size(); ++l) {
    if (sizes[l] == count_[l]) continue;
    const size_t from = sizes[l] > count_[l] ? count_[l] : 0;
    for (size_t i = from; i < sizes[l]; ++i) encode(vectors[l] + i * d_, block_.get() + (start_[l] + i) * d_);
    count_[l] = sizes[l];
  }
}

void Sq8Vectors::prepare(const float* query, Query* out) const {
  out->shifted.resize(d_);
  for (size_t j = 0; j < d_; ++j) out->shifted[j] = query[j] - low_[j];
}

float Sq8Vectors::distance(const Query& query, size_t list, size_t offset) const {
  return distance_at(query, start_[list] + offset);
}

void Sq8Vectors::prefetch_row(size_t row) const {
  const char* p = reinterpret_cast<const char*>(block_.get() + row * d_);
  for (size_t at = 0; at < d_; at += 64) _mm_prefetch(p + at, _MM_HINT_T0);
}

float Sq8Vectors::distance_at(const Query& query, size_t row) const {
  const uint8_t* code = block_.get() + row * d_;
  if (use_avx2_kernels()) return distance_avx2(query.shifted.data(), step_.data(), code, d_);
  float sum = 0;
  for (size_t j = 0; j < d_; ++j) {
    const float t = query.shifted[j] - step_[j] * float(code[j]);
    sum += t * t;
  }
  return sum;
}

}  // namespace facedex::storage

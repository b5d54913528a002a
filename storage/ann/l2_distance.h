// Squared Euclidean distance of two float vectors, in AVX2 + FMA where the
// CPU has them: the exact distance behind every ranking in storage; and the
// pieces storage's other AVX2 loops share.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace facedex::storage {

// The sum of a vector's 8 floats.
__attribute__((target("avx2"))) inline float horizontal_sum(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)));
}

float l2_squared(const float* a, const float* b, size_t d);

// The AVX2 + FMA loop itself; call only where the CPU has both.
float l2_squared_avx2(const float* a, const float* b, size_t d);

}  // namespace facedex::storage

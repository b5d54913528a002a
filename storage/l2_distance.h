// Squared Euclidean distance of two float vectors, in AVX2 + FMA where the
// CPU has them: the exact distance behind every ranking in storage.
#pragma once

#include <cstddef>

namespace facedex::storage {

float l2_squared(const float* a, const float* b, size_t d);

// The AVX2 + FMA loop itself; call only where the CPU has both.
float l2_squared_avx2(const float* a, const float* b, size_t d);

}  // namespace facedex::storage

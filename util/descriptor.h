// The descriptor type shared by models/ (which makes them) and storage/ (which
// keeps them), so that neither module depends on the other.
#pragma once

#include <array>

namespace facedex {

// Descriptor length of dlib's metric network.
inline constexpr int kDescriptorDims = 128;
using Descriptor = std::array<float, kDescriptorDims>;

}  // namespace facedex

#include <cmath>

namespace facedex {

// Euclidean distance, the metric dlib's network was trained for.
inline float descriptor_distance(const Descriptor& a, const Descriptor& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

}  // namespace facedex

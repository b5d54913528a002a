// The descriptor type shared by models/ (which makes them) and storage/ (which
// keeps them), so that neither module depends on the other.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace facedex {

// Descriptor length of dlib's metric network, the bundled default. A gallery
// holds one model's descriptors, whatever their length (GalleryStore::dims()).
inline constexpr int kDescriptorDims = 128;
// The lengths an external model may give (models/external_model_spec.h).
inline constexpr int kMinDescriptorDims = 16, kMaxDescriptorDims = 4096;
using Descriptor = std::vector<float>;

// Euclidean distance, the metric dlib's network was trained for. Both the same
// length (one model's).
inline float descriptor_distance(const Descriptor& a, const Descriptor& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// The length of a set's descriptors (one model's); dlib's for an empty set.
inline int dims_of(const std::vector<Descriptor>& v) { return v.empty() ? kDescriptorDims : int(v[0].size()); }

// `count` descriptors from `first` as one row-major block of `dims` floats
// each, as FAISS takes them (a shorter one is padded with zeros).
inline std::vector<float> flatten(const std::vector<Descriptor>& v, size_t dims, size_t first = 0,
                                  size_t count = size_t(-1)) {
  count = std::min(count, v.size() - std::min(first, v.size()));
  std::vector<float> out(count * dims, 0.0f);
  for (size_t i = 0; i < count; ++i)
    std::copy_n(v[first + i].begin(), std::min(dims, v[first + i].size()), out.begin() + long(i * dims));
  return out;
}

}  // namespace facedex

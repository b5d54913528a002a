// An orthogonal rotation that gives product quantization's subspaces equal
// shares of the vectors' variance.
//
// Why: face descriptors keep most of their variance in a few directions (on
// the two-covariance million-face gallery the first principal axis carries
// 30x the variance of the 64th). Product quantization gives every subspace
// the same 16 centroids, so on raw coordinates the codes of 32 subquantizers
// of 4 dimensions keep far less of the exact 10 nearest than after this
// rotation (benchmarks/RESULTS.md, "Search at scale").
//
// The axes are the principal axes of a sample, dealt out to `groups` groups
// of d / groups axes each so that the products of the groups' variances come
// out as equal as they can ("eigenvalue allocation", Ge et al., Optimized
// Product Quantization, 2013): each axis, largest variance first, goes to the
// open group whose product is smallest so far.
#pragma once

#include <cstddef>
#include <vector>

namespace facedex::storage {

class BalancedRotation {
 public:
  // Learns the rotation of d-dimensional vectors from n of them; with fewer
  // than d, or d not a multiple of `groups`, it stays the identity.
  void learn(size_t d, const float* sample, size_t n, size_t groups);
  // out = R x (out and x must not overlap); distances do not change.
  void apply(const float* x, float* out) const;
  size_t dims() const { return d_; }

 private:
  size_t d_ = 0;
  // R's transpose, d x d: row j holds coordinate j of every output axis (the
  // AVX2 loop adds x[j] times it into the outputs).
  std::vector<float> columns_;
};

}  // namespace facedex::storage

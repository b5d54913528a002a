#include "models/kernels/shape_predictor_prefetch.h"

#include <vector>

#include "models/kernels/shape_predictor_members.h"

namespace facedex::models {
namespace {

// How many trees ahead a leaf is fetched: enough to cover memory latency
// (~100 ns) behind the ~20 ns of adding one leaf.
constexpr size_t kAhead = 8;

void prefetch(const float* leaf, long floats) {
  const char* p = reinterpret_cast<const char*>(leaf);
  for (long b = 0; b < floats * long(sizeof(float)); b += 64) __builtin_prefetch(p + b);
}

struct CascadeScratch {
  std::vector<float> feature_pixel_values;
  std::vector<const float*> leaves;  // the leaf each tree of a level ends in
};

// This thread's scratch, behind a call (fhog_avx2.cpp, thread_scratch, says why).
__attribute__((noinline)) CascadeScratch& thread_scratch() {
  thread_local CascadeScratch scratch;
  return scratch;
}

}  // namespace

dlib::full_object_detection predict_shape_prefetched(const dlib::shape_predictor& predictor,
                                                     const dlib::cv_image<dlib::rgb_pixel>& image,
                                                     const dlib::rectangle& rect) {
  const auto& initial_shape = predictor.*pointer_to(InitialShape{});
  const auto& forests = predictor.*pointer_to(Forests{});
  const auto& anchor_idx = predictor.*pointer_to(AnchorIdx{});
  const auto& deltas = predictor.*pointer_to(Deltas{});

  dlib::matrix<float, 0, 1> current_shape = initial_shape;
  const long n = current_shape.size();
  CascadeScratch& scratch = thread_scratch();
  std::vector<float>& feature_pixel_values = scratch.feature_pixel_values;
  std::vector<const float*>& leaves = scratch.leaves;
  for (size_t level = 0; level < forests.size(); ++level) {
    dlib::impl::extract_feature_pixel_values(image, rect, current_shape, initial_shape, anchor_idx[level],
                                             deltas[level], feature_pixel_values);
    const auto& trees = forests[level];
    leaves.resize(trees.size());
    for (size_t i = 0; i < trees.size(); ++i) {
      // Each tree's splits are an allocation of their own too.
      if (i + kAhead < trees.size()) {
        const auto& splits = trees[i + kAhead].splits;
        prefetch(reinterpret_cast<const float*>(splits.data()),
                 long(splits.size() * sizeof(splits[0]) / sizeof(float)));
      }
      unsigned long leaf_index;
      leaves[i] = &trees[i](feature_pixel_values, leaf_index)(0);
      if (i < kAhead) prefetch(leaves[i], n);
    }
    // dlib: current_shape += leaf, tree after tree.
    float* shape = &current_shape(0);
    for (size_t i = 0; i < trees.size(); ++i) {
      if (i + kAhead < trees.size()) prefetch(leaves[i + kAhead], n);
      const float* leaf = leaves[i];
      for (long j = 0; j < n; ++j) shape[j] += leaf[j];
    }
  }
  const dlib::point_transform_affine to_image = dlib::impl::unnormalizing_tform(rect);
  std::vector<dlib::point> parts(size_t(current_shape.size() / 2));
  for (size_t i = 0; i < parts.size(); ++i) parts[i] = to_image(dlib::impl::location(current_shape, i));
  return dlib::full_object_detection(rect, parts);
}

}  // namespace facedex::models

// Pointers to dlib::shape_predictor's private arrays (initial shape, trees,
// anchors, deltas), for the two places that need them: the raw copy of the
// model (shape_predictor_cache.cpp) and the prefetching cascade
// (shape_predictor_prefetch.cpp). dlib offers no other way to build or walk a
// predictor but deserialize() and its own operator().
//
// An explicit instantiation may name private members (access checks do not
// apply there, [temp.spec.general]/6), which lets MemberAccess hand out the
// member pointers. Everything here is in an unnamed namespace on purpose:
// each including file gets its own tag types and so its own instantiations,
// never two definitions of one.
#pragma once

#include <dlib/image_processing/shape_predictor.h>

#include <vector>

namespace facedex::models {
namespace {

template <typename Tag, typename Tag::type member>
struct MemberAccess {
  friend typename Tag::type pointer_to(Tag) { return member; }
};
struct InitialShape {
  using type = dlib::matrix<float, 0, 1> dlib::shape_predictor::*;
  friend type pointer_to(InitialShape);
};
struct Forests {
  using type = std::vector<std::vector<dlib::impl::regression_tree>> dlib::shape_predictor::*;
  friend type pointer_to(Forests);
};
struct AnchorIdx {
  using type = std::vector<std::vector<unsigned long>> dlib::shape_predictor::*;
  friend type pointer_to(AnchorIdx);
};
struct Deltas {
  using type = std::vector<std::vector<dlib::vector<float, 2>>> dlib::shape_predictor::*;
  friend type pointer_to(Deltas);
};
template struct MemberAccess<InitialShape, &dlib::shape_predictor::initial_shape>;
template struct MemberAccess<Forests, &dlib::shape_predictor::forests>;
template struct MemberAccess<AnchorIdx, &dlib::shape_predictor::anchor_idx>;
template struct MemberAccess<Deltas, &dlib::shape_predictor::deltas>;

}  // namespace
}  // namespace facedex::models

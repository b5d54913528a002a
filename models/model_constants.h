// Constants of the face models, in one place (STYLE.md section 3). Every other
// module refers to these rather than repeating the numbers.
#pragma once

#include "util/descriptor.h"

namespace facedex::models {

// dlib's ResNet takes 150x150 aligned chips...
inline constexpr int kChipSize = 150;
// ...cut with 25% padding around the landmarks (dnn_face_recognition_ex.cpp).
inline constexpr double kChipPadding = 0.25;
using facedex::kDescriptorDims;
// The network was trained so that two faces of one person lie closer than 0.6
// (Euclidean) and faces of different people further apart. This is a 1:1
// verification threshold; searching a gallery needs a stricter rule (search/).
inline constexpr float kSamePersonDistance = 0.6f;
// A face's descriptor is the mean of the descriptors of its chip and of the
// mirrored chip. Measured on LFW-dev (benchmarks/RESULTS.md): verification at
// 0.6 98.4% -> 98.8%; identification with one enrolment photo 81.3% -> 85.6%
// named right at >= 95% strangers rejected. It doubles the network's work.
inline constexpr bool kFlipAveragedDescriptors = true;
// HOG finds faces of roughly this many pixels and up (dlib's 80x80 sliding window).
inline constexpr int kMinHogFacePx = 80;

using facedex::Descriptor;

}  // namespace facedex::models

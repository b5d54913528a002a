// dlib's shape_predictor run on a photo exactly as its operator() runs it,
// but reading each cascade level's leaves with prefetches.
//
// Why: the 68-point model's 7,500 trees each end in a leaf of 136 floats, a
// separate allocation among 95 MB of them, so dlib's loop waits on memory for
// nearly every leaf (benchmarks/RESULTS.md gives the cost). A
// level's trees all read the same feature pixels, so every leaf of the level
// can be found first and then added in dlib's order while the leaves a few
// trees ahead are already on their way. Same float additions in the same
// order: the landmarks are dlib's, bit for bit.
//
// Only in the AVX2 module (face_detection_kernel.h), where it is compared with
// the generic build's dlib call.
#pragma once

#include <dlib/image_processing/shape_predictor.h>
#include <dlib/opencv/cv_image.h>

namespace facedex::models {

dlib::full_object_detection predict_shape_prefetched(const dlib::shape_predictor& predictor,
                                                     const dlib::cv_image<dlib::rgb_pixel>& image,
                                                     const dlib::rectangle& rect);

}  // namespace facedex::models

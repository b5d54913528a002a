// dlib's frontal face detector run over an image like its own operator(), but
// with the window scores computed by fused AVX2 multiply-adds.
//
// Why: dlib scores every window of every pyramid level by filtering each of
// the 31 fHOG planes with each separable term of each of its 5 filters (305
// terms), one full pass over the plane per term, a multiply and an add per
// tap and a scratch image in between. That was a fifth of `facedex index`'s
// time on 250 px photos. Here each term's row pass and column pass use FMA and
// the column pass produces four output rows per load of the row-filtered
// plane; the pyramid and the fHOG planes come from planar_resize_avx2 and
// fhog_avx2 (dlib's arithmetic, vectorised); everything else (the fHOG pyramid, the thresholds, the mapping of
// windows to image boxes, the non-maximum suppression) is dlib's own code, so
// the boxes are dlib's. Scores differ from dlib's only by float rounding
// (measured: below 1e-5; tests/models/face_detection_kernel_test.cpp holds
// the boxes equal to the generic build's).
//
// Only in the AVX2 module (face_detection_kernel.h): it needs AVX2 and FMA.
#pragma once

#include <dlib/image_processing/frontal_face_detector.h>

#include <vector>

#include "models/kernels/planar_resize_avx2.h"

namespace facedex::models {

// Same contract as `detector(image, *out, adjust_threshold)`. Detectors whose
// filters dlib would not run as separable terms (or of another window size
// than this kernel handles) are run by dlib itself.
void run_frontal_detector_avx2(dlib::frontal_face_detector& detector, const PlanarImage& image, double adjust_threshold,
                               std::vector<dlib::rect_detection>* out);

}  // namespace facedex::models

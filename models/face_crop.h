// The face an external descriptor model takes, cut from the photo by the
// crop its spec names (external_model_spec.h).
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <vector>

#include "models/external_model_spec.h"
#include "models/face_detector.h"

namespace facedex::models {

// The five ArcFace points of a face: the eye centres, the nose tip and the
// mouth corners, in image order (the subject's right eye first). From 68
// landmarks; from dlib's 5-point model the mouth corners are estimated below
// the nose. Empty for other landmark counts.
std::vector<std::array<float, 2>> arcface_points(const std::vector<std::array<float, 2>>& landmarks);

// The least-squares similarity transform (rotation, uniform scale,
// translation; no reflection) taking `from` onto `to` (Umeyama), as a 2x3 matrix.
cv::Matx23d similarity_transform(const std::vector<std::array<float, 2>>& from,
                                 const std::vector<std::array<float, 2>>& to);

// `face` as the model takes it, `size` px square:
//   kDlib     face.chip (dlib's 150 px chip) unchanged; the embedder resizes it;
//   kArcFace  the five points aligned to the ArcFace template scaled to `size`;
//   kMargin   face.box grown by `margin` of its width and height (half each
//             side), clipped to the photo, resized.
// REQUIRES: rgb is the photo face was found in, CV_8UC3 RGB.
FaceChip crop_face(const cv::Mat& rgb, const DetectedFace& face, ChipCrop crop, int size, double margin);

}  // namespace facedex::models

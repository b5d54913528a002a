// The aligned chip of a stored face, cut again from its photo with the stored
// landmarks (no detection): for experiments that rewrite descriptors.
#pragma once

#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>

#include <cmath>
#include <vector>

#include "models/embedder.h"
#include "storage/gallery.h"

namespace facedex::benchmarks {

inline models::FaceChip stored_face_chip(const dlib::cv_image<dlib::rgb_pixel>& img, const storage::Face& f) {
  std::vector<dlib::point> parts;
  for (const auto& pt : f.landmarks) parts.emplace_back(long(std::lround(pt[0])), long(std::lround(pt[1])));
  const dlib::full_object_detection shape(dlib::rectangle(f.box.left, f.box.top, f.box.right - 1, f.box.bottom - 1),
                                          parts);
  models::FaceChip chip;
  dlib::extract_image_chip(img, dlib::get_face_chip_details(shape, models::kChipSize, models::kChipPadding), chip);
  return chip;
}

}  // namespace facedex::benchmarks

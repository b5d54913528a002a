#include "models/kernels/face_detection_kernel.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#ifdef FACEDEX_DETECTION_KERNEL_AVX2
#include "models/kernels/fhog_avx2.h"
#include "models/kernels/hog_scan_avx2.h"
#include "models/kernels/shape_predictor_prefetch.h"
#endif

namespace facedex::models {
namespace {

dlib::frontal_face_detector load_frontal_detector(const char* decoded_path) {
  if (decoded_path && *decoded_path) {
    try {
      dlib::frontal_face_detector hog;
      dlib::deserialize(decoded_path) >> hog;
      return hog;
    } catch (const std::exception&) {
      // Missing or unreadable: decode dlib's own copy (the same detector, slower).
    }
  }
  return dlib::get_frontal_face_detector();
}

void* create_hog(const char* decoded_path) {
  // Loaded once per process; each scanner is a copy.
  static const dlib::frontal_face_detector prototype = load_frontal_detector(decoded_path);
  return new dlib::frontal_face_detector(prototype);
}

void destroy_hog(void* hog) { delete static_cast<dlib::frontal_face_detector*>(hog); }

#ifdef FACEDEX_DETECTION_KERNEL_AVX2
// `rgb` as colour planes, upsampled `upsample` times as dlib's pyramid_up
// does; the result is one of `scratch`.
const PlanarImage& upsampled_planar(const cv::Mat& rgb, int upsample, PlanarImage scratch[2]) {
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  to_planar(continuous.ptr<dlib::rgb_pixel>(0), continuous.rows, continuous.cols, continuous.cols, &scratch[0]);
  int current = 0;
  for (int i = 0; i < upsample; ++i, current ^= 1) pyramid_up2_avx2(scratch[current], &scratch[current ^ 1]);
  return scratch[current];
}
#endif

// The 68 landmarks in `box`: dlib's cascade, read with prefetches where the fused scan runs.
template <bool kFusedScan>
dlib::full_object_detection place_landmarks(const LandmarkModel& landmarks,
                                            const dlib::cv_image<dlib::rgb_pixel>& image, const dlib::rectangle& box) {
#ifdef FACEDEX_DETECTION_KERNEL_AVX2
  if constexpr (kFusedScan) return predict_shape_prefetched(landmarks.predictor(), image, box);
#endif
  return landmarks.predictor()(image, box);
}

// Landmarks and an aligned chip for each seed whose box is not empty.
template <bool kFusedScan>
void place(const LandmarkModel& landmarks, const cv::Mat& rgb, const std::vector<FaceSeed>& seeds,
           std::vector<DetectedFace>* out) {
  const dlib::cv_image<dlib::rgb_pixel> full(rgb);
  for (const auto& seed : seeds) {
    if (seed.box.width() <= 0 || seed.box.height() <= 0) continue;
    const dlib::rectangle rect(seed.shape_left, seed.shape_top, seed.shape_right, seed.shape_bottom);
    const dlib::full_object_detection shape = place_landmarks<kFusedScan>(landmarks, full, rect);
    DetectedFace face;
    face.score = seed.score;
    face.box = seed.box;
    face.landmarks.reserve(shape.num_parts());
    for (unsigned long p = 0; p < shape.num_parts(); ++p)
      face.landmarks.push_back({float(shape.part(p).x()), float(shape.part(p).y())});
    dlib::extract_image_chip(full, dlib::get_face_chip_details(shape, kChipSize, kChipPadding), face.chip);
    out->push_back(std::move(face));
  }
}

// kFusedScan: window scores by hog_scan_avx2 (AVX2 build only) instead of dlib's scanner.
template <bool kFusedScan>
void detect(void* hog_ptr, const LandmarkModel& landmarks, const cv::Mat& rgb, double scale, int upsample,
            double adjust_threshold, std::vector<DetectedFace>* out) {
  auto& hog = *static_cast<dlib::frontal_face_detector*>(hog_ptr);
  cv::Mat small = rgb;
  if (scale < 1.0) cv::resize(rgb, small, cv::Size(), scale, scale, cv::INTER_AREA);
  dlib::pyramid_down<2> pyramid;
  std::vector<dlib::rect_detection> detections;
#ifdef FACEDEX_DETECTION_KERNEL_AVX2
  if constexpr (kFusedScan) {
    thread_local PlanarImage planar[2];
    const PlanarImage& det_image = upsampled_planar(small, upsample, planar);
    run_frontal_detector_avx2(hog, det_image, adjust_threshold, &detections);
  } else
#endif
  {
    dlib::matrix<dlib::rgb_pixel> det_image;
    dlib::assign_image(det_image, dlib::cv_image<dlib::rgb_pixel>(small));
    for (int i = 0; i < upsample; ++i) dlib::pyramid_up(det_image, pyramid);
    hog(det_image, detections, adjust_threshold);
  }

  std::vector<FaceSeed> seeds;
  for (const auto& d : detections) {
    dlib::drectangle r = d.rect;
    for (int i = 0; i < upsample; ++i) r = pyramid.rect_down(r);
    FaceSeed seed;
    seed.score = d.detection_confidence;
    seed.shape_left = std::lround(r.left() / scale);
    seed.shape_top = std::lround(r.top() / scale);
    seed.shape_right = std::lround(r.right() / scale);
    seed.shape_bottom = std::lround(r.bottom() / scale);
    seed.box.left = std::clamp<int>(int(seed.shape_left), 0, rgb.cols);
    seed.box.top = std::clamp<int>(int(seed.shape_top), 0, rgb.rows);
    seed.box.right = std::clamp<int>(int(seed.shape_right) + 1, 0, rgb.cols);
    seed.box.bottom = std::clamp<int>(int(seed.shape_bottom) + 1, 0, rgb.rows);
    seeds.push_back(seed);
  }
  place<kFusedScan>(landmarks, rgb, seeds, out);
}

// The fHOG planes the detector scores at one pyramid level: dlib's
// pyramid_up, pyramid_down<6> and extract_fhog_features, or their AVX2
// versions where the fused scan runs.
template <bool kFusedScan>
void fhog(const cv::Mat& rgb, int upsample, int level, std::vector<std::vector<float>>* planes, long* rows,
          long* cols) {
  constexpr int kCell = 8, kFilter = 10;  // dlib's frontal detector
  planes->clear();
  *rows = *cols = 0;
#ifdef FACEDEX_DETECTION_KERNEL_AVX2
  if constexpr (kFusedScan) {
    PlanarImage up[2], down[2];
    const PlanarImage& image = pyramid_level_avx2(upsampled_planar(rgb, upsample, up), level, down);
    std::vector<PaddedPlane> padded;
    extract_fhog_avx2(image, kFilter, kFilter, &padded);
    *rows = padded[0].rows;
    *cols = padded[0].cols;
    for (const auto& p : padded) {
      planes->emplace_back();
      for (long r = 0; r < p.rows; ++r) planes->back().insert(planes->back().end(), p.row(r), p.row(r) + p.cols);
    }
    return;
  }
#endif
  dlib::matrix<dlib::rgb_pixel> image;
  dlib::assign_image(image, dlib::cv_image<dlib::rgb_pixel>(rgb));
  for (int i = 0; i < upsample; ++i) dlib::pyramid_up(image, dlib::pyramid_down<2>());
  dlib::array2d<dlib::rgb_pixel> level_image, next;
  dlib::assign_image(level_image, image);
  for (int l = 0; l < level; ++l) {
    dlib::pyramid_down<6>()(level_image, next);
    dlib::swap(level_image, next);
  }
  dlib::array<dlib::array2d<float>> hog;
  dlib::extract_fhog_features(level_image, hog, kCell, kFilter, kFilter);
  if (hog.size() == 0) return;
  *rows = hog[0].nr();
  *cols = hog[0].nc();
  for (size_t i = 0; i < hog.size(); ++i) {
    planes->emplace_back();
    for (long r = 0; r < hog[i].nr(); ++r)
      planes->back().insert(planes->back().end(), &hog[i][r][0], &hog[i][r][0] + hog[i].nc());
  }
}

#ifdef FACEDEX_DETECTION_KERNEL_AVX2
const DetectionKernelOps kOps{"avx2", &create_hog, &destroy_hog, &detect<true>, &place<true>, &fhog<true>};
// dlib's own scanner at AVX2: what the fused scan is compared with.
const DetectionKernelOps kDlibScanOps{"avx2-dlib-scan", &create_hog,   &destroy_hog,
                                      &detect<false>,   &place<false>, &fhog<false>};
#else
const DetectionKernelOps kOps{"generic", &create_hog, &destroy_hog, &detect<false>, &place<false>, &fhog<false>};
#endif

}  // namespace

#ifndef FACEDEX_DETECTION_KERNEL_AVX2
const DetectionKernelOps& generic_detection_kernel() { return kOps; }
#endif

}  // namespace facedex::models

#ifdef FACEDEX_DETECTION_KERNEL_AVX2
extern "C" __attribute__((visibility("default"))) const facedex::models::DetectionKernelOps*
facedex_detection_kernel_avx2() {
  return &facedex::models::kOps;
}
extern "C" __attribute__((visibility("default"))) const facedex::models::DetectionKernelOps*
facedex_detection_kernel_avx2_dlib_scan() {
  return &facedex::models::kDlibScanOps;
}
#endif

#include "models/face_detector.h"

#include <algorithm>
#include <cmath>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace facedex::models {

LandmarkModel::~LandmarkModel() = default;

Expected<std::shared_ptr<const LandmarkModel>> LandmarkModel::load(const std::string& path) {
  std::shared_ptr<LandmarkModel> model(new LandmarkModel());
  model->predictor_ = std::make_unique<dlib::shape_predictor>();
  try {
    dlib::deserialize(path) >> *model->predictor_;
  } catch (const std::exception& e) {
    return Status::invalid_input(path + ": not a dlib shape predictor (" + e.what() + ")");
  }
  const auto parts = model->predictor_->num_parts();
  if (parts != 68 && parts != 5)
    return Status::unsupported(path + ": shape predictor has " + std::to_string(parts) + " points; 68 or 5 needed");
  return std::shared_ptr<const LandmarkModel>(std::move(model));
}

struct FaceDetector::Impl {
  dlib::frontal_face_detector hog = dlib::get_frontal_face_detector();
  std::shared_ptr<const LandmarkModel> landmarks;
};

FaceDetector::FaceDetector(std::shared_ptr<const LandmarkModel> landmarks) : impl_(std::make_unique<Impl>()) {
  impl_->landmarks = std::move(landmarks);
}
FaceDetector::~FaceDetector() = default;

namespace {

double detection_scale(int width, int height, const DetectOptions& options) {
  const int long_side = std::max(width, height);
  if (options.max_detect_side <= 0 || long_side <= options.max_detect_side) return 1.0;
  return double(options.max_detect_side) / long_side;
}

}  // namespace

int FaceDetector::effective_upsample(int width, int height, const DetectOptions& options) {
  if (options.upsample >= 0) return std::min(options.upsample, 3);
  const double s = detection_scale(width, height, options);
  return std::lround(std::max(width, height) * s) <= kAutoUpsampleMaxSide ? 1 : 0;
}

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces;
  if (rgb.empty()) return faces;
  const double scale = detection_scale(rgb.cols, rgb.rows, options);
  const int upsample = effective_upsample(rgb.cols, rgb.rows, options);

  cv::Mat small = rgb;
  if (scale < 1.0)
    cv::resize(rgb, small, cv::Size(), scale, scale, cv::INTER_AREA);
  dlib::matrix<dlib::rgb_pixel> det_image;
  dlib::assign_image(det_image, dlib::cv_image<dlib::rgb_pixel>(small));
  dlib::pyramid_down<2> pyramid;
  for (int i = 0; i < upsample; ++i) dlib::pyramid_up(det_image, pyramid);

  std::vector<dlib::rect_detection> detections;
  impl_->hog(det_image, detections, options.adjust_threshold);

  const dlib::cv_image<dlib::rgb_pixel> full(rgb);
  for (const auto& d : detections) {
    dlib::drectangle r = d.rect;
    for (int i = 0; i < upsample; ++i) r = pyramid.rect_down(r);
    const dlib::rectangle in_photo(std::lround(r.left() / scale), std::lround(r.top() / scale),
                                   std::lround(r.right() / scale), std::lround(r.bottom() / scale));
    const dlib::full_object_detection shape = impl_->landmarks->predictor()(full, in_photo);

    DetectedFace face;
    face.score = d.detection_confidence;
    face.box.left = std::clamp<int>(int(in_photo.left()), 0, rgb.cols);
    face.box.top = std::clamp<int>(int(in_photo.top()), 0, rgb.rows);
    face.box.right = std::clamp<int>(int(in_photo.right()) + 1, 0, rgb.cols);
    face.box.bottom = std::clamp<int>(int(in_photo.bottom()) + 1, 0, rgb.rows);
    if (face.box.width() <= 0 || face.box.height() <= 0) continue;
    face.landmarks.reserve(shape.num_parts());
    for (unsigned long p = 0; p < shape.num_parts(); ++p)
      face.landmarks.push_back({float(shape.part(p).x()), float(shape.part(p).y())});
    dlib::extract_image_chip(full, dlib::get_face_chip_details(shape, kChipSize, kChipPadding), face.chip);
    faces.push_back(std::move(face));
  }
  // Largest first: the "main" face of a photo is faces[0].
  std::stable_sort(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) {
    return int64_t(a.box.width()) * a.box.height() > int64_t(b.box.width()) * b.box.height();
  });
  return faces;
}

std::string encode_thumbnail_jpeg(const FaceChip& chip, int side, int quality) {
  cv::Mat rgb(int(chip.nr()), int(chip.nc()), CV_8UC3, const_cast<dlib::rgb_pixel*>(&chip(0, 0)));
  cv::Mat bgr, resized;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  cv::resize(bgr, resized, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  std::vector<uchar> out;
  cv::imencode(".jpg", resized, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  return std::string(out.begin(), out.end());
}

}  // namespace facedex::models

#include "models/face_crop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

namespace facedex::models {
namespace {

// insightface's 112x112 template for arcface_points' order.
constexpr float kArcFaceTemplate[5][2] = {
    {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};
constexpr float kArcFaceSize = 112;

std::array<float, 2> mean_of(const std::vector<std::array<float, 2>>& points, size_t first, size_t count) {
  std::array<float, 2> m{0, 0};
  for (size_t i = first; i < first + count; ++i) {
    m[0] += points[i][0] / float(count);
    m[1] += points[i][1] / float(count);
  }
  return m;
}

FaceChip to_chip(const cv::Mat& rgb) {
  FaceChip chip(rgb.rows, rgb.cols);
  for (int r = 0; r < rgb.rows; ++r) std::memcpy(&chip(r, 0), rgb.ptr(r), size_t(rgb.cols) * 3);
  return chip;
}

}  // namespace

std::vector<std::array<float, 2>> arcface_points(const std::vector<std::array<float, 2>>& landmarks) {
  if (landmarks.size() == 68)  // iBUG 300-W order: eyes 36-41 and 42-47, nose tip 30, mouth corners 48 and 54
    return {mean_of(landmarks, 36, 6), mean_of(landmarks, 42, 6), landmarks[30], landmarks[48], landmarks[54]};
  if (landmarks.size() == 5) {
    // dlib's 5 points: the corners of one eye (0, 1), of the other (2, 3), below the nose (4).
    std::array<float, 2> a = mean_of(landmarks, 0, 2), b = mean_of(landmarks, 2, 2);
    if (a[0] > b[0]) std::swap(a, b);
    const std::array<float, 2> nose = landmarks[4];
    // The template's mouth corners lie 0.58 eye distances below the nose,
    // 0.83 eye distances apart: placed on the face's own axes.
    const float ex = b[0] - a[0], ey = b[1] - a[1];
    const float down_x = -ey, down_y = ex;  // perpendicular to the eye line, pointing down
    const float below = 0.58f, half = 0.414f;
    return {a,
            b,
            nose,
            {nose[0] + below * down_x - half * ex, nose[1] + below * down_y - half * ey},
            {nose[0] + below * down_x + half * ex, nose[1] + below * down_y + half * ey}};
  }
  return {};
}

cv::Matx23d similarity_transform(const std::vector<std::array<float, 2>>& from,
                                 const std::vector<std::array<float, 2>>& to) {
  const size_t n = std::min(from.size(), to.size());
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (size_t i = 0; i < n; ++i) fx += from[i][0], fy += from[i][1], tx += to[i][0], ty += to[i][1];
  fx /= double(n), fy /= double(n), tx /= double(n), ty /= double(n);
  // With both point sets centred, the best a = s*cos, b = s*sin in closed form.
  double a = 0, b = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    const double px = from[i][0] - fx, py = from[i][1] - fy, qx = to[i][0] - tx, qy = to[i][1] - ty;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    norm += px * px + py * py;
  }
  if (norm <= 0) return cv::Matx23d(1, 0, tx - fx, 0, 1, ty - fy);
  a /= norm, b /= norm;
  return cv::Matx23d(a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy));
}

FaceChip crop_face(const cv::Mat& rgb, const DetectedFace& face, ChipCrop crop, int size, double margin) {
  cv::Mat out;
  switch (crop) {
    case ChipCrop::kDlib:
      return face.chip;
    case ChipCrop::kArcFace: {
      const auto points = arcface_points(face.landmarks);
      if (points.empty()) return face.chip;  // no landmarks to align by: dlib's chip is the nearest
      std::vector<std::array<float, 2>> target;
      const float k = float(size) / kArcFaceSize;
      for (const auto& p : kArcFaceTemplate) target.push_back({p[0] * k, p[1] * k});
      // Outside the photo is black, as insightface's norm_crop pads it.
      cv::warpAffine(rgb, out, cv::Mat(similarity_transform(points, target)), cv::Size(size, size), cv::INTER_LINEAR,
                     cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
      break;
    }
    case ChipCrop::kMargin: {
      const FaceBox& b = face.box;
      const double grow_x = margin * (b.right - b.left) / 2, grow_y = margin * (b.bottom - b.top) / 2;
      const int left = std::max(0, int(std::floor(b.left - grow_x))),
                top = std::max(0, int(std::floor(b.top - grow_y)));
      const int right = std::min(rgb.cols, int(std::ceil(b.right + grow_x)));
      const int bottom = std::min(rgb.rows, int(std::ceil(b.bottom + grow_y)));
      if (right <= left || bottom <= top) {
        out = cv::Mat(size, size, CV_8UC3, cv::Scalar(0, 0, 0));
        break;
      }
      const cv::Mat region = rgb(cv::Rect(left, top, right - left, bottom - top));
      cv::resize(region, out, cv::Size(size, size), 0, 0, region.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
      break;
    }
  }
  return to_chip(out);
}

}  // namespace facedex::models

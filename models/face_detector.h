// Finds faces in an upright RGB photo, places landmarks and cuts aligned chips.
//
// HOG runs on a copy of the photo scaled for detection (downscaled when large,
// upsampled with pyramid_up when small); boxes are mapped back to the full
// photo, and landmarks and chips come from the full-resolution pixels.
//
// Not thread-safe: dlib's HOG scanner keeps state. One FaceDetector per thread;
// the landmark model is shared read-only between them.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "models/embedder.h"
#include "util/status.h"

namespace dlib {
class shape_predictor;
}

namespace facedex::models {

struct DetectOptions {
  // -1 = auto: one pyramid_up when the detection image's long side is at most
  // kAutoUpsampleMaxSide. HOG finds faces of ~80 px and up: 500 px VOC photos
  // have 0 of 7 faces found without upsampling, while 1920 px photos find the
  // same faces without it at a quarter of the cost. 0..3 forces that many.
  int upsample = -1;
  // HOG runs on a copy whose long side is at most this, but never below
  // kMinDetectScale of the photo: 2048 keeps 1920 px photos (the most common
  // export size) at full resolution; larger photos are scaled down to 2048 or
  // to 60%, whichever is larger. 0 = never downscale.
  int max_detect_side = 2048;
  // Added to HOG's threshold; negative finds more (and more false) faces.
  double adjust_threshold = 0.0;
};

inline constexpr int kAutoUpsampleMaxSide = 1024;
// HOG finds faces of ~80 px, so detecting at 60% still finds faces of ~133 px
// in any photo. Measured on a 5334 px crowd photo with 66 faces: at 2048 px
// (38%) HOG found 0 of them, at 50% 56, at 60% 66 (full size + one upsample:
// 66, at many times the cost).
inline constexpr double kMinDetectScale = 0.6;

// Pixel rectangle in the upright photo; right and bottom are exclusive.
struct FaceBox {
  int left = 0, top = 0, right = 0, bottom = 0;
  int width() const { return right - left; }
  int height() const { return bottom - top; }
};

struct DetectedFace {
  FaceBox box;                                  // clipped to the photo
  double score = 0;                             // HOG detection confidence (higher = surer)
  std::vector<std::array<float, 2>> landmarks;  // (x, y) in photo pixels, 68 or 5 points
  FaceChip chip;                                // kChipSize aligned face for the embedder
};

// The landmark model, loaded once and shared by every detector.
class LandmarkModel {
 public:
  // `sha256`: the file's digest, naming its fast copy in the user's cache
  // (models/shape_predictor_cache.h); "" reads dlib's file only.
  static Expected<std::shared_ptr<const LandmarkModel>> load(const std::string& path, const std::string& sha256 = "");
  ~LandmarkModel();
  const dlib::shape_predictor& predictor() const { return *predictor_; }

 private:
  LandmarkModel() = default;
  std::unique_ptr<dlib::shape_predictor> predictor_;
};

struct DetectionKernelOps;

// The AVX2 build of the detection kernel if this CPU and install have it, else null.
const DetectionKernelOps* avx2_detection_kernel();
// The same build running dlib's own HOG scanner instead of hog_scan_avx2 (for
// comparisons: tests and benchmarks), or null.
const DetectionKernelOps* avx2_dlib_scan_detection_kernel();

inline constexpr const char* kDetectorModuleFile = "libfacedex_detect_avx2.so";

class FaceDetector {
 public:
  // kernel: null = the fastest this CPU runs (FACEDEX_DETECTOR_KERNEL=generic
  // forces the portable one, =avx2-dlib-scan the AVX2 build with dlib's own
  // HOG scanner); see face_detection_kernel.h.
  explicit FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, const DetectionKernelOps* kernel = nullptr);
  ~FaceDetector();
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;

  // REQUIRES: rgb is CV_8UC3, RGB order, upright.
  std::vector<DetectedFace> detect(const cv::Mat& rgb, const DetectOptions& options);

  // The upsample count and detection scale detect() would use for this size.
  static int effective_upsample(int width, int height, const DetectOptions& options);

  // "avx2", "avx2-dlib-scan" or "generic": which build of the pixel code runs.
  const char* kernel_name() const;
  static const char* default_kernel_name();
  // The AVX2 detection module's file when it was loaded, else "".
  static std::string avx2_module_path();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A small JPEG of an aligned chip, for reports that must work when the photo is gone.
std::string encode_thumbnail_jpeg(const FaceChip& chip, int side = 96, int quality = 80);

}  // namespace facedex::models

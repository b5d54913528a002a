// Finds faces in an upright RGB photo, places landmarks and cuts aligned chips.
//
// Two detectors find the boxes:
//  - cnn (the default): RetinaFace (models/retinaface_network.h) at a few
//    scales chosen from the photo's size and the smallest face wanted; its boxes are mapped
//    to where dlib's HOG would have put them, so that dlib's shape predictor,
//    trained on HOG boxes, places the same landmarks.
//  - hog: dlib's frontal HOG detector on a copy scaled for detection
//    (downscaled when large, upsampled with pyramid_up when small).
// Landmarks and chips come from the full-resolution pixels either way, so
// descriptors stay dlib's.
//
// Not thread-safe: the HOG scanner and the network keep state. One
// FaceDetector per thread; the landmark model is shared read-only between them.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/embedder.h"
#include "util/status.h"

namespace dlib {
class shape_predictor;
}

namespace facedex::models {

enum class DetectorKind { kCnn, kHog };
// "cnn" or "hog": what --detector takes.
const char* detector_kind_name(DetectorKind kind);
// What photo records keep: the network too, so that a gallery analysed by an
// earlier CNN ("cnn": ULFD RFB-320) is analysed again once by this one.
const char* detector_record_name(DetectorKind kind);
Expected<DetectorKind> parse_detector_kind(const std::string& name);

// The CNN detector's defaults (benchmarks/RESULTS.md, "Face detection", has the measurements).
inline constexpr int kDefaultMinFace = 20;
inline constexpr float kDefaultCnnMinScore = 0.7f;

struct DetectOptions {
  // CNN only. Faces whose box's short side is below min_face pixels are left
  // out; the detector runs at the scales that find faces of that size.
  int min_face = kDefaultMinFace;
  // CNN only: the least face probability (0..1) kept.
  float min_score = kDefaultCnnMinScore;
  // The rest is HOG's.
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

// Threads the CNN detector (oneDNN, or OpenCV's DNN module) may use per forward pass,
// process-wide. The indexer runs one single-threaded pipeline per core, so it sets 1.
void set_cnn_threads(int threads);
// What runs the CNN detector's network: "onednn", or "opencv" when
// FACEDEX_CNN_BACKEND=opencv asks for OpenCV's DNN module.
const char* cnn_backend_in_use();

// Intersection over union of two boxes (0 when they do not touch).
double box_overlap(const FaceBox& a, const FaceBox& b);

class RetinaFaceNetwork;  // models/retinaface_network.h
struct ScoredBox;

struct DetectedFace {
  FaceBox box;  // clipped to the photo
  // CNN: the face probability, 0..1. HOG: dlib's detection confidence, about
  // -0.5..3 (0 is HOG's own threshold). Higher is surer for both.
  double score = 0;
  std::vector<std::array<float, 2>> landmarks;  // (x, y) in photo pixels, 68 or 5 points
  FaceChip chip;  // dlib's kChipSize aligned face; FacePipeline::detect puts the model's crop here
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
  // cnn: the CNN detector's network, or null for HOG.
  // kernel: null = the fastest this CPU runs (FACEDEX_DETECTOR_KERNEL=generic
  // forces the portable one, =avx2-dlib-scan the AVX2 build with dlib's own
  // HOG scanner); see face_detection_kernel.h.
  // HOG alone.
  explicit FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, const DetectionKernelOps* kernel = nullptr);
  // The CNN, with HOG around each of its faces.
  FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, std::unique_ptr<RetinaFaceNetwork> cnn,
               const DetectionKernelOps* kernel = nullptr);
  ~FaceDetector();
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;

  // REQUIRES: rgb is CV_8UC3, RGB order, upright.
  std::vector<DetectedFace> detect(const cv::Mat& rgb, const DetectOptions& options);

  DetectorKind kind() const;

  // The scales (input size over photo size) the CNN runs at for a photo of this size.
  static std::vector<double> cnn_scales(int width, int height, const DetectOptions& options);

  // HOG: the upsample count detect() would use for this size.
  static int effective_upsample(int width, int height, const DetectOptions& options);

  // "avx2", "avx2-dlib-scan" or "generic": which build of the pixel code runs.
  const char* kernel_name() const;
  static const char* default_kernel_name();
  // The AVX2 detection module's file when it was loaded, else "".
  static std::string avx2_module_path();

 private:
  // HOG's face in a window around a CNN box, when it finds that face.
  std::optional<DetectedFace> hog_in_window(const ScoredBox& box, const cv::Mat& rgb);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A small JPEG of an aligned chip, for reports that must work when the photo is gone.
std::string encode_thumbnail_jpeg(const FaceChip& chip, int side = 96, int quality = 80);

}  // namespace facedex::models

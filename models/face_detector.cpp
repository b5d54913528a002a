#include "models/face_detector.h"

#include <dlfcn.h>
#include <dlib/image_processing.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/face_detection_kernel.h"
#include "models/model_files.h"
#include "models/shape_predictor_cache.h"
#include "models/ulfd_network.h"

namespace facedex::models {

LandmarkModel::~LandmarkModel() = default;

Expected<std::shared_ptr<const LandmarkModel>> LandmarkModel::load(const std::string& path, const std::string& sha256) {
  std::shared_ptr<LandmarkModel> model(new LandmarkModel());
  model->predictor_ = std::make_unique<dlib::shape_predictor>();
  const std::string copy = shape_predictor_cache_path(sha256);
  if (copy.empty() || !read_shape_predictor_cache(copy, model->predictor_.get())) {
    try {
      dlib::deserialize(path) >> *model->predictor_;
    } catch (const std::exception& e) {
      return Status::invalid_input(path + ": not a dlib shape predictor (" + e.what() + ")");
    }
    if (!copy.empty()) write_shape_predictor_cache(*model->predictor_, copy);
  }
  const auto parts = model->predictor_->num_parts();
  if (parts != 68 && parts != 5)
    return Status::unsupported(path + ": shape predictor has " + std::to_string(parts) + " points; 68 or 5 needed");
  return std::shared_ptr<const LandmarkModel>(std::move(model));
}

namespace {

// The AVX2 build of the detection kernel, or null when the CPU lacks AVX2/FMA
// or the module cannot be loaded (then the generic build runs: same results,
// slower). FACEDEX_DETECTOR_MODULE names the module file; by default it is
// looked for next to the program and where the build put it.
struct Avx2Kernels {
  const DetectionKernelOps* fused_scan = nullptr;
  const DetectionKernelOps* dlib_scan = nullptr;
  std::string path;  // the module loaded
};

Avx2Kernels load_avx2_kernels() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return {};
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("FACEDEX_DETECTOR_MODULE"); env && *env) candidates.push_back(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((exe.parent_path() / kDetectorModuleFile).string());
  if (const std::string lib = installed_path(kInstalledLibDir); !lib.empty())
    candidates.push_back(lib + "/" + kDetectorModuleFile);
  candidates.push_back(FACEDEX_DETECTOR_MODULE_PATH);
  for (const auto& path : candidates) {
    // RTLD_LOCAL: the module's dlib instantiations stay its own.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) continue;
    using Entry = const DetectionKernelOps* (*)();
    auto fused = reinterpret_cast<Entry>(dlsym(handle, "facedex_detection_kernel_avx2"));
    auto dlib_scan = reinterpret_cast<Entry>(dlsym(handle, "facedex_detection_kernel_avx2_dlib_scan"));
    if (fused && dlib_scan) return {fused(), dlib_scan(), path};
    dlclose(handle);
  }
  return {};
}

const Avx2Kernels& avx2_kernels() {
  static const Avx2Kernels kernels = load_avx2_kernels();
  return kernels;
}

const std::string& decoded_hog_detector_path() {
  static const std::string path = bundled_models_dir() + "/" + kDecodedHogDetectorFile;
  return path;
}

const DetectionKernelOps& chosen_kernel() {
  static const DetectionKernelOps* const kernel = [] {
    const char* env = std::getenv("FACEDEX_DETECTOR_KERNEL");
    if (env && std::string(env) == "generic") return &generic_detection_kernel();
    if (env && std::string(env) == "avx2-dlib-scan" && avx2_dlib_scan_detection_kernel())
      return avx2_dlib_scan_detection_kernel();
    const DetectionKernelOps* avx2 = avx2_detection_kernel();
    return avx2 ? avx2 : &generic_detection_kernel();
  }();
  return *kernel;
}

}  // namespace

const DetectionKernelOps* avx2_detection_kernel() { return avx2_kernels().fused_scan; }
const DetectionKernelOps* avx2_dlib_scan_detection_kernel() { return avx2_kernels().dlib_scan; }

const char* detector_kind_name(DetectorKind kind) { return kind == DetectorKind::kCnn ? "cnn" : "hog"; }

Expected<DetectorKind> parse_detector_kind(const std::string& name) {
  if (name == "cnn") return DetectorKind::kCnn;
  if (name == "hog") return DetectorKind::kHog;
  return Status::invalid_input("unknown detector '" + name + "' (cnn or hog)");
}

struct FaceDetector::Impl {
  const DetectionKernelOps* kernel = nullptr;
  void* hog = nullptr;  // created on first use: a CNN detector never needs it
  std::unique_ptr<UlfdNetwork> cnn;
  std::shared_ptr<const LandmarkModel> landmarks;
  ~Impl() {
    if (hog) kernel->destroy_hog(hog);
  }
};

FaceDetector::FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, std::unique_ptr<UlfdNetwork> cnn,
                           const DetectionKernelOps* kernel)
    : impl_(std::make_unique<Impl>()) {
  impl_->kernel = kernel ? kernel : &chosen_kernel();
  impl_->cnn = std::move(cnn);
  if (!impl_->cnn) impl_->hog = impl_->kernel->create_hog(decoded_hog_detector_path().c_str());
  impl_->landmarks = std::move(landmarks);
}

DetectorKind FaceDetector::kind() const { return impl_->cnn ? DetectorKind::kCnn : DetectorKind::kHog; }
FaceDetector::~FaceDetector() = default;

const char* FaceDetector::kernel_name() const { return impl_->kernel->name; }
const char* FaceDetector::default_kernel_name() { return chosen_kernel().name; }

std::string FaceDetector::avx2_module_path() { return avx2_kernels().path; }

namespace {

double detection_scale(int width, int height, const DetectOptions& options) {
  const int long_side = std::max(width, height);
  if (options.max_detect_side <= 0 || long_side <= options.max_detect_side) return 1.0;
  return std::max(double(options.max_detect_side) / long_side, kMinDetectScale);
}

}  // namespace

int FaceDetector::effective_upsample(int width, int height, const DetectOptions& options) {
  if (options.upsample >= 0) return std::min(options.upsample, 3);
  const double s = detection_scale(width, height, options);
  return std::lround(std::max(width, height) * s) <= kAutoUpsampleMaxSide ? 1 : 0;
}

namespace {

// ULFD's smallest anchors are 10-24 px: the finest scale brings a face of
// min_face pixels to kCnnSmallFaceInput pixels of the network's input.
constexpr double kCnnSmallFaceInput = 16;
// Its largest anchors are 128-256 px: each coarser scale is this much smaller,
// until the whole photo fits in kCnnCoarsestSide pixels.
constexpr double kCnnScaleStep = 4;
constexpr double kCnnCoarsestSide = 320;
constexpr double kCnnMaxUpscale = 2;
// Overlapping boxes, from one scale or two, are one face.
constexpr float kCnnSuppressIou = 0.3f;

// Where dlib's HOG would put its box for a face ULFD boxed: the shape
// predictor was trained on HOG boxes, which sit lower and are squarer than
// ULFD's. Fitted on groups/dlib (benchmarks/detection_quality.cpp --calibrate).
constexpr double kShapeCentreX = 0.0, kShapeCentreY = 0.0;  // times the box's width and height
constexpr double kShapeWidth = 1.0, kShapeHeight = 1.0;

FaceSeed seed_from_cnn_box(const ScoredBox& b, int cols, int rows) {
  FaceSeed seed;
  seed.score = b.score;
  seed.box.left = std::clamp(int(std::lround(b.left)), 0, cols);
  seed.box.top = std::clamp(int(std::lround(b.top)), 0, rows);
  seed.box.right = std::clamp(int(std::lround(b.right)), 0, cols);
  seed.box.bottom = std::clamp(int(std::lround(b.bottom)), 0, rows);
  const double w = b.width(), h = b.height();
  const double cx = (b.left + b.right) / 2 + kShapeCentreX * w, cy = (b.top + b.bottom) / 2 + kShapeCentreY * h;
  const double sw = kShapeWidth * w, sh = kShapeHeight * h;
  seed.shape_left = std::lround(cx - sw / 2);
  seed.shape_top = std::lround(cy - sh / 2);
  seed.shape_right = std::lround(cx + sw / 2) - 1;  // dlib's corners are inclusive
  seed.shape_bottom = std::lround(cy + sh / 2) - 1;
  return seed;
}

}  // namespace

std::vector<double> FaceDetector::cnn_scales(int width, int height, const DetectOptions& options) {
  std::vector<double> scales;
  const double long_side = std::max(width, height);
  if (long_side <= 0) return scales;
  double s = std::min(kCnnMaxUpscale, kCnnSmallFaceInput / std::max(1, options.min_face));
  scales.push_back(s);
  while (long_side * s > kCnnCoarsestSide) {
    s = std::max(s / kCnnScaleStep, kCnnCoarsestSide / long_side);
    scales.push_back(s);
  }
  return scales;
}

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces;
  if (rgb.empty()) return faces;
  if (impl_->cnn) {
    std::vector<ScoredBox> boxes;
    for (double s : cnn_scales(rgb.cols, rgb.rows, options)) {
      auto found = impl_->cnn->detect_at_scale(rgb, s, options.min_score);
      boxes.insert(boxes.end(), found.begin(), found.end());
    }
    std::vector<FaceSeed> seeds;
    for (const auto& b : suppress_overlaps(std::move(boxes), kCnnSuppressIou))
      if (std::min(b.width(), b.height()) >= float(options.min_face))
        seeds.push_back(seed_from_cnn_box(b, rgb.cols, rgb.rows));
    impl_->kernel->place(*impl_->landmarks, rgb, seeds, &faces);
  } else {
    const double scale = detection_scale(rgb.cols, rgb.rows, options);
    const int upsample = effective_upsample(rgb.cols, rgb.rows, options);
    impl_->kernel->detect(impl_->hog, *impl_->landmarks, rgb, scale, upsample, options.adjust_threshold, &faces);
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

#include "models/face_detector.h"

#include <dlfcn.h>
#include <dlib/image_processing.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/kernels/face_detection_kernel.h"
#include "models/model_files.h"
#include "models/retinaface_network.h"
#include "models/shape_predictor_cache.h"
#include "util/kernel_choice.h"

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
  if (!use_avx2_kernels()) return {};
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
const char* detector_record_name(DetectorKind kind) {
  return kind == DetectorKind::kCnn ? "cnn-retinaface-mnet025" : "hog";
}

const char* cnn_backend_in_use() { return cnn_backend_name(default_cnn_backend()); }

Expected<DetectorKind> parse_detector_kind(const std::string& name) {
  if (name == "cnn") return DetectorKind::kCnn;
  if (name == "hog") return DetectorKind::kHog;
  return Status::invalid_input("unknown detector '" + name + "' (cnn or hog)");
}

struct FaceDetector::Impl {
  const DetectionKernelOps* kernel = nullptr;
  void* hog = nullptr;  // created on first use: a CNN detector never needs it
  std::unique_ptr<RetinaFaceNetwork> cnn;
  std::shared_ptr<const LandmarkModel> landmarks;
  ~Impl() {
    if (hog) kernel->destroy_hog(hog);
  }
};

FaceDetector::FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, std::unique_ptr<RetinaFaceNetwork> cnn,
                           const DetectionKernelOps* kernel)
    : impl_(std::make_unique<Impl>()) {
  impl_->kernel = kernel ? kernel : &chosen_kernel();
  impl_->cnn = std::move(cnn);
  if (!impl_->cnn) impl_->hog = impl_->kernel->create_hog(decoded_hog_detector_path().c_str());
  impl_->landmarks = std::move(landmarks);
}

FaceDetector::FaceDetector(std::shared_ptr<const LandmarkModel> landmarks, const DetectionKernelOps* kernel)
    : FaceDetector(std::move(landmarks), std::unique_ptr<RetinaFaceNetwork>(), kernel) {}

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

// RetinaFace finds faces best at several times its smallest anchors (16 px):
// the finest scale brings a face of min_face pixels to kCnnSmallFaceInput
// pixels of the network's input, up to kCnnMaxUpscale times the photo.
constexpr double kCnnSmallFaceInput = 50;
constexpr double kCnnMaxUpscale = 2.5;
// Large photos cost too much at that scale: the finest input's long side
// stops at kCnnMaxFinestSide, but never below the scale that keeps a face of
// min_face pixels at the smallest anchor's size.
constexpr double kCnnMaxFinestSide = 2048;
constexpr double kCnnSmallestAnchor = 16;
// Each coarser scale is this much smaller (the anchors span 16-512 px), until
// the whole photo fits in kCnnCoarsestSide pixels.
constexpr double kCnnScaleStep = 4;
constexpr double kCnnCoarsestSide = 640;
// A large box at a fine scale is one a coarser scale sees at a size the
// network knows well; when no coarser scale finds anything there, it is a
// texture (a sofa's buttons, an elbow). Boxes above this many input pixels at
// a scale but the coarsest need a box of a coarser scale on them.
constexpr double kCnnFinestBand = 160;
constexpr float kCnnAcrossScalesIou = 0.3f;
// The look before the finest scale counts boxes from this score.
constexpr float kCnnLookMinScore = 0.05f;
// Overlapping boxes, from one scale or two, are one face.
constexpr float kCnnSuppressIou = 0.3f;
// A box scoring below DetectOptions::min_score is kept when HOG finds the
// same face (hog_in_window) and the box scores at least kCnnConfirmedMinScore:
// two detectors agree. Below kCnnUnconfirmedMinScore HOG must also pass its
// own threshold (the window search goes lower): there both take dogs' faces
// for people's.
constexpr float kCnnConfirmedMinScore = 0.1f;
constexpr double kCnnConfirmingHogScore = 0.0;
constexpr float kCnnUnconfirmedMinScore = 0.5f;
// A face cut by the photo's edge shows less of itself and scores lower: a box
// reaching out of the photo by kCnnCutFraction of its size is kept from
// kCnnCutMinScore.
constexpr float kCnnCutMinScore = 0.5f;
constexpr double kCnnCutFraction = 0.1;

// Whether a box reaches out of the photo by a fair part of its size.
bool cut_by_the_edge(const ScoredBox& b, int cols, int rows) {
  const double dx = kCnnCutFraction * b.width(), dy = kCnnCutFraction * b.height();
  return b.left < -dx || b.top < -dy || b.right > cols + dx || b.bottom > rows + dy;
}

// dlib's shape predictor was trained on HOG's boxes and misplaces landmarks
// when its box is off by a tenth of the face, which is how far the CNN's boxes
// vary around HOG's. So each CNN face is first looked for by HOG in a window
// around it, brought to the size HOG finds best; HOG's box, when it finds
// one there, seeds the landmarks, and the descriptor is the one a HOG run
// would give. Faces HOG cannot find (profiles, small or blurred ones) start
// from the CNN box mapped to where HOG boxes sit on average.
constexpr double kLocalWindow = 3.0;         // the window's side, times the face's
constexpr double kLocalFaceSide = 100.0;     // HOG's window is 80 px
constexpr double kLocalHogThreshold = -0.5;  // the CNN already found a face here
constexpr float kLocalMatchIou = 0.3f;
// The average map, fitted on groups/dlib (benchmarks/detection_quality.cpp --calibrate).
constexpr double kShapeCentreX = -0.045, kShapeCentreY = 0.034;  // times the box's width and height
constexpr double kShapeWidth = 1.121, kShapeHeight = 0.858;

// A CNN box rounded to whole pixels and clipped to the photo.
FaceBox clipped_box(const ScoredBox& b, int cols, int rows) {
  FaceBox box;
  box.left = std::clamp(int(std::lround(b.left)), 0, cols);
  box.top = std::clamp(int(std::lround(b.top)), 0, rows);
  box.right = std::clamp(int(std::lround(b.right)), 0, cols);
  box.bottom = std::clamp(int(std::lround(b.bottom)), 0, rows);
  return box;
}

FaceSeed seed_from_cnn_box(const ScoredBox& b, int cols, int rows) {
  FaceSeed seed;
  seed.score = b.score;
  seed.box = clipped_box(b, cols, rows);
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

std::optional<DetectedFace> FaceDetector::hog_in_window(const ScoredBox& b, const cv::Mat& rgb) {
  if (!impl_->hog) impl_->hog = impl_->kernel->create_hog(decoded_hog_detector_path().c_str());
  const double side = std::max(b.width(), b.height());
  const double cx = (b.left + b.right) / 2, cy = (b.top + b.bottom) / 2, half = kLocalWindow * side / 2;
  const cv::Rect window = cv::Rect(cv::Point(int(std::floor(cx - half)), int(std::floor(cy - half))),
                                   cv::Point(int(std::ceil(cx + half)), int(std::ceil(cy + half)))) &
                          cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (window.empty()) return std::nullopt;
  const double scale = std::min(1.0, kLocalFaceSide / side);
  const int upsample = side * scale >= kLocalFaceSide * 0.8 ? 0 : side * 2 >= kLocalFaceSide * 0.8 ? 1 : 2;
  std::vector<DetectedFace> found;
  impl_->kernel->detect(impl_->hog, *impl_->landmarks, rgb(window), scale, upsample, kLocalHogThreshold, &found);
  DetectedFace* best = nullptr;
  float best_iou = kLocalMatchIou;
  for (auto& f : found) {
    const ScoredBox in_photo{float(f.box.left + window.x), float(f.box.top + window.y), float(f.box.right + window.x),
                             float(f.box.bottom + window.y), 0.f};
    if (const float iou = box_iou(in_photo, b); iou > best_iou) best_iou = iou, best = &f;
  }
  if (!best) return std::nullopt;
  DetectedFace face = std::move(*best);
  if (b.score < kCnnUnconfirmedMinScore && face.score < kCnnConfirmingHogScore) return std::nullopt;
  for (auto& p : face.landmarks) p[0] += float(window.x), p[1] += float(window.y);
  // The CNN's box and score: one detector's, whichever placed the landmarks.
  face.box = clipped_box(b, rgb.cols, rgb.rows);
  face.score = b.score;
  return face;
}

double box_overlap(const FaceBox& a, const FaceBox& b) {
  return box_iou({float(a.left), float(a.top), float(a.right), float(a.bottom), 0.f},
                 {float(b.left), float(b.top), float(b.right), float(b.bottom), 0.f});
}

std::vector<double> FaceDetector::cnn_scales(int width, int height, const DetectOptions& options) {
  std::vector<double> scales;
  const double long_side = std::max(width, height);
  if (long_side <= 0) return scales;
  const double min_face = std::max(1, options.min_face);
  double s = std::min({kCnnMaxUpscale, kCnnSmallFaceInput / min_face, kCnnMaxFinestSide / long_side});
  s = std::max(s, std::min(kCnnSmallestAnchor / min_face, kCnnMaxUpscale));
  scales.push_back(s);
  const double coarsest = std::min(1.0, kCnnCoarsestSide / long_side);
  while (s > coarsest) {
    // Exactly `coarsest` at the end: long_side * s may round above the side.
    s = s / kCnnScaleStep > coarsest ? s / kCnnScaleStep : coarsest;
    scales.push_back(s);
  }
  return scales;
}

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces;
  if (rgb.empty()) return faces;
  if (impl_->cnn) {
    std::vector<ScoredBox> boxes;
    const float confirmed = std::min({options.min_score, kCnnConfirmedMinScore, kCnnCutMinScore});
    const std::vector<double> scales = cnn_scales(rgb.cols, rgb.rows, options);
    // Coarsest first: when the next scale sees a face of min_face pixels at
    // the network's anchors, the finest (an enlargement) runs only if that
    // scale finds a face small enough to gain from it.
    std::vector<std::vector<ScoredBox>> by_scale(scales.size());
    const bool can_look_first =
        scales.size() > 1 && scales[1] * std::max(1, options.min_face) >= kCnnSmallestAnchor - 1e-9;
    const float look = can_look_first ? std::min(confirmed, kCnnLookMinScore) : confirmed;
    for (size_t i = scales.size(); i-- > 1;) by_scale[i] = impl_->cnn->detect_at_scale(rgb, scales[i], look);
    bool small_face_seen = !can_look_first;
    for (const auto& b : can_look_first ? by_scale[1] : std::vector<ScoredBox>{})
      small_face_seen = small_face_seen || std::min(b.width(), b.height()) * scales[1] < kCnnSmallFaceInput;
    if (small_face_seen) by_scale[0] = impl_->cnn->detect_at_scale(rgb, scales[0], confirmed);
    for (auto& level : by_scale)
      level.erase(std::remove_if(level.begin(), level.end(), [&](const ScoredBox& b) { return b.score < confirmed; }),
                  level.end());
    for (size_t i = 0; i < scales.size(); ++i)
      for (const auto& b : by_scale[i]) {
        bool seen = i + 1 == scales.size() || std::max(b.width(), b.height()) * scales[i] <= kCnnFinestBand;
        for (size_t j = i + 1; j < scales.size() && !seen; ++j)
          for (const auto& coarse : by_scale[j]) seen = seen || box_iou(b, coarse) >= kCnnAcrossScalesIou;
        if (seen) boxes.push_back(b);
      }
    std::vector<FaceSeed> unmatched;
    for (const auto& b : suppress_overlaps(std::move(boxes), kCnnSuppressIou)) {
      if (std::min(b.width(), b.height()) < float(options.min_face)) continue;
      if (auto face = hog_in_window(b, rgb))
        faces.push_back(std::move(*face));
      else if (b.score >= std::min(options.min_score, cut_by_the_edge(b, rgb.cols, rgb.rows) ? kCnnCutMinScore : 1.f))
        unmatched.push_back(seed_from_cnn_box(b, rgb.cols, rgb.rows));
    }
    impl_->kernel->place(*impl_->landmarks, rgb, unmatched, &faces);
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

// The seam the indexer and the queries build on: an upright photo in, every
// face with its box, score, landmarks, chip and descriptor out.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "models/embedder.h"
#include "models/face_detector.h"
#include "models/model_files.h"

namespace facedex::models {

struct ResNetWeights;  // models/resnet_weights.h

struct AnalyzedFace {
  DetectedFace face;
  Descriptor descriptor{};
};

// Loaded once per process and shared by every thread's pipeline.
class FaceModels {
 public:
  // detector: kCnn needs set.cnn_detector, and fails with the file named and
  // the fix when it is missing or not the pinned network.
  static Expected<std::shared_ptr<const FaceModels>> load(const ModelSet& set,
                                                          EmbedderBackend backend = EmbedderBackend::kAuto,
                                                          DetectorKind detector = DetectorKind::kCnn);
  const ModelSet& model_set() const { return set_; }
  const std::shared_ptr<const LandmarkModel>& landmarks() const { return landmarks_; }
  EmbedderBackend backend() const { return backend_; }
  DetectorKind detector_kind() const { return detector_; }

  // A new embedder of the chosen backend; `threads` per forward pass.
  Expected<std::unique_ptr<Embedder>> make_embedder(int threads) const;

 private:
  ModelSet set_;
  std::shared_ptr<const LandmarkModel> landmarks_;
  EmbedderBackend backend_ = EmbedderBackend::kDlib;
  DetectorKind detector_ = DetectorKind::kCnn;
  // Read on the first oneDNN embedder, shared by every thread's.
  mutable std::once_flag resnet_weights_once_;
  mutable std::shared_ptr<const ResNetWeights> resnet_weights_;
  mutable Status resnet_weights_error_;
};

// Not thread-safe: one per thread (each holds its own HOG scanner and network).
class FacePipeline {
 public:
  // `embedder_threads`: threads per forward pass (the indexer runs one
  // single-threaded pipeline per core).
  static Expected<std::unique_ptr<FacePipeline>> create(std::shared_ptr<const FaceModels> models,
                                                        int embedder_threads = 1);

  // Detects every face (largest first), each with the chip this pipeline's
  // descriptor model takes: dlib's 150 px chip, or an external model's crop
  // (face_crop.h). Use this, not detector().detect(), for faces to describe.
  std::vector<DetectedFace> detect(const cv::Mat& rgb, const DetectOptions& options);

  // detect(), and every face embedded in one batch.
  // kInternal when the descriptor network fails (Embedder::embed).
  Expected<std::vector<AnalyzedFace>> analyze(const cv::Mat& rgb, const DetectOptions& options);

  // Descriptors of aligned chips as facedex stores them (flip-averaged, see
  // kFlipAveragedDescriptors): use this, not embedder() directly, so that
  // every descriptor in a gallery is made the same way.
  Expected<std::vector<Descriptor>> describe(const std::vector<FaceChip>& chips);

  FaceDetector& detector() { return detector_; }
  Embedder& embedder() { return *embedder_; }
  const ModelSet& model_set() const { return models_->model_set(); }

 private:
  FacePipeline(std::shared_ptr<const FaceModels> models, std::unique_ptr<RetinaFaceNetwork> cnn,
               std::unique_ptr<Embedder> embedder);

  std::shared_ptr<const FaceModels> models_;
  FaceDetector detector_;
  std::unique_ptr<Embedder> embedder_;
};

// Sets the BLAS library (OpenBLAS) to `threads` threads. facedex runs one
// single-threaded network per core instead: dlib's layers outside sgemm are
// serial, so a second BLAS thread barely helps one network.
void set_blas_threads(int threads);

}  // namespace facedex::models

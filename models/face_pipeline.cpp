#include "models/face_pipeline.h"

#include <dlfcn.h>

namespace facedex::models {

Expected<std::shared_ptr<const FaceModels>> FaceModels::load(const ModelSet& set) {
  auto landmarks = LandmarkModel::load(set.landmarks.path);
  if (!landmarks) return landmarks.status();
  auto models = std::make_shared<FaceModels>();
  models->set_ = set;
  models->landmarks_ = *landmarks;
  return std::shared_ptr<const FaceModels>(std::move(models));
}

FacePipeline::FacePipeline(std::shared_ptr<const FaceModels> models, std::unique_ptr<Embedder> embedder)
    : models_(std::move(models)), detector_(models_->landmarks()), embedder_(std::move(embedder)) {}

Expected<std::unique_ptr<FacePipeline>> FacePipeline::create(std::shared_ptr<const FaceModels> models) {
  auto embedder = load_dlib_embedder(models->model_set().descriptor.path);
  if (!embedder) return embedder.status();
  return std::unique_ptr<FacePipeline>(new FacePipeline(std::move(models), std::move(*embedder)));
}

std::vector<AnalyzedFace> FacePipeline::analyze(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces = detector_.detect(rgb, options);
  std::vector<FaceChip> chips;
  chips.reserve(faces.size());
  for (const auto& f : faces) chips.push_back(f.chip);
  const std::vector<Descriptor> descriptors = embedder_->embed(chips);
  std::vector<AnalyzedFace> out(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    out[i].face = std::move(faces[i]);
    out[i].descriptor = descriptors[i];
  }
  return out;
}

void set_blas_threads(int threads) {
  // Looked up at run time: libblas.so.3 is whichever BLAS Debian's alternatives
  // point to, and only OpenBLAS has this entry point.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(threads);
}

}  // namespace facedex::models

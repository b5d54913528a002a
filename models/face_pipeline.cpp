#include "models/face_pipeline.h"

#include <dlfcn.h>
#include <dlib/image_transforms.h>

#include "models/external_embedder.h"
#include "models/face_crop.h"
#include "models/onednn_embedder.h"
#include "models/resnet_weights.h"
#include "models/retinaface_network.h"

namespace facedex::models {

Expected<std::shared_ptr<const FaceModels>> FaceModels::load(const ModelSet& set, EmbedderBackend backend,
                                                             DetectorKind detector) {
  if (detector == DetectorKind::kCnn) {
    if (!set.cnn_detector)
      return Status::not_found(std::string("face detector model not found: ") + kCnnDetectorFile + " is not in " +
                               bundled_models_dir() + " (run scripts/setup.sh to fetch it, or use --detector hog)");
    if (set.cnn_detector->sha256 != pinned_cnn_detector_sha256())
      return Status::invalid_input(set.cnn_detector->path + ": not the pinned face detector (sha256 " +
                                   set.cnn_detector->sha256 + ", expected " + pinned_cnn_detector_sha256() +
                                   "); run scripts/setup.sh to fetch it again, or use --detector hog");
    if (auto net = RetinaFaceNetwork::load(set.cnn_detector->path); !net) return net.status();
  }
  auto landmarks = LandmarkModel::load(set.landmarks.path, set.landmarks.sha256);
  if (!landmarks) return landmarks.status();
  auto models = std::make_shared<FaceModels>();
  models->set_ = set;
  models->landmarks_ = *landmarks;
  models->backend_ = resolve_embedder_backend(backend);
  models->detector_ = detector;
  if ((models->backend_ == EmbedderBackend::kExternal) != set.external.has_value())
    return Status::invalid_input("an external embedder needs an external model set (use_external_model), and only it");
  // An external model is tried once here: a graph without the named tensors
  // or of another shape is named before any photo is read, not on each.
  if (set.external)
    if (auto probe = make_external_embedder(*set.external, 1); !probe) return probe.status();
  return std::shared_ptr<const FaceModels>(std::move(models));
}

Expected<std::unique_ptr<Embedder>> FaceModels::make_embedder(int threads) const {
  if (backend_ == EmbedderBackend::kExternal) return make_external_embedder(*set_.external, threads);
  if (backend_ == EmbedderBackend::kOneDnn) {
    // Read on first use, once for every thread: a re-run with nothing to
    // analyse never pays for it.
    std::call_once(resnet_weights_once_, [this] {
      auto weights = read_resnet_weights(set_.descriptor.path);
      if (weights)
        resnet_weights_ = std::make_shared<const ResNetWeights>(std::move(*weights));
      else
        resnet_weights_error_ = weights.status();
    });
    if (!resnet_weights_) return resnet_weights_error_;
    return make_onednn_embedder(*resnet_weights_, threads);
  }
  set_blas_threads(threads);
  return load_dlib_embedder(set_.descriptor.path);
}

FacePipeline::FacePipeline(std::shared_ptr<const FaceModels> models, std::unique_ptr<RetinaFaceNetwork> cnn,
                           std::unique_ptr<Embedder> embedder)
    : models_(std::move(models)), detector_(models_->landmarks(), std::move(cnn)), embedder_(std::move(embedder)) {}

Expected<std::unique_ptr<FacePipeline>> FacePipeline::create(std::shared_ptr<const FaceModels> models,
                                                             int embedder_threads) {
  auto embedder = models->make_embedder(embedder_threads);
  if (!embedder) return embedder.status();
  std::unique_ptr<RetinaFaceNetwork> cnn;
  if (models->detector_kind() == DetectorKind::kCnn) {
    auto net = RetinaFaceNetwork::load(models->model_set().cnn_detector->path);
    if (!net) return net.status();
    cnn = std::move(*net);
  }
  return std::unique_ptr<FacePipeline>(new FacePipeline(std::move(models), std::move(cnn), std::move(*embedder)));
}

std::vector<DetectedFace> FacePipeline::detect(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces = detector_.detect(rgb, options);
  if (const auto& spec = models_->model_set().external; spec && spec->crop != ChipCrop::kDlib)
    for (DetectedFace& f : faces) f.chip = crop_face(rgb, f, spec->crop, spec->input_size, spec->margin);
  return faces;
}

Expected<std::vector<AnalyzedFace>> FacePipeline::analyze(const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<DetectedFace> faces = detect(rgb, options);
  std::vector<FaceChip> chips;
  chips.reserve(faces.size());
  for (const auto& f : faces) chips.push_back(f.chip);
  auto descriptors = describe(chips);
  if (!descriptors) return descriptors.status();
  std::vector<AnalyzedFace> out(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    out[i].face = std::move(faces[i]);
    out[i].descriptor = (*descriptors)[i];
  }
  return out;
}

Expected<std::vector<Descriptor>> FacePipeline::describe(const std::vector<FaceChip>& chips) {
  if (!kFlipAveragedDescriptors) return embedder_->embed(chips);
  std::vector<FaceChip> both;
  both.reserve(2 * chips.size());
  for (const auto& chip : chips) {
    both.push_back(chip);
    FaceChip mirrored;
    dlib::flip_image_left_right(chip, mirrored);
    both.push_back(std::move(mirrored));
  }
  auto embedded = embedder_->embed(both);
  if (!embedded) return embedded.status();
  const std::vector<Descriptor>& d = *embedded;
  std::vector<Descriptor> out(chips.size());
  for (size_t i = 0; i < chips.size(); ++i) {
    out[i].resize(d[2 * i].size());
    for (size_t k = 0; k < out[i].size(); ++k) out[i][k] = 0.5f * (d[2 * i][k] + d[2 * i + 1][k]);
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

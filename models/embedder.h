// Face descriptor backends: one interface, several implementations (STYLE.md
// section 4): dlib's own DNN, and the same network run by oneDNN. A faster
// backend must agree with dlib to 1e-4 per dimension on real chips (a test
// holds it to that), which is why both share one model fingerprint.
#pragma once

#include <dlib/image_processing/generic_image.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>

#include <memory>
#include <string>
#include <vector>

#include "models/model_constants.h"
#include "util/status.h"

namespace facedex::models {

// An aligned kChipSize x kChipSize RGB face (see face_detector.h).
using FaceChip = dlib::matrix<dlib::rgb_pixel>;

class Embedder {
 public:
  virtual ~Embedder() = default;
  // One descriptor per chip, in order. A network that fails (a library's
  // exception, such as building the network for a new batch size) is
  // kInternal, naming the backend. Not thread-safe: one Embedder per thread.
  Expected<std::vector<Descriptor>> embed(const std::vector<FaceChip>& chips);
  virtual std::string backend_name() const = 0;

 protected:
  // The backend's work; may throw.
  virtual std::vector<Descriptor> run(const std::vector<FaceChip>& chips) = 0;
};

// Loads a dlib .dat holding the ResNet metric network (official or converted).
Expected<std::unique_ptr<Embedder>> load_dlib_embedder(const std::string& model_path);

enum class EmbedderBackend {
  kAuto,      // the fastest built in: oneDNN
  kDlib,      // dlib's own layers (im2col + BLAS sgemm)
  kOneDnn,    // oneDNN's JIT convolutions
  kExternal,  // an external model (external_embedder.h): ONNX, a TensorFlow graph, or a bundled one
};
// "auto", "dlib", "onednn", "onnx:PATH", "tf:PATH", "faceplugin" or "mobilefacenet".
Expected<EmbedderBackend> parse_embedder_backend(const std::string& name);
// external_model_ref() (external_model_spec.h) tells which external model.
const char* embedder_backend_name(EmbedderBackend backend);
// kAuto resolved to the backend it stands for.
EmbedderBackend resolve_embedder_backend(EmbedderBackend backend);

// Converts face-api's TensorFlow.js copy of dlib's ResNet weights
// (face_recognition_model-weights_manifest.json + .bin) into a dlib .dat that
// `dlib::deserialize(path) >> anet_type` loads. Deterministic: the same inputs
// give the same bytes.
Status convert_faceapi_weights(const std::string& manifest_path, const std::string& weights_path,
                               const std::string& out_path);

}  // namespace facedex::models

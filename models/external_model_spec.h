// External descriptor models: a network that maps a cropped face to a
// descriptor, stored as ONNX (--embedder onnx:PATH) or as a frozen TensorFlow
// GraphDef (--embedder tf:PATH; --embedder mobilefacenet is the bundled one),
// run by OpenCV's dnn module. How to feed it is read from PATH.json:
//
//   {"input": "input",               the input tensor (TensorFlow; default "input")
//    "output": "embeddings",         the descriptor tensor (TensorFlow; default "embeddings")
//    "phase_train": "phase_train",   a bool placeholder fed false when the graph has it
//    "input_size": 160,              square input, pixels
//    "crop": "dlib"|"arcface"|"margin",
//    "margin": 0.2,                  margin crop: the box grown by this fraction of its size
//    "channel_order": "rgb"|"bgr",
//    "layout": "nchw"|"nhwc",        ONNX only (OpenCV feeds TensorFlow graphs itself)
//    "prewhiten": false,             true: each face to zero mean, unit deviation (FaceNet)...
//    "mean": [r, g, b] or m,         ...else subtract this from 0..255 values...
//    "scale": s or [r, g, b],        ...then multiply by this
//    "output_dims": 128,             16 to 4096: the gallery takes the model's length
//    "normalise_output": "none"|"l2",
//    "same_person_distance": 0.6,    the model's 1:1 verification distance
//    "who_weights": {"bias": b, "distance": w, "margin": w, "probe_crowding": w,
//                    "reference_crowding": w}}
//                                    optional: `who`'s crowding score fitted for
//                                    this model (search/identity_rule.h); not part
//                                    of the fingerprint, so a refit keeps galleries
//
// The crops: "dlib" is dlib's 150 px chip (25% padding around the 68
// landmarks) resized to the input; "arcface" is a similarity transform of five
// landmarks (eye centres, nose tip, mouth corners) onto the 112 px ArcFace
// template scaled to the input; "margin" is the detector's box grown by the
// margin, resized to the input (FaceNet's crop).
//
// Such a model gets its own fingerprint (its bytes and this spec), so its
// descriptors never mix with another model's, and its own thresholds: every
// distance rule in facedex is scaled by same_person_distance / 0.6.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "models/model_constants.h"
#include "util/status.h"

namespace facedex::models {

enum class ExternalFormat { kOnnx, kTensorFlow };

enum class ChipCrop { kDlib, kArcFace, kMargin };

struct ExternalModelSpec {
  std::string model_path;
  ExternalFormat format = ExternalFormat::kOnnx;
  std::string input_name;   // "" for ONNX: the graph's one input
  std::string output_name;  // "" for ONNX: the graph's last output
  std::string phase_train;  // TensorFlow: fed false if the graph has it; "" none
  int input_size = kChipSize;
  ChipCrop crop = ChipCrop::kDlib;
  double margin = 0.2;  // ChipCrop::kMargin
  bool bgr = false;
  bool nhwc = false;
  bool prewhiten = false;
  std::array<float, 3> mean{0, 0, 0};
  std::array<float, 3> scale{1, 1, 1};
  int output_dims = kDescriptorDims;
  bool l2_normalise = false;
  float same_person_distance = kSamePersonDistance;
  // who_weights in the order bias, distance, margin, probe_crowding, reference_crowding.
  std::optional<std::array<float, 5>> who_weights;
  std::string canonical;  // the spec as normalised JSON (part of the fingerprint)
};

// What --embedder names when it names an external model.
struct ExternalModelRef {
  ExternalFormat format;
  std::string path;
};

// The bundled MobileFaceNet's name for --embedder, and its file in the bundled models.
inline constexpr const char* kMobileFaceNetEmbedder = "mobilefacenet";
inline constexpr const char* kMobileFaceNetFile = "mobilefacenet.pb";
// The bundled Faceplugin face feature network (ONNX, 512 values), likewise.
inline constexpr const char* kFacePluginEmbedder = "faceplugin";
inline constexpr const char* kFacePluginFile = "faceplugin_fr_feature.onnx";

// An external model facedex bundles: its --embedder name, format, file in the
// bundled models, the name messages use and where it came from.
struct BundledExternalModel {
  const char* embedder;
  ExternalFormat format;
  const char* file;
  const char* name;
  const char* origin;
};
// MobileFaceNet and Faceplugin's network.
const std::array<BundledExternalModel, 2>& bundled_external_models();
// The one --embedder `embedder` names, or nullptr.
const BundledExternalModel* bundled_external_model(const std::string& embedder);

// "onnx:PATH", "tf:PATH" or a bundled model's name (`bundled_dir`/its file);
// nullopt for the bundled dlib network's names.
std::optional<ExternalModelRef> external_model_ref(const std::string& embedder, const std::string& bundled_dir);

// Reads ref.path + ".json"; the message names the file and the bad key.
Expected<ExternalModelSpec> load_external_model_spec(const ExternalModelRef& ref);

const char* chip_crop_name(ChipCrop crop);

}  // namespace facedex::models

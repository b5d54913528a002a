// Where the model files come from, and the fingerprint that tags every
// descriptor they produce.
//
// Search order for each file: the user's directory (--models DIR or
// FACEDEX_MODELS), then the files facedex provisions itself (the converted
// face-api descriptor model in the build tree, Debian's libdlib-data landmark
// model). A user who has dlib's official files gets them used instead.
#pragma once

#include <optional>
#include <string>

#include "models/external_model_spec.h"
#include "models/model_constants.h"
#include "util/status.h"

namespace facedex::models {

struct ModelFile {
  std::string path;    // absolute path of the file in use
  std::string origin;  // human-readable: where it came from and what it is
  std::string sha256;  // hex digest of the file's bytes
};

struct ModelSet {
  ModelFile descriptor;                   // dlib ResNet metric network (.dat, anet_type)
  ModelFile landmarks;                    // dlib shape predictor, 68 or 5 points
  int landmark_points;                    // 68 or 5
  std::optional<ModelFile> cnn_detector;  // RetinaFace (kCnnDetectorFile), when found
  // Short hash of descriptor + landmark model: two descriptors are comparable
  // only when their fingerprints are equal (alignment depends on the landmarks).
  std::string fingerprint;
  // The model's 1:1 verification distance; facedex's distance rules scale with it.
  float same_person_distance = kSamePersonDistance;
  int descriptor_dims = kDescriptorDims;      // the length of its descriptors
  std::optional<ExternalModelSpec> external;  // set when descriptors come from an external model
};

// File names facedex knows.
inline constexpr const char* kOfficialDescriptorFile = "dlib_face_recognition_resnet_model_v1.dat";
inline constexpr const char* kConvertedDescriptorFile = "facedex_resnet_faceapi_q8.dat";
inline constexpr const char* kLandmarks68File = "shape_predictor_68_face_landmarks.dat";
inline constexpr const char* kLandmarks5File = "shape_predictor_5_face_landmarks.dat";
// RetinaFace mnet.25, the CNN face detector (models/retinaface_network.h), as the pinned npm package ships it.
inline constexpr const char* kCnnDetectorFile = "retinaface_mnet025.onnx";
inline constexpr const char* kCnnDetectorLicence =
    "MIT (npm package retinaface); the weights are insightface's, whose authors ask that their pretrained models "
    "serve non-commercial research";
// Its sha256, from models/detector_pins.txt: any other file is refused.
const char* pinned_cnn_detector_sha256();
// dlib's built-in HOG detector, decoded at build time (tools/write_hog_detector_main.cpp).
inline constexpr const char* kDecodedHogDetectorFile = "frontal_face_detector.dat";

// user_dir: --models, else FACEDEX_MODELS, else empty (bundled files only).
// embedder: --embedder; "onnx:PATH", "tf:PATH", "faceplugin" or "mobilefacenet" makes the
// set describe that external model (use_external_model), anything else keeps
// the bundled network.
// Fails with kNotFound and a message saying how to provision the models.
Expected<ModelSet> locate_models(const std::string& user_dir, const std::string& embedder = "");

// Makes `set` describe an external descriptor model instead of the bundled
// network: its file, its own fingerprint (model bytes + spec + landmarks), its
// same-person distance and descriptor length. An ArcFace crop needs 68 or 5
// landmarks.
Status use_external_model(const ExternalModelSpec& spec, ModelSet* set);

// The directory of the bundled models: PREFIX/share/facedex/models when the
// program is installed there (cmake --install), else the build's folder.
std::string bundled_models_dir();

// Where `cmake --install` puts the bundled models and the AVX2 detection module,
// relative to the install prefix (the program is PREFIX/bin/facedex).
inline constexpr const char* kInstalledModelsDir = "share/facedex/models";
inline constexpr const char* kInstalledLibDir = "lib/facedex";
// PREFIX/relative for the running program, or "" when it cannot be told.
std::string installed_path(const std::string& relative);

}  // namespace facedex::models

// External descriptor models: any network that maps aligned face chips to a
// descriptor, stored as ONNX and run with OpenCV's dnn module
// (--embedder onnx:PATH). How to feed it is read from PATH.json:
//
//   {"input_size": 160,              square input, pixels (the chip is resized)
//    "channel_order": "rgb"|"bgr",
//    "layout": "nchw"|"nhwc",
//    "mean": [r, g, b] or m,         subtracted from 0..255 values...
//    "scale": s or [r, g, b],        ...then multiplied by this
//    "output_dims": 128,             16 to 4096: the gallery takes the model's length
//    "normalise_output": "none"|"l2",
//    "same_person_distance": 0.6}    the model's 1:1 verification distance
//
// Such a model gets its own fingerprint (its bytes and this spec), so its
// descriptors never mix with another model's, and its own thresholds: every
// distance rule in facedex is scaled by same_person_distance / 0.6.
// Limits: chips are dlib-aligned (150 px, 25% padding) and resized to the
// input size.
#pragma once

#include <array>
#include <string>

#include "models/model_constants.h"
#include "util/status.h"

namespace facedex::models {

struct OnnxModelSpec {
  std::string model_path;
  int input_size = kChipSize;
  bool bgr = false;
  bool nhwc = false;
  std::array<float, 3> mean{0, 0, 0};
  std::array<float, 3> scale{1, 1, 1};
  int output_dims = kDescriptorDims;
  bool l2_normalise = false;
  float same_person_distance = kSamePersonDistance;
  std::string canonical;  // the spec as normalised JSON (part of the fingerprint)
};

// PATH of --embedder "onnx:PATH", else "".
std::string onnx_model_path(const std::string& embedder);

// Reads model_path + ".json"; the message names the file and the bad key.
Expected<OnnxModelSpec> load_onnx_model_spec(const std::string& model_path);

}  // namespace facedex::models

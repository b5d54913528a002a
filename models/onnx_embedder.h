// Runs an external ONNX descriptor model with OpenCV's dnn module; what the
// model is and how it is fed: onnx_model_spec.h.
#pragma once

#include <memory>

#include "models/embedder.h"
#include "models/onnx_model_spec.h"
#include "util/status.h"

namespace facedex::models {

// Loads the network (one per thread) and checks it on a blank chip.
Expected<std::unique_ptr<Embedder>> make_onnx_embedder(const OnnxModelSpec& spec, int threads);

}  // namespace facedex::models

// Writes a TensorFlow.js graph model (model.json + its weight shards) as the
// frozen TensorFlow GraphDef it was converted from, so that TensorFlow's own
// tools and OpenCV's TensorFlow importer (--embedder tf:PATH) can run it. This
// is how the bundled MobileFaceNet becomes a real TensorFlow-exported .pb.
#pragma once

#include <string>

#include "util/status.h"

namespace facedex::models {

// Reads `model_json` (format "graph-model"; its weightsManifest paths are
// relative to it) and writes `pb_path`. The TF.js converter's fused ops are
// written as the plain ops they stand for (_FusedConv2D ->
// Conv2D + BiasAdd [+ Relu|Relu6], FusedDepthwiseConv2dNative likewise), so the
// graph computes what TF.js computes. Deterministic: the same inputs give the
// same bytes. kInvalidInput names the file and what it cannot write.
Status write_tfjs_graph_as_graphdef(const std::string& model_json, const std::string& pb_path);

}  // namespace facedex::models

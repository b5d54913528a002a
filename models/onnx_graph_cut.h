// Cuts an ONNX model down to the nodes that some of its tensors need.
//
// ULFD's graph ends by decoding boxes against priors built for one input
// size (320x240); OpenCV cannot run those last nodes at any other size. Cut at
// the raw class logits and box offsets, the network runs at any size and
// facedex decodes the boxes itself (models/ulfd_network.h).
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

// `model`: the bytes of an ONNX ModelProto. Returns the same model with only
// the nodes that `outputs` depend on, and `outputs` as the graph's outputs
// (float tensors of unknown shape). Initializers and inputs are kept as they are.
// Fails if the bytes are not a model or an output is made by no node.
Expected<std::string> cut_onnx_graph(const std::string& model, const std::vector<std::string>& outputs);

}  // namespace facedex::models

// Cuts an ONNX model down to the nodes that some of its tensors need.
//
// RetinaFace's published graph only runs at the size it was exported for
// (640x640): its feature pyramid crops each upsampled map to the shape of the
// next one, which OpenCV's importer fixes at load time. Fed the upsampled map
// directly (exact when the input is a multiple of 32) and cut at the raw class
// scores, box and landmark offsets, it runs at any such size and facedex
// decodes the boxes itself (models/retinaface_network.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

// `model`: the bytes of an ONNX ModelProto. Returns the same model with only
// the nodes that `outputs` depend on, and `outputs` as the graph's outputs
// (float tensors of unknown shape). A node input named as a key of
// `rewired_inputs` reads the tensor it maps to instead. Initializers and inputs
// are kept as they are. Fails if the bytes are not a model, an output is made
// by no node, or a rewired input is read by no node.
Expected<std::string> cut_onnx_graph(const std::string& model, const std::vector<std::string>& outputs,
                                     const std::map<std::string, std::string>& rewired_inputs = {});

}  // namespace facedex::models

// The nodes and float initializers of an ONNX model, read for a network that
// facedex runs itself (models/onednn_conv_net.h). Only what such a network
// needs is kept: integer, float and string attributes, float tensors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

struct OnnxNode {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, std::vector<int64_t>> ints;  // INT and INTS attributes
  std::map<std::string, float> floats;
  std::map<std::string, std::string> strings;
};

struct OnnxTensor {
  std::vector<int64_t> dims;
  std::vector<float> values;  // row-major
};

struct OnnxGraph {
  std::vector<OnnxNode> nodes;                     // in the file's (topological) order
  std::map<std::string, OnnxTensor> initializers;  // the float ones
  std::vector<std::string> inputs, outputs;        // graph inputs that are not initializers
};

// Fails when the bytes are not an ONNX model.
Expected<OnnxGraph> read_onnx_graph(const std::string& model);

}  // namespace facedex::models

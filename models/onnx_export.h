// Writes dlib's face ResNet (the bundled weights, or the official ones) as an
// ONNX model, with a spec file beside it saying how to feed it. This is the
// real model file the external-embedder path (--embedder onnx:PATH) is tested
// with, and a way to run facedex's descriptor network in other ONNX runtimes.
#pragma once

#include <string>

#include "models/resnet_weights.h"
#include "util/status.h"

namespace facedex::models {

// Writes `onnx_path` (opset 11: Conv, Relu, MaxPool, AveragePool, Pad, Add,
// GlobalAveragePool, Flatten, Gemm; input "chips" [N,3,150,150] float, output
// "descriptors" [N,128]) and `onnx_path + ".json"` (see external_model_spec.h). The
// affine layers are folded into the convolutions; the input normalisation is
// left to the caller, as the spec file describes.
Status write_resnet_onnx(const ResNetWeights& weights, const std::string& onnx_path);

// The same from a dlib .dat of the network (models/model_files.h's descriptor model).
Status write_resnet_onnx(const std::string& dat_path, const std::string& onnx_path);

}  // namespace facedex::models

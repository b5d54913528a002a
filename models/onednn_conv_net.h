// A small convolutional ONNX graph run by oneDNN. RetinaFace's published graph
// is run this way (models/retinaface_network.h): OpenCV's DNN module runs its
// thin early layers and 3x3 heads several times slower than oneDNN's JIT
// convolutions (benchmarks/RESULTS.md, "Face detection").
//
// What it runs: Conv (a BatchNormalization after it folded in, a Relu or
// PRelu after that fused), Relu, Add, Concat of channels, Resize by whole
// factors (nearest), Sub/Mul by a scalar straight after the input, and a
// Reshape or Flatten that makes a graph output (its values in NCHW order).
// Activations are kept in oneDNN's channel-blocked layout; buffers are reused
// once a tensor's last reader has run. The primitives for an input shape are
// made on its first run and kept for the last few shapes.
//
// Not thread-safe: one per thread.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "models/onnx_graph.h"
#include "util/status.h"

namespace facedex::models {

class OnednnConvNet {
 public:
  // Fails naming the first node it cannot run.
  static Expected<std::unique_ptr<OnednnConvNet>> create(const OnnxGraph& graph,
                                                         const std::vector<std::string>& outputs);
  ~OnednnConvNet();

  // blob: 1 x C x H x W floats (NCHW). Fills `outputs` with one 4-d NCHW
  // float Mat per requested output, in their order. Throws on a oneDNN error.
  void run(const cv::Mat& blob, std::vector<cv::Mat>* outputs);

  // The OpenMP threads each run may use (0: OpenMP's default).
  void set_threads(int threads);

 private:
  struct Impl;
  explicit OnednnConvNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facedex::models

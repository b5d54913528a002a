// RetinaFace with a MobileNet-0.25 backbone (insightface's mnet.25, MIT
// licence): a 1.7 MB convolutional face detector, run by oneDNN
// (models/onednn_conv_net.h) or by OpenCV's DNN module, its reference.
//
// The published graph runs only at 640x640 (models/onnx_graph_cut.h says
// why). facedex feeds its pyramid's upsampled maps straight on and cuts it at
// the raw class scores and box offsets of its three levels, so it runs at any
// input whose sides are multiples of 32; the anchors are generated here, as
// upstream does. Its five landmarks are cut away: the 68 dlib places are what
// descriptors need (face_detector.h).
//
// Not thread-safe (a network keeps buffers): one per thread.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "models/scored_box.h"
#include "util/status.h"

namespace facedex::models {

// The published graph's levels: feature stride, and the anchor sides (input
// pixels) at each cell, in the order of the outputs' channels.
struct RetinaFaceLevel {
  int stride;
  std::array<float, 2> anchors;
};
inline constexpr RetinaFaceLevel kRetinaFaceLevels[] = {{8, {32, 16}}, {16, {128, 64}}, {32, {512, 256}}};
// Input sides are rounded up to a multiple of this (the coarsest stride).
inline constexpr int kRetinaFaceInputMultiple = 32;
// The size the published graph was exported for.
inline constexpr int kRetinaFacePublishedSide = 640;

// The tensor names of one level's raw outputs.
std::string retinaface_scores_tensor(int stride);   // 1 x 4 x H x W: background, background, face, face
std::string retinaface_offsets_tensor(int stride);  // 1 x 8 x H x W: dx, dy, dw, dh per anchor

// What runs the network: oneDNN (models/onednn_conv_net.h), or OpenCV's DNN
// module, the reference it is tested against.
enum class CnnBackend { kOnednn, kOpencv };
const char* cnn_backend_name(CnnBackend backend);
// oneDNN, unless FACEDEX_CNN_BACKEND=opencv.
CnnBackend default_cnn_backend();

class RetinaFaceNetwork {
 public:
  // Reads the published ONNX file and cuts it. Fails with the file named.
  static Expected<std::unique_ptr<RetinaFaceNetwork>> load(const std::string& path,
                                                           CnnBackend backend = default_cnn_backend());
  ~RetinaFaceNetwork();

  // The network's input for `rgb` (CV_8UC3, RGB) resized to `size`: NCHW
  // floats, 0..255 as upstream feeds them (the graph normalises), padded with
  // black to the next multiple of 32 on the right and at the bottom.
  static cv::Mat input_blob(const cv::Mat& rgb, cv::Size size);

  // The raw outputs for `blob`, one pair per level of kRetinaFaceLevels.
  struct RawOutputs {
    std::vector<cv::Mat> scores, offsets;
  };
  void run(const cv::Mat& blob, RawOutputs* out);
  CnnBackend backend() const;

  // Every anchor's face probability and decoded box, in the input's pixels,
  // keeping those scoring at least `min_score` (no suppression). Level by
  // level, anchor by anchor, then row by row.
  static std::vector<ScoredBox> decode(const RawOutputs& raw, float min_score);

  // Runs the network on `rgb` resized by `scale` and returns the boxes scoring
  // at least `min_score`, in `rgb`'s pixels (no suppression).
  std::vector<ScoredBox> detect_at_scale(const cv::Mat& rgb, double scale, float min_score);

 private:
  void run_opencv(const cv::Mat& blob, std::vector<cv::Mat>* outs);

  struct Impl;
  explicit RetinaFaceNetwork(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facedex::models

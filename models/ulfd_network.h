// ULFD, Linzaer's Ultra-Light-Fast-Generic-Face-Detector (RFB-320, MIT
// licence): a 1 MB convolutional face detector run by OpenCV's DNN module.
//
// The published graph is cut at its raw outputs (class logits and box offsets,
// models/onnx_graph_cut.h) so that it runs at any input size; the priors the
// offsets refer to are generated here for that size, as the upstream code does.
// Boxes only: landmarks come from dlib's shape predictor (face_detector.h).
//
// Not thread-safe (an OpenCV network keeps buffers): one per thread.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

// A box in the photo's pixels (right and bottom exclusive, fractional) with
// the network's face probability, 0..1.
struct ScoredBox {
  float left = 0, top = 0, right = 0, bottom = 0;
  float score = 0;
  float width() const { return right - left; }
  float height() const { return bottom - top; }
};

// Intersection over union of two boxes.
float box_iou(const ScoredBox& a, const ScoredBox& b);

// Greedy non-maximum suppression: the best-scored box of each group that
// overlaps by more than `iou` survives. Sorted by score, best first.
std::vector<ScoredBox> suppress_overlaps(std::vector<ScoredBox> boxes, float iou);

// The tensor names where facedex cuts the graph.
inline constexpr const char* kUlfdLogitsTensor = "461";
inline constexpr const char* kUlfdOffsetsTensor = "462";
// The input size the published graph is fixed to.
inline constexpr int kUlfdPublishedWidth = 320, kUlfdPublishedHeight = 240;

class UlfdNetwork {
 public:
  // Reads the published ONNX file and cuts it. Fails with the file named.
  static Expected<std::unique_ptr<UlfdNetwork>> load(const std::string& path);
  ~UlfdNetwork();

  // The network's input for `rgb` (CV_8UC3, RGB) resized to `size`: NCHW floats,
  // (pixel - 127) / 128 as upstream normalises.
  static cv::Mat input_blob(const cv::Mat& rgb, cv::Size size);

  // The priors of an input of `size`: (centre x, centre y, width, height),
  // normalised to the input, in the order the network's outputs use.
  static std::vector<std::array<float, 4>> priors(cv::Size size);

  // The raw outputs for `blob`: logits N x 2 and offsets N x 4, one row per prior.
  void run(const cv::Mat& blob, cv::Mat* logits, cv::Mat* offsets);

  // Every prior's face probability and decoded box, in the input's pixels,
  // keeping those scoring at least `min_score` (no suppression).
  static std::vector<ScoredBox> decode(const cv::Mat& logits, const cv::Mat& offsets, cv::Size size, float min_score);

  // Runs the network on `rgb` resized by `scale` and returns the boxes scoring
  // at least `min_score`, in `rgb`'s pixels (no suppression).
  std::vector<ScoredBox> detect_at_scale(const cv::Mat& rgb, double scale, float min_score);

 private:
  struct Impl;
  explicit UlfdNetwork(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facedex::models

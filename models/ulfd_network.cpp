#include "models/ulfd_network.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "models/face_detector.h"
#include "models/onnx_graph_cut.h"

namespace facedex::models {
namespace {

// Upstream's prior layout: one level per stride, these anchor sizes (input
// pixels) at each cell.
constexpr int kStrides[] = {8, 16, 32, 64};
const std::vector<std::vector<float>> kMinBoxes = {{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}};
constexpr float kCentreVariance = 0.1f, kSizeVariance = 0.2f;

// The cut graph, made once per file and shared by every thread's network.
Expected<std::shared_ptr<const std::string>> cut_model(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const std::string>> cut;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cut.find(path); it != cut.end()) return it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path + ": cannot read the face detector model");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto model = cut_onnx_graph(bytes.str(), {kUlfdLogitsTensor, kUlfdOffsetsTensor});
  if (!model) return Status::invalid_input(path + ": not the ULFD face detector (" + model.status().message() + ")");
  auto shared = std::make_shared<const std::string>(std::move(*model));
  cut[path] = shared;
  return shared;
}

}  // namespace

void set_cnn_threads(int threads) { cv::setNumThreads(std::max(1, threads)); }

float box_iou(const ScoredBox& a, const ScoredBox& b) {
  const float w = std::min(a.right, b.right) - std::max(a.left, b.left);
  const float h = std::min(a.bottom, b.bottom) - std::max(a.top, b.top);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h;
  return inter / (a.width() * a.height() + b.width() * b.height() - inter);
}

std::vector<ScoredBox> suppress_overlaps(std::vector<ScoredBox> boxes, float iou) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const ScoredBox& a, const ScoredBox& b) { return a.score > b.score; });
  std::vector<ScoredBox> kept;
  for (const auto& b : boxes) {
    bool overlaps = false;
    for (const auto& k : kept)
      if (box_iou(b, k) > iou) {
        overlaps = true;
        break;
      }
    if (!overlaps) kept.push_back(b);
  }
  return kept;
}

struct UlfdNetwork::Impl {
  cv::dnn::Net net;
};

UlfdNetwork::UlfdNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UlfdNetwork::~UlfdNetwork() = default;

Expected<std::unique_ptr<UlfdNetwork>> UlfdNetwork::load(const std::string& path) {
  auto model = cut_model(path);
  if (!model) return model.status();
  auto impl = std::make_unique<Impl>();
  try {
    impl->net = cv::dnn::readNetFromONNX((*model)->data(), (*model)->size());
  } catch (const cv::Exception& e) {
    return Status::invalid_input(path + ": OpenCV cannot load this face detector (" + e.what() + ")");
  }
  if (impl->net.empty()) return Status::invalid_input(path + ": OpenCV loaded an empty face detector");
  impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return std::unique_ptr<UlfdNetwork>(new UlfdNetwork(std::move(impl)));
}

cv::Mat UlfdNetwork::input_blob(const cv::Mat& rgb, cv::Size size) {
  cv::Mat sized = rgb;
  if (rgb.size() != size) {
    const bool shrinking = size.width < rgb.cols && size.height < rgb.rows;
    cv::resize(rgb, sized, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const int dims[] = {1, 3, size.height, size.width};
  cv::Mat blob(4, dims, CV_32F);
  const size_t plane = size_t(size.width) * size_t(size.height);
  float* out = blob.ptr<float>();
  for (int r = 0; r < size.height; ++r) {
    const uint8_t* row = sized.ptr<uint8_t>(r);
    for (int c = 0; c < size.width; ++c)
      for (int ch = 0; ch < 3; ++ch)
        out[size_t(ch) * plane + size_t(r) * size_t(size.width) + size_t(c)] = (float(row[3 * c + ch]) - 127.f) / 128.f;
  }
  return blob;
}

std::vector<std::array<float, 4>> UlfdNetwork::priors(cv::Size size) {
  std::vector<std::array<float, 4>> out;
  for (size_t level = 0; level < std::size(kStrides); ++level) {
    const int stride = kStrides[level];
    const int cols = (size.width + stride - 1) / stride, rows = (size.height + stride - 1) / stride;
    for (int j = 0; j < rows; ++j)
      for (int i = 0; i < cols; ++i)
        for (float box : kMinBoxes[level]) {
          // Upstream's shrinkage is the input size over the feature map's, so
          // centres divide by the map's size, not by the stride.
          std::array<float, 4> p{(float(i) + 0.5f) / float(cols), (float(j) + 0.5f) / float(rows),
                                 box / float(size.width), box / float(size.height)};
          for (float& v : p) v = std::clamp(v, 0.f, 1.f);
          out.push_back(p);
        }
  }
  return out;
}

void UlfdNetwork::run(const cv::Mat& blob, cv::Mat* logits, cv::Mat* offsets) {
  impl_->net.setInput(blob);
  std::vector<cv::Mat> outs;
  impl_->net.forward(outs, std::vector<cv::String>{kUlfdLogitsTensor, kUlfdOffsetsTensor});
  *logits = outs[0].reshape(1, int(outs[0].total() / 2));
  *offsets = outs[1].reshape(1, int(outs[1].total() / 4));
}

std::vector<ScoredBox> UlfdNetwork::decode(const cv::Mat& logits, const cv::Mat& offsets, cv::Size size,
                                           float min_score) {
  const auto anchors = priors(size);
  std::vector<ScoredBox> out;
  const int n = std::min({logits.rows, offsets.rows, int(anchors.size())});
  for (int i = 0; i < n; ++i) {
    const float* l = logits.ptr<float>(i);
    const float score = 1.f / (1.f + std::exp(l[0] - l[1]));  // softmax of two classes
    if (score < min_score) continue;
    const float* o = offsets.ptr<float>(i);
    const auto& p = anchors[size_t(i)];
    const float cx = p[0] + o[0] * kCentreVariance * p[2], cy = p[1] + o[1] * kCentreVariance * p[3];
    const float w = p[2] * std::exp(o[2] * kSizeVariance), h = p[3] * std::exp(o[3] * kSizeVariance);
    ScoredBox b;
    b.left = (cx - w / 2) * float(size.width);
    b.right = (cx + w / 2) * float(size.width);
    b.top = (cy - h / 2) * float(size.height);
    b.bottom = (cy + h / 2) * float(size.height);
    b.score = score;
    out.push_back(b);
  }
  return out;
}

std::vector<ScoredBox> UlfdNetwork::detect_at_scale(const cv::Mat& rgb, double scale, float min_score) {
  const cv::Size size(std::max(1, int(std::lround(rgb.cols * scale))), std::max(1, int(std::lround(rgb.rows * scale))));
  cv::Mat logits, offsets;
  run(input_blob(rgb, size), &logits, &offsets);
  std::vector<ScoredBox> boxes = decode(logits, offsets, size, min_score);
  const float sx = float(rgb.cols) / float(size.width), sy = float(rgb.rows) / float(size.height);
  for (auto& b : boxes) {
    b.left *= sx;
    b.right *= sx;
    b.top *= sy;
    b.bottom *= sy;
  }
  return boxes;
}

}  // namespace facedex::models

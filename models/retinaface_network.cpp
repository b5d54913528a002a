#include "models/retinaface_network.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "models/face_detector.h"
#include "models/onednn_conv_net.h"
#include "models/onnx_graph.h"
#include "models/onnx_graph_cut.h"

namespace facedex::models {
namespace {

// Upstream's anchors are centred on the middle of a 16 px cell base.
constexpr float kAnchorCentre = 8.f;

// The crops of the pyramid's upsampled maps and what they crop (see the header).
const std::map<std::string, std::string> kUncroppedMaps = {{"crop0", "rf_c3_upsampling"},
                                                           {"crop1", "rf_c2_upsampling"}};

std::vector<std::string> raw_tensors() {
  std::vector<std::string> names;
  for (const auto& level : kRetinaFaceLevels) {
    names.push_back(retinaface_scores_tensor(level.stride));
    names.push_back(retinaface_offsets_tensor(level.stride));
  }
  return names;
}

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
  auto model = cut_onnx_graph(bytes.str(), raw_tensors(), kUncroppedMaps);
  if (!model)
    return Status::invalid_input(path + ": not the RetinaFace face detector (" + model.status().message() + ")");
  auto shared = std::make_shared<const std::string>(std::move(*model));
  cut[path] = shared;
  return shared;
}

int round_up(int v, int multiple) { return (v + multiple - 1) / multiple * multiple; }

std::atomic<int> cnn_threads{0};  // 0 until set_cnn_threads: the libraries' defaults

// Storage reused from call to call: large photos' inputs are tens of MB, and
// fresh pages cost a fault each.
template <typename T>
struct GrowingBuffer {
  std::unique_ptr<T[]> data;  // uninitialised: every use writes it all
  size_t size = 0;

  T* at_least(size_t n) {
    if (n > size) {
      size = std::max(n, size + size / 2);
      data.reset(new T[size]);
    }
    return data.get();
  }
};

// The input for `rgb` resized to `size`, in `blob` over `blob_store`; the
// resized pixels go to `sized_store`.
void fill_input_blob(const cv::Mat& rgb, cv::Size size, GrowingBuffer<uint8_t>* sized_store,
                     GrowingBuffer<float>* blob_store, cv::Mat* blob) {
  cv::Mat sized = rgb;
  if (rgb.size() != size) {
    sized = cv::Mat(size, CV_8UC3, sized_store->at_least(size_t(size.area()) * 3));
    const bool shrinking = size.width < rgb.cols && size.height < rgb.rows;
    cv::resize(rgb, sized, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const int rows = round_up(size.height, kRetinaFaceInputMultiple);
  const int cols = round_up(size.width, kRetinaFaceInputMultiple);
  const size_t plane = size_t(rows) * size_t(cols);
  float* out = blob_store->at_least(3 * plane);
  const int dims[] = {1, 3, rows, cols};
  *blob = cv::Mat(4, dims, CV_32F, out);
  for (int ch = 0; ch < 3; ++ch)
    for (int r = 0; r < rows; ++r) {
      float* to = out + size_t(ch) * plane + size_t(r) * size_t(cols);
      if (r >= size.height) {
        std::fill(to, to + cols, 0.f);
        continue;
      }
      const uint8_t* row = sized.ptr<uint8_t>(r) + ch;
      for (int c = 0; c < size.width; ++c) to[c] = row[3 * c];
      std::fill(to + size.width, to + cols, 0.f);
    }
}

}  // namespace

std::string retinaface_scores_tensor(int stride) { return "face_rpn_cls_score_stride" + std::to_string(stride); }
std::string retinaface_offsets_tensor(int stride) { return "face_rpn_bbox_pred_stride" + std::to_string(stride); }

void set_cnn_threads(int threads) {
  cnn_threads = std::max(1, threads);
  cv::setNumThreads(cnn_threads);
}

const char* cnn_backend_name(CnnBackend backend) { return backend == CnnBackend::kOpencv ? "opencv" : "onednn"; }

CnnBackend default_cnn_backend() {
  const char* env = std::getenv("FACEDEX_CNN_BACKEND");
  return env && std::string(env) == "opencv" ? CnnBackend::kOpencv : CnnBackend::kOnednn;
}

struct RetinaFaceNetwork::Impl {
  CnnBackend backend = CnnBackend::kOnednn;
  GrowingBuffer<uint8_t> sized_store;  // detect_at_scale's resized photo and input, reused
  GrowingBuffer<float> blob_store;
  std::unique_ptr<OnednnConvNet> onednn;
  cv::dnn::Net opencv;
};

RetinaFaceNetwork::RetinaFaceNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RetinaFaceNetwork::~RetinaFaceNetwork() = default;

Expected<std::unique_ptr<RetinaFaceNetwork>> RetinaFaceNetwork::load(const std::string& path, CnnBackend backend) {
  auto model = cut_model(path);
  if (!model) return model.status();
  auto impl = std::make_unique<Impl>();
  impl->backend = backend;
  if (backend == CnnBackend::kOnednn) {
    auto graph = read_onnx_graph(**model);
    if (!graph) return Status::invalid_input(path + ": " + graph.status().message());
    auto net = OnednnConvNet::create(*graph, raw_tensors());
    if (!net)
      return Status::invalid_input(path + ": oneDNN cannot run this face detector (" + net.status().message() + ")");
    impl->onednn = std::move(*net);
    return std::unique_ptr<RetinaFaceNetwork>(new RetinaFaceNetwork(std::move(impl)));
  }
  try {
    impl->opencv = cv::dnn::readNetFromONNX((*model)->data(), (*model)->size());
  } catch (const cv::Exception& e) {
    return Status::invalid_input(path + ": OpenCV cannot load this face detector (" + e.what() + ")");
  }
  if (impl->opencv.empty()) return Status::invalid_input(path + ": OpenCV loaded an empty face detector");
  impl->opencv.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  impl->opencv.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return std::unique_ptr<RetinaFaceNetwork>(new RetinaFaceNetwork(std::move(impl)));
}

cv::Mat RetinaFaceNetwork::input_blob(const cv::Mat& rgb, cv::Size size) {
  GrowingBuffer<uint8_t> sized;
  GrowingBuffer<float> store;
  cv::Mat blob;
  fill_input_blob(rgb, size, &sized, &store, &blob);
  return blob.clone();  // owning
}

CnnBackend RetinaFaceNetwork::backend() const { return impl_->backend; }

void RetinaFaceNetwork::run(const cv::Mat& blob, RawOutputs* out) {
  std::vector<cv::Mat> outs;
  if (impl_->onednn) {
    impl_->onednn->set_threads(cnn_threads);
    impl_->onednn->run(blob, &outs);
  } else {
    run_opencv(blob, &outs);
  }
  out->scores.clear();
  out->offsets.clear();
  for (size_t i = 0; i + 1 < outs.size(); i += 2) {
    out->scores.push_back(outs[i]);
    out->offsets.push_back(outs[i + 1]);
  }
}

void RetinaFaceNetwork::run_opencv(const cv::Mat& blob, std::vector<cv::Mat>* outs) {
  impl_->opencv.setInput(blob);
  const std::vector<std::string> names = raw_tensors();
  impl_->opencv.forward(*outs, std::vector<cv::String>(names.begin(), names.end()));
}

std::vector<ScoredBox> RetinaFaceNetwork::decode(const RawOutputs& raw, float min_score) {
  std::vector<ScoredBox> out;
  for (size_t l = 0; l < std::size(kRetinaFaceLevels) && l < raw.scores.size() && l < raw.offsets.size(); ++l) {
    const auto& level = kRetinaFaceLevels[l];
    const cv::Mat& scores = raw.scores[l];
    const cv::Mat& offsets = raw.offsets[l];
    if (scores.dims != 4 || offsets.dims != 4) continue;
    const int rows = scores.size[2], cols = scores.size[3];
    const size_t plane = size_t(rows) * size_t(cols);
    const float* s = scores.ptr<float>();
    const float* o = offsets.ptr<float>();
    const size_t n = level.anchors.size();
    for (size_t a = 0; a < n; ++a) {
      const float side = level.anchors[a];
      const float* background = s + a * plane;
      const float* face = s + (a + n) * plane;
      const float* d = o + 4 * a * plane;
      for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) {
          const size_t i = size_t(y) * size_t(cols) + size_t(x);
          const float score = 1.f / (1.f + std::exp(background[i] - face[i]));  // softmax of two classes
          if (score < min_score) continue;
          const float cx = kAnchorCentre + float(x * level.stride) + side * d[i];
          const float cy = kAnchorCentre + float(y * level.stride) + side * d[plane + i];
          const float w = side * std::exp(d[2 * plane + i]), h = side * std::exp(d[3 * plane + i]);
          out.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score});
        }
    }
  }
  return out;
}

std::vector<ScoredBox> RetinaFaceNetwork::detect_at_scale(const cv::Mat& rgb, double scale, float min_score) {
  const cv::Size size(std::max(1, int(std::lround(rgb.cols * scale))), std::max(1, int(std::lround(rgb.rows * scale))));
  RawOutputs raw;
  cv::Mat blob;
  fill_input_blob(rgb, size, &impl_->sized_store, &impl_->blob_store, &blob);
  run(blob, &raw);
  std::vector<ScoredBox> boxes = decode(raw, min_score);
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

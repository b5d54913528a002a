#include "models/external_embedder.h"

#include <atomic>
#include <cmath>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "models/onednn_conv_net.h"
#include "models/onnx_graph.h"
#include "models/tf_graph_rewrite.h"

namespace facedex::models {
namespace {

class ExternalEmbedder final : public Embedder {
 public:
  ExternalEmbedder(ExternalModelSpec spec, cv::dnn::Net net) : spec_(std::move(spec)), net_(std::move(net)) {}

  // From now on the network runs on oneDNN, one face at a time (nullptr: OpenCV again).
  void use_onednn(std::unique_ptr<OnednnConvNet> net, int threads) {
    onednn_ = std::move(net);
    if (onednn_) onednn_->set_threads(threads);
  }

  std::vector<Descriptor> run(const std::vector<FaceChip>& chips) override {
    std::vector<Descriptor> out(chips.size());
    if (chips.empty()) return out;
    if (onednn_) {
      const int s = spec_.input_size, dims[] = {1, 3, s, s};
      cv::Mat blob(4, dims, CV_32F);
      std::vector<cv::Mat> result;
      for (size_t i = 0; i < chips.size(); ++i) {
        fill(chips[i], blob.ptr<float>());
        onednn_->run(blob, &result);
        if (result.size() != 1 || result[0].total() != size_t(spec_.output_dims))
          CV_Error(cv::Error::StsBadSize, "the model gave " + shape_of(result.at(0)) + ", not " +
                                              std::to_string(spec_.output_dims) + " values");
        out[i] = descriptor(result[0].ptr<float>());
      }
      return out;
    }
    if (chips.size() > 1 && one_at_a_time_) {
      for (size_t i = 0; i < chips.size(); ++i) out[i] = run({chips[i]})[0];
      return out;
    }
    const int n = int(chips.size()), s = spec_.input_size;
    const int dims_nchw[] = {n, 3, s, s}, dims_nhwc[] = {n, s, s, 3};
    cv::Mat blob(4, spec_.nhwc ? dims_nhwc : dims_nchw, CV_32F);
    for (int i = 0; i < n; ++i) fill(chips[size_t(i)], blob.ptr<float>() + size_t(i) * 3 * size_t(s) * size_t(s));
    net_.setInput(blob, spec_.input_name);
    cv::Mat result = net_.forward(spec_.output_name);
    const size_t dims = size_t(spec_.output_dims);
    if (n > 1 && result.total() == size_t(n) * dims && result.size[0] == 1) {
      // A graph exported for batch 1 (a Reshape to [1, -1]) folds the faces
      // into one row: from now on, one face per run.
      one_at_a_time_ = true;
      return run(chips);
    }
    if (result.total() != size_t(n) * dims || result.size[0] != n)
      CV_Error(cv::Error::StsBadSize, "the model gave " + shape_of(result) + " for " + std::to_string(n) +
                                          " faces, not " + std::to_string(dims) + " values per face");
    result = result.reshape(1, n);
    for (int i = 0; i < n; ++i) out[size_t(i)] = descriptor(result.ptr<float>(i));
    return out;
  }

  std::string backend_name() const override {
    return spec_.format == ExternalFormat::kTensorFlow ? "tf" : onednn_ ? "onnx-onednn" : "onnx";
  }

 private:
  Descriptor descriptor(const float* values) const {
    Descriptor d(values, values + spec_.output_dims);
    if (spec_.l2_normalise) {
      double norm = 0;
      for (float v : d) norm += double(v) * v;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (float& v : d) v = float(v / norm);
    }
    return d;
  }

  // One face into the blob: resized to the input, per-face standardised
  // (prewhiten) or shifted and scaled per channel, in the model's order.
  void fill(const FaceChip& chip, float* image) const {
    const int s = spec_.input_size;
    cv::Mat rgb(int(chip.nr()), int(chip.nc()), CV_8UC3, const_cast<dlib::rgb_pixel*>(&chip(0, 0)));
    cv::Mat sized = rgb;
    if (rgb.cols != s || rgb.rows != s)
      cv::resize(rgb, sized, cv::Size(s, s), 0, 0, rgb.cols > s ? cv::INTER_AREA : cv::INTER_LINEAR);
    std::array<float, 3> mean = spec_.mean, scale = spec_.scale;
    if (spec_.prewhiten) {
      // FaceNet's prewhiten: the deviation is kept from 1/sqrt(values) so a flat face does not blow up.
      cv::Scalar m, sd;
      cv::meanStdDev(sized.reshape(1), m, sd);
      const double values = 3.0 * s * s;
      mean.fill(float(m[0]));
      scale.fill(float(1.0 / std::max(sd[0], 1.0 / std::sqrt(values))));
    }
    for (int r = 0; r < s; ++r) {
      const uint8_t* row = sized.ptr<uint8_t>(r);
      for (int c = 0; c < s; ++c)
        for (int ch = 0; ch < 3; ++ch) {
          const int source = spec_.bgr ? 2 - ch : ch;  // output channel ch reads this RGB channel
          const float v = (float(row[3 * c + source]) - mean[size_t(source)]) * scale[size_t(source)];
          const size_t at =
              spec_.nhwc ? (size_t(r) * s + size_t(c)) * 3 + size_t(ch) : (size_t(ch) * s + size_t(r)) * s + size_t(c);
          image[at] = v;
        }
    }
  }

  static std::string shape_of(const cv::Mat& m) {
    std::string out = "a tensor of shape [";
    for (int i = 0; i < m.dims; ++i) out += (i ? ", " : "") + std::to_string(m.size[i]);
    return out + "]";
  }

  ExternalModelSpec spec_;
  std::atomic<bool> one_at_a_time_{false};
  cv::dnn::Net net_;
  std::unique_ptr<OnednnConvNet> onednn_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The TensorFlow graph as OpenCV can run it: the named tensors checked first,
// so that a wrong name is reported as such rather than as OpenCV's failure.
Expected<cv::dnn::Net> read_tensorflow(const ExternalModelSpec& spec) {
  const std::string bytes = read_bytes(spec.model_path);
  if (bytes.empty()) return Status::invalid_input(spec.model_path + ": empty or unreadable TensorFlow GraphDef");
  auto graph = graphdef_for_opencv(bytes, {spec.input_name, spec.output_name, spec.phase_train});
  if (!graph) return graph.status().prefixed(spec.model_path + ": ");
  return cv::dnn::readNetFromTensorflow(graph->data(), graph->size());
}

// FACEDEX_EXTERNAL_BACKEND=opencv keeps every external model on OpenCV's dnn.
bool opencv_asked() {
  const char* env = std::getenv("FACEDEX_EXTERNAL_BACKEND");
  return env && std::string(env) == "opencv";
}

// An ONNX graph of the operations oneDNN's runner knows (Faceplugin's
// MobileFaceNet: convolutions, PReLU, Add) runs there, several times faster
// than in OpenCV's dnn. It is kept only when it gives OpenCV's descriptor for
// a patterned face (a flat one would hide a transposed layout); else OpenCV stays.
void try_onednn(const ExternalModelSpec& spec, int threads, ExternalEmbedder* embedder) {
  auto graph = read_onnx_graph(read_bytes(spec.model_path));
  if (!graph) return;
  auto net = OnednnConvNet::create(*graph, {spec.output_name});
  if (!net) return;
  FaceChip pattern(spec.input_size, spec.input_size);
  for (long r = 0; r < pattern.nr(); ++r)
    for (long c = 0; c < pattern.nc(); ++c)
      pattern(r, c) = dlib::rgb_pixel(uint8_t(r * 7 + c * 13), uint8_t(r * 3 + c * c), uint8_t(r * c + 40));
  auto expected = embedder->embed({pattern});
  if (!expected) return;
  embedder->use_onednn(std::move(*net), threads);
  auto got = embedder->embed({pattern});
  bool same = bool(got);
  for (size_t k = 0; same && k < (*expected)[0].size(); ++k) same = std::abs((*got)[0][k] - (*expected)[0][k]) <= 1e-4f;
  if (!same) embedder->use_onednn(nullptr, threads);
}

}  // namespace

Expected<std::unique_ptr<Embedder>> make_external_embedder(const ExternalModelSpec& spec, int threads) {
  const bool tf = spec.format == ExternalFormat::kTensorFlow;
  const std::string kind = tf ? "TensorFlow GraphDef" : "ONNX model";
  cv::dnn::Net net;
  try {
    if (tf) {
      auto loaded = read_tensorflow(spec);
      if (!loaded) return loaded.status();
      net = std::move(*loaded);
    } else {
      net = cv::dnn::readNetFromONNX(spec.model_path);
    }
  } catch (const cv::Exception& e) {
    return Status::invalid_input(spec.model_path + ": OpenCV cannot load this " + kind + " (" + e.what() + ")");
  }
  if (net.empty()) return Status::invalid_input(spec.model_path + ": OpenCV loaded an empty network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::setNumThreads(std::max(1, threads));
  auto embedder = std::make_unique<ExternalEmbedder>(spec, std::move(net));
  // One blank face through the network: a model with the wrong input or
  // output shape fails here, with its name, not in the middle of a run.
  FaceChip blank(spec.input_size, spec.input_size);
  for (long r = 0; r < blank.nr(); ++r)
    for (long c = 0; c < blank.nc(); ++c) blank(r, c) = dlib::rgb_pixel(128, 128, 128);
  auto probe = embedder->embed({blank});
  if (!probe)
    return Status::invalid_input(spec.model_path + ": the model does not take " + std::to_string(spec.input_size) +
                                 " px faces or give " + std::to_string(spec.output_dims) + " values (" +
                                 probe.status().message() + ")");
  if (!tf && !spec.nhwc && !opencv_asked()) try_onednn(spec, threads, embedder.get());
  return std::unique_ptr<Embedder>(std::move(embedder));
}

}  // namespace facedex::models

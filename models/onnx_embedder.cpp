#include "models/onnx_embedder.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

namespace facedex::models {
namespace {

class OnnxEmbedder final : public Embedder {
 public:
  OnnxEmbedder(OnnxModelSpec spec, cv::dnn::Net net) : spec_(std::move(spec)), net_(std::move(net)) {}

  std::vector<Descriptor> run(const std::vector<FaceChip>& chips) override {
    std::vector<Descriptor> out(chips.size());
    if (chips.empty()) return out;
    const int n = int(chips.size()), s = spec_.input_size;
    const int dims_nchw[] = {n, 3, s, s}, dims_nhwc[] = {n, s, s, 3};
    cv::Mat blob(4, spec_.nhwc ? dims_nhwc : dims_nchw, CV_32F);
    float* dst = blob.ptr<float>();
    for (int i = 0; i < n; ++i) {
      const FaceChip& chip = chips[size_t(i)];
      cv::Mat rgb(int(chip.nr()), int(chip.nc()), CV_8UC3, const_cast<dlib::rgb_pixel*>(&chip(0, 0)));
      cv::Mat sized = rgb;
      if (rgb.cols != s || rgb.rows != s) cv::resize(rgb, sized, cv::Size(s, s), 0, 0, cv::INTER_AREA);
      float* image = dst + size_t(i) * 3 * size_t(s) * size_t(s);
      for (int r = 0; r < s; ++r) {
        const uint8_t* row = sized.ptr<uint8_t>(r);
        for (int c = 0; c < s; ++c)
          for (int ch = 0; ch < 3; ++ch) {
            const int source = spec_.bgr ? 2 - ch : ch;  // output channel ch reads this RGB channel
            const float v = (float(row[3 * c + source]) - spec_.mean[size_t(source)]) * spec_.scale[size_t(source)];
            const size_t at = spec_.nhwc ? (size_t(r) * s + size_t(c)) * 3 + size_t(ch)
                                         : (size_t(ch) * s + size_t(r)) * s + size_t(c);
            image[at] = v;
          }
      }
    }
    net_.setInput(blob);
    cv::Mat result = net_.forward();
    const size_t dims = size_t(spec_.output_dims);
    if (result.total() != size_t(n) * dims)
      CV_Error(cv::Error::StsBadSize, "the model gave " + std::to_string(result.total() / size_t(n)) +
                                          " values per face, not " + std::to_string(dims));
    result = result.reshape(1, n);
    for (int i = 0; i < n; ++i) {
      const float* row = result.ptr<float>(i);
      Descriptor& d = out[size_t(i)];
      d.assign(row, row + dims);
      if (spec_.l2_normalise) {
        double norm = 0;
        for (float v : d) norm += double(v) * v;
        norm = std::sqrt(norm);
        if (norm > 0)
          for (float& v : d) v = float(v / norm);
      }
    }
    return out;
  }

  std::string backend_name() const override { return "onnx"; }

 private:
  OnnxModelSpec spec_;
  cv::dnn::Net net_;
};

}  // namespace

Expected<std::unique_ptr<Embedder>> make_onnx_embedder(const OnnxModelSpec& spec, int threads) {
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(spec.model_path);
  } catch (const cv::Exception& e) {
    return Status::invalid_input(spec.model_path + ": OpenCV cannot load this ONNX model (" + e.what() + ")");
  }
  if (net.empty()) return Status::invalid_input(spec.model_path + ": OpenCV loaded an empty network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::setNumThreads(std::max(1, threads));
  auto embedder = std::make_unique<OnnxEmbedder>(spec, std::move(net));
  // One blank chip through the network: a model with the wrong input or
  // output shape fails here, with its name, not in the middle of a run.
  FaceChip blank(kChipSize, kChipSize);
  for (long r = 0; r < blank.nr(); ++r)
    for (long c = 0; c < blank.nc(); ++c) blank(r, c) = dlib::rgb_pixel(128, 128, 128);
  if (auto probe = embedder->embed({blank}); !probe)
    return Status::invalid_input(spec.model_path + ": the model does not take " + std::to_string(spec.input_size) +
                                 " px chips or give " + std::to_string(spec.output_dims) + " values (" +
                                 probe.status().message() + ")");
  return std::unique_ptr<Embedder>(std::move(embedder));
}

}  // namespace facedex::models

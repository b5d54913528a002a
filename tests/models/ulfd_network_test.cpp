// The CNN face detector's network against the published one: the file run
// whole by OpenCV at the size it was published for is the reference.
#include "models/ulfd_network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/model_files.h"
#include "models/onnx_graph_cut.h"
#include "tests/support/test_photos.h"

namespace facedex::models {
namespace {

std::string detector_path() { return bundled_models_dir() + "/" + kCnnDetectorFile; }

cv::Mat demo_rgb(int n) {
  cv::Mat bgr = cv::imread(testing::demo_photo(n)), rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

float worst(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.total(), b.total());
  double worst = 0;
  const float* pa = a.ptr<float>();
  const float* pb = b.ptr<float>();
  for (size_t i = 0; i < std::min(a.total(), b.total()); ++i) worst = std::max(worst, double(std::fabs(pa[i] - pb[i])));
  return float(worst);
}

TEST(UlfdNetworkTest, CutNetworkReproducesThePublishedGraphOnDemoPhotos) {
  auto net = UlfdNetwork::load(detector_path());
  ASSERT_TRUE(net) << net.status().message();
  cv::dnn::Net whole = cv::dnn::readNetFromONNX(detector_path());
  const cv::Size size(kUlfdPublishedWidth, kUlfdPublishedHeight);
  for (int n = 1; n <= 6; ++n) {
    SCOPED_TRACE(testing::demo_photo(n));
    const cv::Mat blob = UlfdNetwork::input_blob(demo_rgb(n), size);
    whole.setInput(blob);
    std::vector<cv::Mat> ref;
    whole.forward(ref, std::vector<cv::String>{"scores", "boxes"});
    const cv::Mat scores = ref[0].reshape(1, int(ref[0].total() / 2));
    const cv::Mat boxes = ref[1].reshape(1, int(ref[1].total() / 4));
    ASSERT_EQ(boxes.rows, int(UlfdNetwork::priors(size).size()));

    cv::Mat logits, offsets;
    net.value()->run(blob, &logits, &offsets);
    ASSERT_EQ(logits.rows, boxes.rows);
    // The raw outputs: the published graph's softmax and box decoding undone
    // would lose precision, so compare what facedex decodes from them with what
    // the published graph decodes, every prior, not only confident ones.
    const std::vector<ScoredBox> decoded = UlfdNetwork::decode(logits, offsets, size, 0.f);
    ASSERT_EQ(int(decoded.size()), boxes.rows);
    float worst_score = 0, worst_corner = 0;
    int confident = 0;
    for (int i = 0; i < boxes.rows; ++i) {
      worst_score = std::max(worst_score, std::fabs(decoded[size_t(i)].score - scores.at<float>(i, 1)));
      const float mine[] = {decoded[size_t(i)].left / size.width, decoded[size_t(i)].top / size.height,
                            decoded[size_t(i)].right / size.width, decoded[size_t(i)].bottom / size.height};
      for (int k = 0; k < 4; ++k) worst_corner = std::max(worst_corner, std::fabs(mine[k] - boxes.at<float>(i, k)));
      confident += scores.at<float>(i, 1) > 0.7f;
    }
    EXPECT_LT(worst_score, 1e-4f);
    EXPECT_LT(worst_corner, 1e-4f);
    EXPECT_GT(confident, 0) << "no face scored above 0.7: the comparison would be empty";
  }
}

TEST(UlfdNetworkTest, RawOutputsEqualThePublishedGraphsIntermediateTensors) {
  auto net = UlfdNetwork::load(detector_path());
  ASSERT_TRUE(net) << net.status().message();
  cv::dnn::Net whole = cv::dnn::readNetFromONNX(detector_path());
  // OpenCV names each layer after the node that made its output: find the two.
  std::vector<cv::String> raw_layers;
  for (const auto& name : whole.getLayerNames())
    if (name.find("Concat_149") != std::string::npos || name.find("Concat_150") != std::string::npos)
      raw_layers.push_back(name);
  ASSERT_EQ(raw_layers.size(), 2u);
  const cv::Mat blob = UlfdNetwork::input_blob(demo_rgb(3), cv::Size(kUlfdPublishedWidth, kUlfdPublishedHeight));
  whole.setInput(blob);
  std::vector<cv::Mat> ref;
  whole.forward(ref, raw_layers);
  cv::Mat logits, offsets;
  net.value()->run(blob, &logits, &offsets);
  const cv::Mat& ref_logits = ref[0].total() == logits.total() ? ref[0] : ref[1];
  const cv::Mat& ref_offsets = ref[0].total() == logits.total() ? ref[1] : ref[0];
  EXPECT_LT(worst(logits, ref_logits.reshape(1, logits.rows)), 1e-4f);
  EXPECT_LT(worst(offsets, ref_offsets.reshape(1, offsets.rows)), 1e-4f);
}

TEST(UlfdNetworkTest, RunsAtSizesThePublishedGraphCannot) {
  auto net = UlfdNetwork::load(detector_path());
  ASSERT_TRUE(net) << net.status().message();
  const cv::Mat rgb = demo_rgb(1);
  for (const cv::Size size : {cv::Size(640, 480), cv::Size(417, 311), cv::Size(100, 900)}) {
    SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height));
    cv::Mat logits, offsets;
    net.value()->run(UlfdNetwork::input_blob(rgb, size), &logits, &offsets);
    EXPECT_EQ(size_t(logits.rows), UlfdNetwork::priors(size).size());
    EXPECT_EQ(offsets.rows, logits.rows);
  }
}

TEST(UlfdNetworkTest, EveryFaceFoundInAPhotoIsFoundInItsHalfSizeCopyRunAtTwiceTheScale) {
  auto net = UlfdNetwork::load(detector_path());
  ASSERT_TRUE(net) << net.status().message();
  const cv::Mat rgb = demo_rgb(1);
  cv::Mat half;
  cv::resize(rgb, half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  const auto full = suppress_overlaps(net.value()->detect_at_scale(rgb, 1.0, 0.8f), 0.3f);
  auto small = suppress_overlaps(net.value()->detect_at_scale(half, 2.0, 0.8f), 0.3f);
  ASSERT_FALSE(full.empty());
  for (auto& b : small) b.left *= 2, b.top *= 2, b.right *= 2, b.bottom *= 2;
  for (const auto& f : full) {
    float best = 0;
    for (const auto& b : small) best = std::max(best, box_iou(b, f));
    EXPECT_GT(best, 0.7f) << "a face at " << f.left << "," << f.top;
  }
}

TEST(UlfdNetworkTest, RefusesWhatIsNotTheDetector) {
  testing::TempDir dir;
  testing::write_file(dir.file("garbage.onnx"), std::string(1000, '\x07'));
  auto garbage = UlfdNetwork::load(dir.file("garbage.onnx"));
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.status().message().find("garbage.onnx"), std::string::npos);
  auto missing = UlfdNetwork::load(dir.file("missing.onnx"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("missing.onnx"), std::string::npos);

  const std::string model = testing::read_file(detector_path());
  EXPECT_FALSE(cut_onnx_graph(model, {"no-such-tensor"}));
  EXPECT_FALSE(cut_onnx_graph(model.substr(0, model.size() / 2), {kUlfdLogitsTensor}));
}

}  // namespace
}  // namespace facedex::models

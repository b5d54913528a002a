// The CNN face detector's network against the published one: the file run
// whole by OpenCV at the size it was published for is the reference. Each
// test runs with both backends: oneDNN (the default) and OpenCV's DNN module.
#include "models/retinaface_network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/model_files.h"
#include "models/onednn_conv_net.h"
#include "models/onnx_graph.h"
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

// The published graph's outputs for one level: face probabilities (its own
// softmax) and box offsets.
std::string published_probabilities(int stride) { return "face_rpn_cls_prob_reshape_stride" + std::to_string(stride); }

class RetinaFaceNetworkTest : public ::testing::TestWithParam<CnnBackend> {};

TEST_P(RetinaFaceNetworkTest, CutNetworkReproducesThePublishedGraphOnDemoPhotos) {
  auto net = RetinaFaceNetwork::load(detector_path(), GetParam());
  ASSERT_TRUE(net) << net.status().message();
  cv::dnn::Net whole = cv::dnn::readNetFromONNX(detector_path());
  const cv::Size size(kRetinaFacePublishedSide, kRetinaFacePublishedSide);
  for (int n = 1; n <= 6; ++n) {
    SCOPED_TRACE(testing::demo_photo(n));
    const cv::Mat blob = RetinaFaceNetwork::input_blob(demo_rgb(n), size);
    std::vector<cv::String> names;
    for (const auto& level : kRetinaFaceLevels) {
      names.push_back(published_probabilities(level.stride));
      names.push_back(retinaface_offsets_tensor(level.stride));
    }
    whole.setInput(blob);
    std::vector<cv::Mat> ref;
    whole.forward(ref, names);

    RetinaFaceNetwork::RawOutputs raw;
    net.value()->run(blob, &raw);
    ASSERT_EQ(raw.scores.size(), std::size(kRetinaFaceLevels));
    // Every anchor's probability as facedex decodes it from the raw scores,
    // against the published graph's softmax, confident or not.
    const std::vector<ScoredBox> decoded = RetinaFaceNetwork::decode(raw, 0.f);
    size_t next = 0;
    float worst_score = 0;
    int confident = 0;
    for (size_t l = 0; l < std::size(kRetinaFaceLevels); ++l) {
      const cv::Mat& probs = ref[2 * l];  // 1 x 4 x H x W: background, background, face, face
      const size_t plane = size_t(probs.size[2]) * size_t(probs.size[3]);
      for (size_t a = 0; a < 2; ++a)
        for (size_t i = 0; i < plane; ++i, ++next) {
          ASSERT_LT(next, decoded.size());
          const float p = probs.ptr<float>()[(2 + a) * plane + i];
          worst_score = std::max(worst_score, std::fabs(decoded[next].score - p));
          confident += p > 0.7f;
        }
      EXPECT_LT(worst(raw.offsets[l], ref[2 * l + 1]), 1e-4f) << "stride " << kRetinaFaceLevels[l].stride;
    }
    EXPECT_EQ(next, decoded.size());
    EXPECT_LT(worst_score, 1e-4f);
    EXPECT_GT(confident, 0) << "no face scored above 0.7: the comparison would be empty";
  }
}

TEST_P(RetinaFaceNetworkTest, DecodedBoxesAreFaceShapedAndInsideThePhoto) {
  // The anchors' centres and sides decide where boxes land: confident boxes on
  // a demo photo must be face-sized, a little taller than wide, and in the photo.
  auto net = RetinaFaceNetwork::load(detector_path(), GetParam());
  ASSERT_TRUE(net) << net.status().message();
  const cv::Mat rgb = demo_rgb(1);
  const auto boxes = suppress_overlaps(net.value()->detect_at_scale(rgb, 1.0, 0.9f), 0.3f);
  ASSERT_GE(boxes.size(), 3u);
  for (const auto& b : boxes) {
    EXPECT_GT(b.width(), 20.f);
    EXPECT_LT(b.width() / b.height(), 1.2f) << "faces are taller than wide";
    EXPECT_GT(b.width() / b.height(), 0.5f);
    EXPECT_GE(b.left, -0.2f * b.width());
    EXPECT_LE(b.right, float(rgb.cols) + 0.2f * b.width());
  }
}

TEST_P(RetinaFaceNetworkTest, RunsAtSizesThePublishedGraphCannot) {
  auto net = RetinaFaceNetwork::load(detector_path(), GetParam());
  ASSERT_TRUE(net) << net.status().message();
  const cv::Mat rgb = demo_rgb(1);
  for (const cv::Size size : {cv::Size(640, 480), cv::Size(417, 311), cv::Size(100, 900)}) {
    SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height));
    RetinaFaceNetwork::RawOutputs raw;
    const cv::Mat blob = RetinaFaceNetwork::input_blob(rgb, size);
    EXPECT_EQ(blob.size[2] % kRetinaFaceInputMultiple, 0);
    EXPECT_EQ(blob.size[3] % kRetinaFaceInputMultiple, 0);
    net.value()->run(blob, &raw);
    ASSERT_EQ(raw.scores.size(), std::size(kRetinaFaceLevels));
    for (size_t l = 0; l < raw.scores.size(); ++l) {
      EXPECT_EQ(raw.scores[l].size[2], blob.size[2] / kRetinaFaceLevels[l].stride);
      EXPECT_EQ(raw.scores[l].size[3], blob.size[3] / kRetinaFaceLevels[l].stride);
    }
  }
}

TEST_P(RetinaFaceNetworkTest, EveryFaceFoundInAPhotoIsFoundInItsHalfSizeCopyRunAtTwiceTheScale) {
  auto net = RetinaFaceNetwork::load(detector_path(), GetParam());
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

TEST_P(RetinaFaceNetworkTest, RefusesWhatIsNotTheDetector) {
  testing::TempDir dir;
  testing::write_file(dir.file("garbage.onnx"), std::string(1000, '\x07'));
  auto garbage = RetinaFaceNetwork::load(dir.file("garbage.onnx"), GetParam());
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.status().message().find("garbage.onnx"), std::string::npos);
  auto missing = RetinaFaceNetwork::load(dir.file("missing.onnx"), GetParam());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("missing.onnx"), std::string::npos);

  const std::string model = testing::read_file(detector_path());
  EXPECT_FALSE(cut_onnx_graph(model, {"no-such-tensor"}));
  EXPECT_FALSE(cut_onnx_graph(model, {retinaface_scores_tensor(8)}, {{"no-such-tensor", "data"}}));
  EXPECT_FALSE(cut_onnx_graph(model.substr(0, model.size() / 2), {retinaface_scores_tensor(8)}));
}

TEST(RetinaFaceBackendsTest, OnednnMatchesOpencvAtSizesThePublishedGraphCannot) {
  // The published graph runs only at 640x640, so at other sizes the cut graph
  // run by OpenCV is the reference, on odd and tall inputs and after a
  // different shape (oneDNN keeps each shape's primitives and buffers).
  auto onednn = RetinaFaceNetwork::load(detector_path(), CnnBackend::kOnednn);
  auto opencv = RetinaFaceNetwork::load(detector_path(), CnnBackend::kOpencv);
  ASSERT_TRUE(onednn && opencv);
  for (int n : {2, 5})
    for (const cv::Size size : {cv::Size(417, 311), cv::Size(96, 900), cv::Size(1280, 960), cv::Size(417, 311)}) {
      SCOPED_TRACE(testing::demo_photo(n) + " at " + std::to_string(size.width) + "x" + std::to_string(size.height));
      const cv::Mat blob = RetinaFaceNetwork::input_blob(demo_rgb(n), size);
      RetinaFaceNetwork::RawOutputs a, b;
      onednn.value()->run(blob, &a);
      opencv.value()->run(blob, &b);
      ASSERT_EQ(a.scores.size(), b.scores.size());
      for (size_t l = 0; l < a.scores.size(); ++l) {
        EXPECT_LT(worst(a.scores[l], b.scores[l]), 1e-4f) << "stride " << kRetinaFaceLevels[l].stride;
        EXPECT_LT(worst(a.offsets[l], b.offsets[l]), 1e-4f) << "stride " << kRetinaFaceLevels[l].stride;
      }
      if (size.height > 2 * size.width) continue;  // squeezed: no face to find
      EXPECT_FALSE(RetinaFaceNetwork::decode(a, 0.7f).empty()) << "no face found: the comparison would be empty";
    }
}

TEST(OnednnConvNetTest, RefusesAGraphWithAnOperationItDoesNotRun) {
  // The detector's graph with one more node on an output: a Softmax.
  auto graph = read_onnx_graph(cut_onnx_graph(testing::read_file(detector_path()), {retinaface_scores_tensor(8)},
                                              {{"crop0", "rf_c3_upsampling"}, {"crop1", "rf_c2_upsampling"}})
                                   .value());
  ASSERT_TRUE(graph) << graph.status().message();
  EXPECT_TRUE(OnednnConvNet::create(*graph, {retinaface_scores_tensor(8)}));
  graph->nodes.push_back({"Softmax", "extra_softmax", {retinaface_scores_tensor(8)}, {"probabilities"}, {}, {}, {}});
  auto net = OnednnConvNet::create(*graph, {"probabilities"});
  ASSERT_FALSE(net);
  EXPECT_NE(net.status().message().find("extra_softmax"), std::string::npos) << net.status().message();
  EXPECT_FALSE(OnednnConvNet::create(*graph, {"no-such-tensor"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, RetinaFaceNetworkTest, ::testing::Values(CnnBackend::kOnednn, CnnBackend::kOpencv),
                         [](const auto& info) { return std::string(cnn_backend_name(info.param)); });

}  // namespace
}  // namespace facedex::models

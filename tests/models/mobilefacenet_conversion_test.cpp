// The frozen GraphDef the build writes from MobileFaceNet's TF.js graph must
// compute what TF.js computes on the same graph
// (tests/fixtures/make_mobilefacenet_fixture.sh made the fixture).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/model_files.h"
#include "models/tf_graph_rewrite.h"
#include "models/tfjs_graph_export.h"
#include "tests/support/temp_files.h"

namespace facedex {
namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string kBundled = models::bundled_models_dir() + "/mobilefacenet.pb";
const std::string kTfjsModel = std::string(FACEDEX_HUMAN_MODELS_DIR) + "/mobilefacenet.json";

TEST(MobileFaceNetConversionTest, GraphDefRunByOpenCvReproducesTheTfjsEmbeddings) {
  std::ifstream in(std::string(FACEDEX_FIXTURES_DIR) + "/mobilefacenet_embeddings.json");
  ASSERT_TRUE(in) << "missing fixture";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  const int size = fixture.at("size").get<int>();
  ASSERT_GE(fixture.at("chips").size(), 4u);

  auto graph = models::graphdef_for_opencv(read_bytes(kBundled));
  ASSERT_TRUE(graph) << graph.status().message();
  cv::dnn::Net net = cv::dnn::readNetFromTensorflow(graph->data(), graph->size());

  // The chips' central pixels, NCHW as OpenCV's importer wants them.
  std::vector<std::vector<float>> expected;
  const int n = int(fixture.at("chips").size());
  const int dims[] = {n, 3, size, size};
  cv::Mat blob(4, dims, CV_32F);
  int i = 0;
  for (const auto& [name, values] : fixture.at("chips").items()) {
    cv::Mat bgr = cv::imread(std::string(FACEDEX_FIXTURES_DIR) + "/faceapi_chips/" + name, cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << name;
    const cv::Mat crop = bgr(cv::Rect((bgr.cols - size) / 2, (bgr.rows - size) / 2, size, size));
    for (int r = 0; r < size; ++r)
      for (int c = 0; c < size; ++c)
        for (int ch = 0; ch < 3; ++ch)
          blob.ptr<float>(i, ch)[r * size + c] = (float(crop.at<cv::Vec3b>(r, c)[2 - ch]) - 127.5f) / 128.f;
    expected.push_back(values.get<std::vector<float>>());
    ++i;
  }
  net.setInput(blob, "img_inputs");
  const cv::Mat got = net.forward("embeddings").reshape(1, n);
  ASSERT_EQ(got.cols, 192);
  double worst = 0;
  for (int c = 0; c < n; ++c) {
    ASSERT_EQ(expected[size_t(c)].size(), 192u);
    for (int d = 0; d < 192; ++d) {
      const double diff = std::abs(double(got.at<float>(c, d)) - expected[size_t(c)][size_t(d)]);
      worst = std::max(worst, diff);
      EXPECT_LT(diff, 1e-4) << "chip " << c << " dim " << d;
    }
  }
  std::printf("worst per-dimension difference to the TF.js graph: %.3g\n", worst);
}

TEST(MobileFaceNetConversionTest, ExportIsDeterministicAndTheRewriteOnlyRenamesAdds) {
  testing::TempDir dir;
  ASSERT_TRUE(models::write_tfjs_graph_as_graphdef(kTfjsModel, dir.file("again.pb")));
  const std::string bundled = read_bytes(kBundled);
  EXPECT_EQ(read_bytes(dir.file("again.pb")), bundled);

  auto rewritten = models::graphdef_for_opencv(bundled);
  ASSERT_TRUE(rewritten);
  auto count = [](const std::string& bytes, const std::string& what) {
    size_t n = 0;
    for (size_t at = bytes.find(what); at != std::string::npos; at = bytes.find(what, at + 1)) ++n;
    return n;
  };
  // PReLU's 33 Adds of a Mul by a constant; the residual Adds stay.
  EXPECT_EQ(count(*rewritten, "AddN"), 33u);
  EXPECT_EQ(count(bundled, "AddN"), 0u);
  EXPECT_FALSE(models::graphdef_for_opencv("\xff\xff\xff not protobuf"));
}

TEST(MobileFaceNetConversionTest, WhatCannotBeExportedIsNamedWithTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("layers.json")) << R"({"format": "layers-model", "modelTopology": {}})";
  Status s = models::write_tfjs_graph_as_graphdef(dir.file("layers.json"), dir.file("out.pb"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("layers.json"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("graph-model"), std::string::npos) << s.message();

  std::ofstream(dir.file("short.json"))
      << R"({"format": "graph-model", "modelTopology": {"node": [{"name": "w", "op": "Const"}]},
            "weightsManifest": [{"paths": ["short.bin"], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}]})";
  std::ofstream(dir.file("short.bin")) << "abc";
  s = models::write_tfjs_graph_as_graphdef(dir.file("short.json"), dir.file("out.pb"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("end early"), std::string::npos) << s.message();

  s = models::write_tfjs_graph_as_graphdef(dir.file("missing.json"), dir.file("out.pb"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("missing.json"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace facedex

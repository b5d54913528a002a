// The converted descriptor model must compute what face-api's own JavaScript
// network computes (tests/fixtures/make_faceapi_fixture.sh made the fixture).
#include <dlib/image_transforms/assign_image.h>
#include <dlib/opencv/cv_image.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/embedder.h"
#include "models/model_files.h"

namespace facedex {
namespace {

TEST(FaceapiConversionTest, DlibNetworkReproducesFaceapiJavascriptDescriptors) {
  const std::string fixtures = FACEDEX_FIXTURES_DIR;
  std::ifstream in(fixtures + "/faceapi_descriptors.json");
  ASSERT_TRUE(in) << "missing fixture";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  ASSERT_GE(fixture.at("chips").size(), 4u);

  // Always the bundled conversion, even when FACEDEX_MODELS points elsewhere.
  auto embedder = models::load_dlib_embedder(models::bundled_models_dir() + "/" + models::kConvertedDescriptorFile);
  ASSERT_TRUE(embedder) << embedder.status().message();

  std::vector<models::FaceChip> chips;
  std::vector<std::vector<float>> expected;
  for (const auto& [name, values] : fixture.at("chips").items()) {
    cv::Mat bgr = cv::imread(fixtures + "/faceapi_chips/" + name, cv::IMREAD_COLOR);
    ASSERT_EQ(bgr.cols, models::kChipSize) << name;
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    models::FaceChip chip;
    dlib::assign_image(chip, dlib::cv_image<dlib::rgb_pixel>(rgb));
    chips.push_back(chip);
    expected.push_back(values.get<std::vector<float>>());
  }
  const auto got = (*embedder)->embed(chips).value();
  ASSERT_EQ(got.size(), expected.size());
  double worst = 0;
  for (size_t c = 0; c < got.size(); ++c) {
    ASSERT_EQ(expected[c].size(), size_t(models::kDescriptorDims));
    for (int d = 0; d < models::kDescriptorDims; ++d) {
      const double diff = std::abs(double(got[c][size_t(d)]) - expected[c][size_t(d)]);
      worst = std::max(worst, diff);
      EXPECT_LT(diff, 1e-5) << "chip " << c << " dim " << d;
    }
  }
  std::printf("worst per-dimension difference to face-api's JS network: %.3g\n", worst);
}

TEST(FaceapiConversionTest, ConversionIsDeterministic) {
  const std::string faceapi = std::string(FACEDEX_FACEAPI_DIR) + "/model/";
  const std::string out = (std::filesystem::temp_directory_path() / "facedex-conversion-test.dat").string();
  ASSERT_TRUE(models::convert_faceapi_weights(faceapi + "face_recognition_model-weights_manifest.json",
                                              faceapi + "face_recognition_model.bin", out));
  std::ifstream a(out, std::ios::binary);
  std::ifstream b(models::bundled_models_dir() + "/" + models::kConvertedDescriptorFile, std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {});
  const std::string bytes_b((std::istreambuf_iterator<char>(b)), {});
  std::filesystem::remove(out);
  EXPECT_GT(bytes_a.size(), 20u << 20);
  EXPECT_TRUE(bytes_a == bytes_b) << "a second conversion gave different bytes";
}

TEST(FaceapiConversionTest, TruncatedWeightsAreRefusedWithAReason) {
  const std::string faceapi = std::string(FACEDEX_FACEAPI_DIR) + "/model/";
  const auto dir = std::filesystem::temp_directory_path();
  const std::string bin = (dir / "facedex-truncated.bin").string();
  {
    std::ifstream in(faceapi + "face_recognition_model.bin", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(bin, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  const Status s = models::convert_faceapi_weights(faceapi + "face_recognition_model-weights_manifest.json", bin,
                                                   (dir / "facedex-never.dat").string());
  std::filesystem::remove(bin);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("shorter than the manifest"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace facedex

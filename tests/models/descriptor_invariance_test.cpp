// Identity without labelled data: a face keeps its descriptor (within the
// network's 0.6) through what happens to photos in real collections, and the
// different people in one photo stay apart.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "tests/support/sanitized_build.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

class DescriptorInvarianceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pipeline_ = testing::make_pipeline(); }
  static void TearDownTestSuite() { pipeline_.reset(); }

  void SetUp() override { ASSERT_TRUE(pipeline_); }

  static std::vector<models::AnalyzedFace> analyze_bytes(const std::string& bytes) {
    auto photo = models::decode_photo("copy", bytes, {});
    EXPECT_TRUE(photo) << photo.status().message();
    if (!photo) return {};
    return pipeline_->analyze(photo->rgb, {}).value();
  }

  static cv::Point2f center(const models::FaceBox& b) { return {0.5f * (b.left + b.right), 0.5f * (b.top + b.bottom)}; }

  // For each original face: the face in the copy whose centre, mapped back into
  // the original's coordinates, is nearest; its distance to the original.
  template <typename MapBack>
  static void expect_same_faces(const std::vector<models::AnalyzedFace>& original,
                                const std::vector<models::AnalyzedFace>& copy, MapBack map_back,
                                const std::string& what) {
    ASSERT_EQ(copy.size(), original.size()) << what;
    for (size_t i = 0; i < original.size(); ++i) {
      const cv::Point2f c = center(original[i].face.box);
      const models::AnalyzedFace* best = nullptr;
      double best_d = 1e9;
      for (const auto& f : copy) {
        const cv::Point2f m = map_back(center(f.face.box));
        const double d = std::hypot(m.x - c.x, m.y - c.y);
        if (d < best_d) best_d = d, best = &f;
      }
      ASSERT_LT(best_d, 0.25 * original[i].face.box.width()) << what << ": face " << i << " not found in the copy";
      const float dist = descriptor_distance(original[i].descriptor, best->descriptor);
      std::printf("%-28s face %zu: distance %.3f\n", what.c_str(), i, dist);
      EXPECT_LT(dist, models::kSamePersonDistance) << what << ": face " << i;
    }
  }

  static std::unique_ptr<models::FacePipeline> pipeline_;
};
std::unique_ptr<models::FacePipeline> DescriptorInvarianceTest::pipeline_;

TEST_F(DescriptorInvarianceTest, TransformedCopiesOfADemoPhotoKeepEveryFaceUnderSamePersonDistance) {
  for (int sample : testing::fewer_when_sanitized({3, 5}, 1)) {
    auto photo = models::load_photo(testing::demo_photo(sample), {});
    ASSERT_TRUE(photo) << photo.status().message();
    const cv::Mat& rgb = photo->rgb;
    const float w = float(rgb.cols);
    const auto original = pipeline_->analyze(rgb, {}).value();
    ASSERT_GE(original.size(), 3u);
    const std::string name = "sample" + std::to_string(sample) + " ";

    cv::Mat flipped;
    cv::flip(rgb, flipped, 1);
    expect_same_faces(
        original, analyze_bytes(testing::encode_jpeg(flipped)),
        [w](cv::Point2f p) { return cv::Point2f(w - p.x, p.y); }, name + "flipped");

    for (double scale : {0.5, 2.0}) {
      cv::Mat scaled;
      cv::resize(rgb, scaled, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
      expect_same_faces(
          original, analyze_bytes(testing::encode_jpeg(scaled)),
          [scale](cv::Point2f p) { return p * float(1 / scale); },
          name + "rescaled x" + std::to_string(scale).substr(0, 3));
    }

    expect_same_faces(
        original, analyze_bytes(testing::encode_jpeg(rgb, 40)), [](cv::Point2f p) { return p; },
        name + "JPEG quality 40");

    for (int degrees : {90, 180, 270}) {
      // Stored rotated with the EXIF tag that undoes it: decoded upright again.
      expect_same_faces(
          original, analyze_bytes(testing::rotated_jpeg_with_exif(rgb, degrees)), [](cv::Point2f p) { return p; },
          name + "rotated " + std::to_string(degrees) + " + EXIF");
    }
  }
}

TEST_F(DescriptorInvarianceTest, DifferentPeopleInOneDemoPhotoAreFurtherApartThanSamePersonDistance) {
  int pairs = 0, above = 0;
  float closest = 1e9f;
  for (int sample = 1; sample <= 6; ++sample) {
    auto photo = models::load_photo(testing::demo_photo(sample), {});
    ASSERT_TRUE(photo);
    const auto faces = pipeline_->analyze(photo->rgb, {}).value();
    for (size_t i = 0; i < faces.size(); ++i)
      for (size_t j = i + 1; j < faces.size(); ++j) {
        const float d = descriptor_distance(faces[i].descriptor, faces[j].descriptor);
        closest = std::min(closest, d);
        ++pairs;
        above += d > models::kSamePersonDistance;
      }
  }
  std::printf("%d of %d pairs of different people in one photo are above 0.6 (closest pair %.3f)\n", above, pairs,
              closest);
  // Every face a person sees (demo_photo_detection_test.cpp): 3, 3, 3, 4, 5 and 4.
  EXPECT_EQ(pairs, 3 + 3 + 3 + 6 + 10 + 6);
  // Measured here with flip-averaged descriptors and the CNN detector: 26 of
  // 31 pairs above 0.6 (27 with another box map for the faces HOG does not
  // find); the closest pair of two different women is at 0.545 (HOG's 25
  // pairs: 22 above, closest 0.542). The 1:1 threshold is not a safe rule for
  // searching a gallery, which is why search/ decides identity with a
  // stricter rule.
  EXPECT_GE(above, 25);
  EXPECT_GT(closest, 0.5f);
}

}  // namespace
}  // namespace facedex

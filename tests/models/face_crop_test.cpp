// The crops external models take (face_crop.h), on real detected faces.
#include "models/face_crop.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

std::array<float, 2> apply(const cv::Matx23d& m, const std::array<float, 2>& p) {
  return {float(m(0, 0) * p[0] + m(0, 1) * p[1] + m(0, 2)), float(m(1, 0) * p[0] + m(1, 1) * p[1] + m(1, 2))};
}

TEST(FaceCropTest, SimilarityTransformRecoversAKnownOne) {
  const std::vector<std::array<float, 2>> from = {{10, 20}, {50, 18}, {30, 40}, {15, 60}, {48, 61}};
  const double angle = 0.3, scale = 1.7, tx = -12, ty = 33;
  const cv::Matx23d truth(scale * std::cos(angle), -scale * std::sin(angle), tx, scale * std::sin(angle),
                          scale * std::cos(angle), ty);
  std::vector<std::array<float, 2>> to;
  for (const auto& p : from) to.push_back(apply(truth, p));
  const cv::Matx23d got = models::similarity_transform(from, to);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got(r, c), truth(r, c), 1e-4) << r << "," << c;
}

TEST(FaceCropTest, ArcFaceCropPutsTheFivePointsOnTheTemplate) {
  auto pipeline = testing::make_pipeline();
  ASSERT_TRUE(pipeline);
  auto photo = models::load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(photo) << photo.status().message();
  const auto faces = pipeline->detector().detect(photo->rgb, {});
  ASSERT_FALSE(faces.empty());
  for (const auto& face : faces) {
    const auto points = models::arcface_points(face.landmarks);
    ASSERT_EQ(points.size(), 5u);
    EXPECT_LT(points[0][0], points[1][0]);  // image order: the subject's right eye first
    const std::vector<std::array<float, 2>> tmpl = {
        {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};
    const cv::Matx23d m = models::similarity_transform(points, tmpl);
    double worst = 0;
    for (size_t i = 0; i < 5; ++i) {
      const auto p = apply(m, points[i]);
      worst = std::max(worst, double(std::hypot(p[0] - tmpl[i][0], p[1] - tmpl[i][1])));
    }
    EXPECT_LT(worst, 8.0);  // a real face is not the template: a few pixels off, never a misplaced face
    const models::FaceChip chip = models::crop_face(photo->rgb, face, models::ChipCrop::kArcFace, 112, 0);
    EXPECT_EQ(chip.nr(), 112);
    EXPECT_EQ(chip.nc(), 112);
    const models::FaceChip big = models::crop_face(photo->rgb, face, models::ChipCrop::kArcFace, 224, 0);
    EXPECT_EQ(big.nr(), 224);
  }
  // Five dlib points (eye corners and below the nose) give the same eyes.
  const auto& l = faces[0].landmarks;
  const std::vector<std::array<float, 2>> five = {l[45], l[42], l[36], l[39], l[33]};
  const auto from_five = models::arcface_points(five);
  ASSERT_EQ(from_five.size(), 5u);
  const auto from_68 = models::arcface_points(l);
  EXPECT_NEAR(from_five[0][0], from_68[0][0], 0.2 * (from_68[1][0] - from_68[0][0]));
  EXPECT_NEAR(from_five[1][0], from_68[1][0], 0.2 * (from_68[1][0] - from_68[0][0]));
  EXPECT_TRUE(models::arcface_points({{1, 2}}).empty());
}

TEST(FaceCropTest, MarginCropIsTheGrownBoxClippedToThePhoto) {
  cv::Mat rgb(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  rgb(cv::Rect(100, 50, 100, 100)).setTo(cv::Scalar(200, 100, 50));
  models::DetectedFace face;
  face.box = {100, 50, 200, 150};
  const models::FaceChip tight = models::crop_face(rgb, face, models::ChipCrop::kMargin, 160, 0);
  ASSERT_EQ(tight.nr(), 160);
  EXPECT_EQ(tight(0, 0).red, 200);
  EXPECT_EQ(tight(159, 159).blue, 50);
  // A margin of 0.5 grows the box by a quarter on each side: black around the face.
  const models::FaceChip grown = models::crop_face(rgb, face, models::ChipCrop::kMargin, 150, 0.5);
  EXPECT_EQ(grown(2, 2).red, 0);
  EXPECT_EQ(grown(75, 75).red, 200);
  // A box at the photo's edge is clipped, not padded.
  face.box = {250, 150, 300, 200};
  const models::FaceChip edge = models::crop_face(rgb, face, models::ChipCrop::kMargin, 64, 1.0);
  EXPECT_EQ(edge.nr(), 64);
}

}  // namespace
}  // namespace facedex

// What the detectors find on the six face-api demo photos, against what a
// person sees in them (counted by looking at each photo): the CNN detector
// finds every face and nothing else; HOG's known misses are pinned too.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

struct ExpectedPhoto {
  int sample;
  int faces_a_person_sees;
  // Boxes [l, t, r, b] of the detections we expect, real faces first.
  std::vector<std::array<int, 4>> found_real;
  std::vector<std::array<int, 4>> found_false;  // detections that are not faces
  const char* missed;                           // which visible faces HOG misses, and why
};

// Known gap (for later work on the detector): HOG is a frontal detector and
// misses turned and tilted heads.
const ExpectedPhoto kDemoPhotos[] = {
    {1,
     3,
     {{376, 376, 592, 592}, {1451, 233, 1667, 449}, {830, 472, 1046, 688}},
     {{1494, 584, 1599, 689}},
     "none; the round badge on the right woman's shirt is taken for a face"},
    {2, 3, {{1448, 214, 1628, 394}}, {}, "the left woman (profile) and the middle one (head bowed)"},
    {3, 3, {{1025, 251, 1284, 510}, {567, 376, 783, 592}, {1499, 352, 1715, 568}}, {}, "none"},
    {4,
     4,
     {{615, 113, 831, 329}, {950, 209, 1166, 425}, {1229, 194, 1409, 374}},
     {},
     "the leftmost woman (head tilted and turned)"},
    {5,
     5,
     {{376, 926, 592, 1142},
      {1380, 448, 1596, 664},
      {791, 134, 971, 314},
      {1090, 254, 1270, 434},
      {642, 476, 793, 627}},
     {},
     "none"},
    {6, 4, {{1165, 376, 1381, 592}, {639, 376, 855, 592}, {257, 543, 473, 759}, {1451, 328, 1667, 544}}, {}, "none"},
};

double iou(const models::FaceBox& a, const std::array<int, 4>& b) {
  const int l = std::max(a.left, b[0]), t = std::max(a.top, b[1]);
  const int r = std::min(a.right, b[2]), btm = std::min(a.bottom, b[3]);
  const double inter = std::max(0, r - l) * double(std::max(0, btm - t));
  const double uni = double(a.width()) * a.height() + double(b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0;
}

// The centre of every face a person sees, by photo: HOG's boxes' centres,
// and where HOG found nothing, the centre of the head.
const std::vector<std::array<int, 2>> kFaceCentres[] = {
    {{484, 484}, {1559, 341}, {938, 580}},
    {{1538, 304}, {447, 258}, {976, 324}},
    {{1154, 380}, {675, 484}, {1607, 460}},
    {{723, 221}, {1058, 317}, {1319, 284}, {343, 301}},
    {{484, 1034}, {1488, 556}, {881, 224}, {1180, 344}, {717, 551}},
    {{1273, 484}, {747, 484}, {365, 651}, {1559, 436}},
};

bool contains(const models::FaceBox& b, const std::array<int, 2>& p) {
  return p[0] >= b.left && p[0] < b.right && p[1] >= b.top && p[1] < b.bottom;
}

void expect_sound_faces(const std::vector<models::AnalyzedFace>& faces, const cv::Mat& rgb) {
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& b = faces[i].face.box;
    EXPECT_GE(b.left, 0);
    EXPECT_GE(b.top, 0);
    EXPECT_LE(b.right, rgb.cols);
    EXPECT_LE(b.bottom, rgb.rows);
    EXPECT_EQ(faces[i].face.landmarks.size(), 68u);
    double norm = 0;
    for (float v : faces[i].descriptor) {
      ASSERT_TRUE(std::isfinite(v));
      norm += double(v) * v;
    }
    // dlib's descriptors are not normalised; real faces give norms near 1.4-1.5.
    EXPECT_GT(std::sqrt(norm), 1.0);
    EXPECT_LT(std::sqrt(norm), 2.0);
    for (size_t j = i + 1; j < faces.size(); ++j)
      EXPECT_LT(iou(faces[i].face.box,
                    {faces[j].face.box.left, faces[j].face.box.top, faces[j].face.box.right, faces[j].face.box.bottom}),
                0.3)
          << "duplicate boxes " << i << " and " << j;
  }
}

class DemoPhotoDetectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pipeline_ = testing::make_pipeline(models::DetectorKind::kCnn);
    hog_ = testing::make_pipeline(models::DetectorKind::kHog);
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    hog_.reset();
  }
  static std::unique_ptr<models::FacePipeline> pipeline_, hog_;
};
std::unique_ptr<models::FacePipeline> DemoPhotoDetectionTest::pipeline_;
std::unique_ptr<models::FacePipeline> DemoPhotoDetectionTest::hog_;

TEST_F(DemoPhotoDetectionTest, CnnFindsEveryFaceAPersonSeesAndNothingElse) {
  ASSERT_TRUE(pipeline_);
  ASSERT_EQ(pipeline_->detector().kind(), models::DetectorKind::kCnn);
  size_t seen = 0, found = 0;
  for (int sample = 1; sample <= 6; ++sample) {
    SCOPED_TRACE("sample" + std::to_string(sample));
    auto photo = models::load_photo(testing::demo_photo(sample), {});
    ASSERT_TRUE(photo) << photo.status().message();
    const auto faces = pipeline_->analyze(photo->rgb, {}).value();
    const auto& centres = kFaceCentres[sample - 1];
    for (const auto& c : centres) {
      int holding = 0;
      for (const auto& f : faces) holding += contains(f.face.box, c);
      EXPECT_EQ(holding, 1) << "the face at " << c[0] << "," << c[1];
      found += holding == 1;
    }
    for (const auto& f : faces) {
      int held = 0;
      for (const auto& c : centres) held += contains(f.face.box, c);
      EXPECT_EQ(held, 1) << "a detection at [" << f.face.box.left << "," << f.face.box.top << "," << f.face.box.right
                         << "," << f.face.box.bottom << "] holds " << held << " faces";
      EXPECT_GE(f.face.score, models::kDefaultCnnMinScore * 0.5);
      EXPECT_LE(f.face.score, 1.0);
    }
    EXPECT_EQ(faces.size(), centres.size());
    expect_sound_faces(faces, photo->rgb);
    seen += centres.size();
  }
  EXPECT_EQ(seen, 22u);
  EXPECT_EQ(found, 22u);
}

TEST_F(DemoPhotoDetectionTest, HogFindsExactlyItsKnownFacesInEachDemoPhoto) {
  auto& pipeline_ = hog_;
  ASSERT_TRUE(pipeline_);
  int seen = 0, found_real = 0;
  for (const auto& expected : kDemoPhotos) {
    SCOPED_TRACE("sample" + std::to_string(expected.sample) + " (missed: " + expected.missed + ")");
    auto photo = models::load_photo(testing::demo_photo(expected.sample), {});
    ASSERT_TRUE(photo) << photo.status().message();
    const auto faces = pipeline_->analyze(photo->rgb, {}).value();
    ASSERT_EQ(faces.size(), expected.found_real.size() + expected.found_false.size());
    std::vector<std::array<int, 4>> all = expected.found_real;
    all.insert(all.end(), expected.found_false.begin(), expected.found_false.end());
    for (const auto& box : all) {
      double best = 0;
      for (const auto& f : faces) best = std::max(best, iou(f.face.box, box));
      EXPECT_GT(best, 0.5) << "no detection at [" << box[0] << "," << box[1] << "," << box[2] << "," << box[3] << "]";
    }
    expect_sound_faces(faces, photo->rgb);
    for (const auto& f : faces) EXPECT_GT(f.face.box.width(), models::kMinHogFacePx / 2);
    seen += expected.faces_a_person_sees;
    found_real += int(expected.found_real.size());
  }
  std::printf("HOG found %d of the %d faces a person sees in the demo photos, plus 1 false detection\n", found_real,
              seen);
}

// A crowd in a very large photo: ten copies of sample6 shrunk so its four faces
// are ~120 px, on a 5480 px canvas. Downscaled to 2048 px for detection those
// faces would be ~45 px, below HOG's 80 px window; the detection scale never
// goes under kMinDetectScale, so every one of the 40 must be found.
TEST_F(DemoPhotoDetectionTest, HogFindsSmallFacesInAVeryLargePhoto) {
  auto& pipeline_ = hog_;
  ASSERT_TRUE(pipeline_);
  auto photo = models::load_photo(testing::demo_photo(6), {});
  ASSERT_TRUE(photo) << photo.status().message();
  const auto originals = pipeline_->detector().detect(photo->rgb, {});
  ASSERT_EQ(originals.size(), 4u);
  const double shrink = 0.56;  // sample6's 216 px faces -> ~121 px
  cv::Mat copy;
  cv::resize(photo->rgb, copy, cv::Size(), shrink, shrink, cv::INTER_AREA);
  cv::Mat canvas(2 * copy.rows, 5 * copy.cols + 80, CV_8UC3, cv::Scalar(128, 128, 128));
  for (int row = 0; row < 2; ++row)
    for (int col = 0; col < 5; ++col)
      copy.copyTo(canvas(cv::Rect(col * (copy.cols + 20), row * copy.rows, copy.cols, copy.rows)));
  ASSERT_GT(canvas.cols, 5000);

  const auto found = pipeline_->detector().detect(canvas, {});
  EXPECT_EQ(found.size(), 40u);
  for (const auto& f : found) {
    EXPECT_GT(f.box.width(), 100);
    EXPECT_LT(f.box.width(), 160);
  }
  models::DetectOptions at_2048;  // what a plain downscale to 2048 px would see
  at_2048.max_detect_side = 0;
  cv::Mat small;
  cv::resize(canvas, small, cv::Size(), 2048.0 / canvas.cols, 2048.0 / canvas.cols, cv::INTER_AREA);
  at_2048.upsample = 0;
  EXPECT_LT(pipeline_->detector().detect(small, at_2048).size(), 4u) << "the test photo's faces are not small enough";
}

// The same 5480 px canvas through the CNN detector, whose finest scale is set
// by the smallest face wanted, not by the photo's size.
TEST_F(DemoPhotoDetectionTest, CnnFindsSmallFacesInAVeryLargePhoto) {
  ASSERT_TRUE(pipeline_);
  auto photo = models::load_photo(testing::demo_photo(6), {});
  ASSERT_TRUE(photo) << photo.status().message();
  for (const double shrink : {0.56, 0.3}) {  // faces of ~120 px, then ~65 px
    SCOPED_TRACE("shrink " + std::to_string(shrink));
    cv::Mat copy;
    cv::resize(photo->rgb, copy, cv::Size(), shrink, shrink, cv::INTER_AREA);
    const int cols = 5480 / (copy.cols + 20), rows = shrink > 0.5 ? 2 : 4;
    cv::Mat canvas(rows * copy.rows, 5480, CV_8UC3, cv::Scalar(128, 128, 128));
    for (int row = 0; row < rows; ++row)
      for (int col = 0; col < cols; ++col)
        copy.copyTo(canvas(cv::Rect(col * (copy.cols + 20), row * copy.rows, copy.cols, copy.rows)));
    const auto found = pipeline_->detector().detect(canvas, {});
    // Every face at ~120 px; at ~65 px the network's score may dip below the
    // threshold for a few of the copies, depending on where they fall on its grid.
    const size_t faces = size_t(4 * rows * cols);
    if (shrink > 0.5) {
      EXPECT_EQ(found.size(), faces);
    }
    EXPECT_GE(found.size(), faces * 95 / 100);
    EXPECT_LE(found.size(), faces);
    for (const auto& f : found) {
      EXPECT_GT(f.box.width(), 216 * shrink * 0.6);
      EXPECT_LT(f.box.width(), 216 * shrink * 1.4);
    }
  }
}

// The scales, for every photo size: the finest keeps a face of --min-face
// pixels at least at the network's smallest anchor (16 px) and its input at
// most 2048 px unless that would shrink such a face below it; the last fits
// the whole photo in 640 px (a rounding once kept them going forever).
TEST(CnnScalesTest, CoverTheSmallestFaceAndEndAtTheCoarsestSideForEverySize) {
  for (const int min_face : {models::kDefaultMinFace, 40}) {
    models::DetectOptions options;
    options.min_face = min_face;
    for (int side = 1; side < 20000; side += 7) {
      const auto scales = models::FaceDetector::cnn_scales(side, side / 2 + 1, options);
      ASSERT_FALSE(scales.empty());
      ASSERT_LT(scales.size(), 8u) << side;
      EXPECT_GE(scales.front() * min_face, 16.0 - 1e-9) << side;
      EXPECT_LE(scales.front() * side, std::max(2048.0, 16.0 / min_face * side) + 1e-6) << side;
      EXPECT_LE(scales.front(), 2.5);
      EXPECT_LE(scales.back() * side, std::max(640.0, scales.front() * side) + 1e-6) << side;
      for (size_t i = 1; i < scales.size(); ++i) EXPECT_LT(scales[i], scales[i - 1]);
    }
  }
  // A small photo is enlarged so that a face of 20 px is 50 px to the network.
  EXPECT_DOUBLE_EQ(models::FaceDetector::cnn_scales(416, 300, {}).front(), 2.5);
}

}  // namespace
}  // namespace facedex

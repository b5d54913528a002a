// The AVX2 build of the detection kernel must find what the generic build
// finds: same boxes, same landmarks, same chips, scores equal to rounding.
#include "models/kernels/face_detection_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/sanitized_build.h"
#include "tests/support/test_photos.h"
#include "util/kernel_choice.h"

namespace facedex {
namespace {

void expect_same_box(const models::FaceBox& a, const models::FaceBox& b) {
  EXPECT_EQ(a.left, b.left);
  EXPECT_EQ(a.top, b.top);
  EXPECT_EQ(a.right, b.right);
  EXPECT_EQ(a.bottom, b.bottom);
}

TEST(FaceDetectionKernelTest, Avx2BuildFindsWhatTheGenericBuildFinds) {
  if (!use_avx2_kernels()) GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: only the generic kernel runs";
  const models::DetectionKernelOps* avx2 = models::avx2_detection_kernel();
  ASSERT_NE(avx2, nullptr) << "the CPU has AVX2 but " << models::kDetectorModuleFile << " did not load";
  EXPECT_STREQ(avx2->name, "avx2");

  auto set = models::locate_models("");
  ASSERT_TRUE(set) << set.status().message();
  auto loaded = models::FaceModels::load(*set);
  ASSERT_TRUE(loaded) << loaded.status().message();
  models::FaceDetector generic((*loaded)->landmarks(), &models::generic_detection_kernel());
  models::FaceDetector fast((*loaded)->landmarks(), avx2);
  EXPECT_STREQ(generic.kernel_name(), "generic");
  EXPECT_STREQ(fast.kernel_name(), "avx2");

  size_t compared = 0;
  for (int n : testing::fewer_when_sanitized({1, 2, 3, 4, 5, 6}, 2)) {
    auto photo = models::load_photo(testing::demo_photo(n), {});
    ASSERT_TRUE(photo) << photo.status().message();
    // Full size (no upsampling) and a 500 px copy (upsampled once): both paths of detect().
    cv::Mat small;
    cv::resize(photo->rgb, small, cv::Size(), 500.0 / photo->rgb.cols, 500.0 / photo->rgb.cols, cv::INTER_AREA);
    for (const cv::Mat* image : {&photo->rgb, &small}) {
      SCOPED_TRACE("sample" + std::to_string(n) + " at " + std::to_string(image->cols) + " px");
      const auto a = generic.detect(*image, {});
      const auto b = fast.detect(*image, {});
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        expect_same_box(a[i].box, b[i].box);
        EXPECT_NEAR(a[i].score, b[i].score, 1e-5);
        ASSERT_EQ(a[i].landmarks.size(), b[i].landmarks.size());
        for (size_t p = 0; p < a[i].landmarks.size(); ++p) {
          EXPECT_NEAR(a[i].landmarks[p][0], b[i].landmarks[p][0], 1e-3);
          EXPECT_NEAR(a[i].landmarks[p][1], b[i].landmarks[p][1], 1e-3);
        }
        int worst = 0;
        for (long r = 0; r < a[i].chip.nr(); ++r)
          for (long c = 0; c < a[i].chip.nc(); ++c)
            worst = std::max({worst, std::abs(int(a[i].chip(r, c).red) - int(b[i].chip(r, c).red)),
                              std::abs(int(a[i].chip(r, c).green) - int(b[i].chip(r, c).green)),
                              std::abs(int(a[i].chip(r, c).blue) - int(b[i].chip(r, c).blue))});
        EXPECT_LE(worst, 1) << "chip pixels differ";
        ++compared;
      }
    }
  }
  // 20 detections at full size in the six photos and more at 500 px; 5 at full size in samples 1 and 2.
  EXPECT_GE(compared, testing::kSanitizedBuild ? 5u : 30u);
}

// models/kernels/fhog_avx2.h and planar_resize_avx2.h against dlib's
// extract_fhog_features, pyramid_up and pyramid_down<6>: same plane sizes,
// zero borders where dlib's are zero, every value within float rounding, on
// photos of several sizes (odd sizes exercise dlib's scalar columns at the
// right edge, which break colour ties the other way). A resized pixel off by
// one grey level moves features by ~1e-3.
TEST(FaceDetectionKernelTest, Avx2FhogPlanesEqualDlibs) {
  const models::DetectionKernelOps* fused = models::avx2_detection_kernel();
  const models::DetectionKernelOps* dlib_scan = models::avx2_dlib_scan_detection_kernel();
  // (On a CPU with AVX2 a module that fails to load fails Avx2BuildFindsWhatTheGenericBuildFinds.)
  if (!fused || !dlib_scan)
    GTEST_SKIP() << "no AVX2 detection module here (or FACEDEX_KERNELS=generic): only the generic kernel runs";
  size_t values = 0;
  float worst = 0;
  for (int n : {2, 5}) {
    auto photo = models::load_photo(testing::demo_photo(n), {});
    ASSERT_TRUE(photo) << photo.status().message();
    for (const cv::Size size :
         {cv::Size(0, 0), cv::Size(501, 333), cv::Size(250, 250), cv::Size(67, 93), cv::Size(21, 19)}) {
      cv::Mat image = photo->rgb;
      if (size.width) cv::resize(photo->rgb, image, size, 0, 0, cv::INTER_AREA);
      SCOPED_TRACE("sample" + std::to_string(n) + " at " + std::to_string(image.cols) + "x" +
                   std::to_string(image.rows));
      std::vector<std::vector<float>> a, b;
      long a_rows, a_cols, b_rows, b_cols;
      // The image as it is, upsampled once, and three pyramid_down<6> steps
      // down: every resize the detector's pyramid makes.
      const int upsample = image.cols < 300 ? 1 : 0, level = size.width == 501 ? 3 : 0;
      dlib_scan->fhog(image, upsample, level, &a, &a_rows, &a_cols);
      fused->fhog(image, upsample, level, &b, &b_rows, &b_cols);
      ASSERT_EQ(a_rows, b_rows);
      ASSERT_EQ(a_cols, b_cols);
      ASSERT_EQ(a.size(), b.size());
      for (size_t p = 0; p < a.size(); ++p) {
        ASSERT_EQ(a[p].size(), b[p].size());
        for (size_t i = 0; i < a[p].size(); ++i) {
          worst = std::max(worst, std::abs(a[p][i] - b[p][i]));
          if (a[p][i] == 0.0f && b[p][i] != 0.0f && (i % a_cols < 4 || i / a_cols < 4))
            ADD_FAILURE() << "plane " << p << " border value " << i << " is " << b[p][i];
        }
        values += a[p].size();
      }
    }
  }
  std::printf("compared %zu fHOG values, worst difference %.2e\n", values, worst);
  EXPECT_LT(worst, 1e-5f);
  EXPECT_GT(values, 1000000u);
}

// The fused window scores (models/kernels/hog_scan_avx2.h) against dlib's own scanner
// in the same build, with the threshold lowered so that hundreds of windows,
// most of them weak, are compared: same boxes in the same order, scores equal
// to float rounding, the same landmarks. A wrong tap, row or level offset moves boxes or changes
// scores by far more than 1e-4.
TEST(FaceDetectionKernelTest, FusedHogScanScoresWindowsLikeDlibsScanner) {
  const models::DetectionKernelOps* fused = models::avx2_detection_kernel();
  const models::DetectionKernelOps* dlib_scan = models::avx2_dlib_scan_detection_kernel();
  // (On a CPU with AVX2 a module that fails to load fails Avx2BuildFindsWhatTheGenericBuildFinds.)
  if (!fused || !dlib_scan)
    GTEST_SKIP() << "no AVX2 detection module here (or FACEDEX_KERNELS=generic): only the generic kernel runs";
  EXPECT_STREQ(dlib_scan->name, "avx2-dlib-scan");

  auto set = models::locate_models("");
  ASSERT_TRUE(set) << set.status().message();
  auto loaded = models::FaceModels::load(*set);
  ASSERT_TRUE(loaded) << loaded.status().message();
  models::FaceDetector a((*loaded)->landmarks(), dlib_scan);
  models::FaceDetector b((*loaded)->landmarks(), fused);

  size_t compared = 0;
  double worst = 0;
  for (int n : testing::fewer_when_sanitized({1, 3, 6}, 1)) {
    auto photo = models::load_photo(testing::demo_photo(n), {});
    ASSERT_TRUE(photo) << photo.status().message();
    cv::Mat flipped, small;
    cv::flip(photo->rgb, flipped, 1);
    cv::resize(photo->rgb, small, cv::Size(), 0.3, 0.3, cv::INTER_AREA);
    for (const cv::Mat* image : {&photo->rgb, &flipped, &small}) {
      SCOPED_TRACE("sample" + std::to_string(n) + " " + std::to_string(image->cols) + " px");
      models::DetectOptions options;
      options.adjust_threshold = -1.5;  // many weak windows, not only faces
      const auto x = a.detect(*image, options);
      const auto y = b.detect(*image, options);
      ASSERT_EQ(x.size(), y.size());
      for (size_t i = 0; i < x.size(); ++i) {
        expect_same_box(x[i].box, y[i].box);
        worst = std::max(worst, std::abs(x[i].score - y[i].score));
        // Landmarks by shape_predictor_prefetch: dlib's additions in dlib's order.
        ASSERT_EQ(x[i].landmarks.size(), y[i].landmarks.size());
        for (size_t p = 0; p < x[i].landmarks.size(); ++p) {
          EXPECT_EQ(x[i].landmarks[p][0], y[i].landmarks[p][0]);
          EXPECT_EQ(x[i].landmarks[p][1], y[i].landmarks[p][1]);
        }
        ++compared;
      }
    }
  }
  std::printf("compared %zu windows, worst score difference %.2e\n", compared, worst);
  EXPECT_LT(worst, 1e-4);
  // Sanitized: sample 1 alone, as it is, flipped and at 0.3x.
  EXPECT_GE(compared, testing::kSanitizedBuild ? 50u : 100u);
}

}  // namespace
}  // namespace facedex

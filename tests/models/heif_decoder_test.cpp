// HEIC and AVIF photos made from the demo photos inside the test (heif-enc from
// libheif-examples, which setup installs) decode to the same pixels' faces as
// the JPEG they came from, upright whether the turn is in EXIF or in the
// HEIF transform properties (irot/imir), and damaged
// ones are refused with a reason.
#include <gtest/gtest.h>
#include <libheif/heif.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

using testing::shell_quote;

class HeifDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pipeline_ = testing::make_pipeline(); }

  // heif-enc of a JPEG; fails the test when the tool is missing (scripts/setup.sh installs it).
  std::string encode(const std::string& jpeg_bytes, const std::string& name) {
    const std::string jpeg = tmp_.file(name + ".jpg"), out = tmp_.file(name);
    testing::write_file(jpeg, jpeg_bytes);
    std::string o, e;
    const int code = testing::run_command("heif-enc -q 90 " + shell_quote(jpeg) + " -o " + shell_quote(out), &o, &e);
    EXPECT_EQ(code, 0) << "heif-enc failed (scripts/setup.sh installs libheif-examples): " << e;
    return out;
  }

  // A HEIC of `stored` written by libheif's encoder with irot/imir properties
  // for `orientation` (what iPhones write), and no EXIF block.
  std::string encode_with_transform(const cv::Mat& stored, int orientation, const std::string& name) {
    const std::string out = tmp_.file(name);
    heif_context* ctx = heif_context_alloc();
    heif_image* image = nullptr;
    EXPECT_EQ(
        heif_image_create(stored.cols, stored.rows, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &image).code,
        heif_error_Ok);
    EXPECT_EQ(heif_image_add_plane(image, heif_channel_interleaved, stored.cols, stored.rows, 8).code, heif_error_Ok);
    int stride = 0;
    uint8_t* plane = heif_image_get_plane(image, heif_channel_interleaved, &stride);
    for (int y = 0; y < stored.rows; ++y)
      std::memcpy(plane + size_t(y) * stride, stored.ptr(y), size_t(stored.cols) * 3);
    heif_encoder* encoder = nullptr;
    EXPECT_EQ(heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &encoder).code, heif_error_Ok);
    heif_encoder_set_lossy_quality(encoder, 90);
    heif_encoding_options* options = heif_encoding_options_alloc();
    options->image_orientation = heif_orientation(orientation);
    EXPECT_EQ(heif_context_encode_image(ctx, image, encoder, options, nullptr).code, heif_error_Ok);
    EXPECT_EQ(heif_context_write_to_file(ctx, out.c_str()).code, heif_error_Ok);
    heif_encoding_options_free(options);
    heif_encoder_release(encoder);
    heif_image_release(image);
    heif_context_free(ctx);
    return out;
  }

  std::vector<models::FaceBox> boxes(const models::DecodedPhoto& photo) {
    std::vector<models::FaceBox> out;
    for (const auto& f : pipeline_->analyze(photo.rgb, {}).value()) out.push_back(f.face.box);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.left < b.left; });
    return out;
  }

  void expect_same_faces(const models::DecodedPhoto& a, const models::DecodedPhoto& b, const std::string& what) {
    ASSERT_EQ(a.rgb.size(), b.rgb.size()) << what;
    const auto ba = boxes(a), bb = boxes(b);
    ASSERT_EQ(ba.size(), bb.size()) << what;
    ASSERT_FALSE(ba.empty());
    // Lossy codecs and a turned pyramid can move HOG's box a pyramid step; a photo
    // turned twice, or not at all, puts every face elsewhere.
    for (size_t i = 0; i < ba.size(); ++i) {
      const int ix = std::min(ba[i].right, bb[i].right) - std::max(ba[i].left, bb[i].left);
      const int iy = std::min(ba[i].bottom, bb[i].bottom) - std::max(ba[i].top, bb[i].top);
      const double inter = ix > 0 && iy > 0 ? double(ix) * iy : 0;
      const double uni = double(ba[i].width()) * ba[i].height() + double(bb[i].width()) * bb[i].height() - inter;
      EXPECT_GT(inter / uni, 0.5) << what << ": face " << i;  // a detection match, as WIDER counts one
    }
  }

  static std::unique_ptr<models::FacePipeline> pipeline_;
  testing::TempDir tmp_;
};
std::unique_ptr<models::FacePipeline> HeifDecoderTest::pipeline_;

TEST_F(HeifDecoderTest, HeicAndAvifGiveTheSameFacesAsTheJpeg) {
  ASSERT_TRUE(pipeline_);
  const std::string jpeg = testing::read_file(testing::demo_photo(3));
  auto reference = models::decode_photo("sample3.jpg", jpeg, {});
  ASSERT_TRUE(reference);
  for (const std::string name : {"sample3.heic", "sample3.avif"}) {
    const std::string path = encode(jpeg, name);
    auto photo = models::load_photo(path, {});
    ASSERT_TRUE(photo) << photo.status().message();
    EXPECT_EQ(photo->format, name.substr(name.size() - 4));
    expect_same_faces(*reference, *photo, name);
  }
}

TEST_F(HeifDecoderTest, AHeicTurnedByItsExifOrientationIsUprightOnce) {
  ASSERT_TRUE(pipeline_);
  auto upright = models::load_photo(testing::demo_photo(5), {});
  ASSERT_TRUE(upright);
  cv::resize(upright->rgb, upright->rgb, cv::Size(), 0.5, 0.5, cv::INTER_AREA);  // as below
  for (int degrees : {90, 180, 270}) {
    // Pixels stored turned, with the tag that turns them back (as a JPEG converted by heif-enc keeps it).
    const std::string path =
        encode(testing::rotated_jpeg_with_exif(upright->rgb, degrees), "turned" + std::to_string(degrees) + ".heic");
    auto photo = models::load_photo(path, {});
    ASSERT_TRUE(photo) << photo.status().message();
    EXPECT_NE(photo->orientation, 1) << degrees;
    expect_same_faces(*upright, *photo, std::to_string(degrees) + " degrees");
  }
}

TEST_F(HeifDecoderTest, AHeicTurnedByItsTransformPropertiesIsUprightOnce) {
  ASSERT_TRUE(pipeline_);
  auto upright = models::load_photo(testing::demo_photo(5), {});
  ASSERT_TRUE(upright);
  // At half size: four HEVC encodes of the full photo take minutes with the portable kernels.
  cv::resize(upright->rgb, upright->rgb, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  // The stored pixels each orientation turns upright (apply_exif_orientation(stored, o) == upright).
  const std::pair<int, int> cases[] = {
      {6, cv::ROTATE_90_COUNTERCLOCKWISE}, {3, cv::ROTATE_180}, {8, cv::ROTATE_90_CLOCKWISE}};
  for (const auto& [orientation, turn] : cases) {
    cv::Mat stored;
    cv::rotate(upright->rgb, stored, turn);
    ASSERT_EQ(cv::norm(models::apply_exif_orientation(stored, orientation), upright->rgb, cv::NORM_INF), 0);
    const std::string path = encode_with_transform(stored, orientation, "irot" + std::to_string(orientation) + ".heic");
    auto photo = models::load_photo(path, {});
    ASSERT_TRUE(photo) << photo.status().message();
    EXPECT_EQ(photo->orientation, 1) << "libheif turned it; nothing is left to apply";
    expect_same_faces(*upright, *photo, "irot for orientation " + std::to_string(orientation));
  }
  // Mirrored too (imir): orientation 2 is its own inverse.
  cv::Mat mirrored;
  cv::flip(upright->rgb, mirrored, 1);
  auto photo = models::load_photo(encode_with_transform(mirrored, 2, "imir.heic"), {});
  ASSERT_TRUE(photo) << photo.status().message();
  expect_same_faces(*upright, *photo, "imir");
}

TEST_F(HeifDecoderTest, DamagedAndOversizedHeifFilesAreRefusedWithAReason) {
  const std::string path = encode(testing::read_file(testing::demo_photo(2)), "good.heic");
  const std::string bytes = testing::read_file(path);
  auto refused = [&](const std::string& name, const std::string& content, Status::Code code, const std::string& why,
                     models::DecodeOptions options = {}) {
    auto photo = models::decode_photo(name, content, options);
    ASSERT_FALSE(photo) << name << " was accepted";
    EXPECT_EQ(int(photo.status().code()), int(code)) << photo.status().message();
    EXPECT_NE(photo.status().message().find(name), std::string::npos) << photo.status().message();
    EXPECT_NE(photo.status().message().find(why), std::string::npos) << photo.status().message();
  };
  refused("cut.heic", bytes.substr(0, bytes.size() / 2), Status::Code::kInvalidInput, "HEIF");
  refused("boxes-only.heic", bytes.substr(0, 40), Status::Code::kInvalidInput, "HEIF");
  std::string garbage = bytes.substr(0, 32) + std::string(4096, '\x7f');
  refused("garbage.heic", garbage, Status::Code::kInvalidInput, "HEIF");
  models::DecodeOptions small;
  small.max_pixels = 1000;
  refused("big.heic", bytes, Status::Code::kUnsupported, "over the limit", small);
}

}  // namespace
}  // namespace facedex

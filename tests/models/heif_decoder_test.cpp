// HEIC and AVIF photos made from the demo photos inside the test (heif-enc from
// libheif-examples, which setup installs) decode to the same pixels' faces as
// the JPEG they came from, upright whether the turn is in EXIF, and damaged
// ones are refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

  std::vector<models::FaceBox> boxes(const models::DecodedPhoto& photo) {
    std::vector<models::FaceBox> out;
    for (const auto& f : pipeline_->analyze(photo.rgb, {})) out.push_back(f.face.box);
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

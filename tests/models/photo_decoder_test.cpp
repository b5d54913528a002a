// Bad files get a clear reason naming the file; good ones decode upright.
#include "models/photo_decoder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "models/decode_budget.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

using models::DecodeOptions;
using models::load_photo;

void expect_refused(const std::string& path, Status::Code code, const std::string& reason) {
  auto photo = load_photo(path, DecodeOptions{});
  ASSERT_FALSE(photo) << path << " was accepted";
  EXPECT_EQ(int(photo.status().code()), int(code)) << photo.status().message();
  EXPECT_NE(photo.status().message().find(path), std::string::npos)
      << "message must name the file: " << photo.status().message();
  EXPECT_NE(photo.status().message().find(reason), std::string::npos) << photo.status().message();
}

// Each (name, bytes) decodes to exactly the pixels OpenCV's imdecode gives.
void expect_opencvs_pixels(const std::vector<std::pair<std::string, std::string>>& files) {
  for (const auto& [name, bytes] : files) {
    auto ours = models::decode_photo(name, bytes, DecodeOptions{});
    ASSERT_TRUE(ours) << name << ": " << ours.status().message();
    cv::Mat bgr = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                               cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    ASSERT_EQ(ours->rgb.size(), rgb.size()) << name;
    EXPECT_EQ(cv::norm(ours->rgb, rgb, cv::NORM_INF), 0) << name;
  }
}

TEST(PhotoDecoderTest, EmptyFileIsRefusedNamingTheFile) {
  testing::TempDir dir;
  testing::write_file(dir.file("empty.jpg"), "");
  expect_refused(dir.file("empty.jpg"), Status::Code::kInvalidInput, "empty file");
}

TEST(PhotoDecoderTest, TruncatedJpegIsRefusedRatherThanDecodedHalfGrey) {
  testing::TempDir dir;
  const std::string bytes = testing::read_file(testing::demo_photo(3));
  testing::write_file(dir.file("cut.jpg"), bytes.substr(0, bytes.size() / 2));
  expect_refused(dir.file("cut.jpg"), Status::Code::kInvalidInput, "truncated JPEG");
}

TEST(PhotoDecoderTest, TinyJpegDeclaringAHugeImageIsRefusedBeforeDecoding) {
  testing::TempDir dir;
  std::string bytes = testing::encode_jpeg(cv::Mat(64, 64, CV_8UC3, cv::Scalar(90, 120, 150)), 90);
  // The frame header (SOF0: FF C0, length, precision, height, width) now claims 14000x14000.
  const size_t sof = bytes.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  for (size_t at : {sof + 5, sof + 7}) bytes[at] = char(14000 >> 8), bytes[at + 1] = char(14000 & 0xFF);
  testing::write_file(dir.file("forged.jpg"), bytes);
  expect_refused(dir.file("forged.jpg"), Status::Code::kInvalidInput, "truncated JPEG");
  // A real large photo of one flat colour, the most compressible JPEG there is, still decodes.
  testing::write_file(dir.file("flat.jpg"),
                      testing::encode_jpeg(cv::Mat(3000, 4000, CV_8UC3, cv::Scalar(0, 0, 0)), 95));
  auto flat = load_photo(dir.file("flat.jpg"), DecodeOptions{});
  ASSERT_TRUE(flat) << flat.status().message();
  EXPECT_EQ(flat->rgb.cols, 4000);
}

TEST(PhotoDecoderTest, PhotosWaitForTheMemoryBudgetAndOneThatCannotFitIsRefused) {
  auto& budget = models::DecodeBudget::process();
  const int64_t saved = budget.bytes();
  const std::string path = testing::demo_photo(3);
  auto probe = load_photo(path, DecodeOptions{});
  ASSERT_TRUE(probe);
  const int64_t cost = models::decode_cost_bytes(int64_t(probe->rgb.cols) * probe->rgb.rows);
  probe = Status::ok();  // gives its share back

  budget.set_bytes(cost - 1);
  expect_refused(path, Status::Code::kUnsupported, "memory budget");

  // Room for one photo at a time: a second decode waits until the first is dropped.
  budget.set_bytes(cost + cost / 2);
  auto first = load_photo(path, DecodeOptions{});
  ASSERT_TRUE(first);
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    auto p = load_photo(path, DecodeOptions{});
    EXPECT_TRUE(p) << p.status().message();
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(second_done) << "decoded beside the first although the budget holds one";
  first = Status::ok();
  second.join();
  EXPECT_TRUE(second_done);
  budget.set_bytes(saved);
}

TEST(PhotoDecoderTest, JpegPixelsAreExactlyOpenCvsAndGreyFilledOnesAreRefused) {
  testing::TempDir dir;
  // The same pixels as OpenCV's decoder (the library and settings it uses): demo
  // photos, a recompressed and a grey one, and CMYK (decoded by OpenCV).
  std::vector<std::pair<std::string, std::string>> files;
  for (int n = 1; n <= 6; ++n)
    files.emplace_back("sample" + std::to_string(n), testing::read_file(testing::demo_photo(n)));
  auto photo = load_photo(testing::demo_photo(2), DecodeOptions{});
  ASSERT_TRUE(photo);
  cv::Mat grey;
  cv::cvtColor(photo->rgb, grey, cv::COLOR_RGB2GRAY);
  std::vector<uchar> encoded;
  cv::imencode(".jpg", grey, encoded, {cv::IMWRITE_JPEG_QUALITY, 60});
  files.emplace_back("grey", std::string(encoded.begin(), encoded.end()));
  const std::string cmyk = dir.file("cmyk.jpg");
  ASSERT_EQ(testing::run_command("convert " + testing::shell_quote(testing::demo_photo(1)) + " -colorspace CMYK " +
                                 testing::shell_quote(cmyk)),
            0);
  files.emplace_back("cmyk", testing::read_file(cmyk));
  expect_opencvs_pixels(files);
  // Cut in the middle but ending in an end-of-image marker: libjpeg fills the
  // rest with grey and warns; the photo is refused, naming the file.
  const std::string bytes = testing::read_file(testing::demo_photo(3));
  testing::write_file(dir.file("cut with eoi.jpg"), bytes.substr(0, bytes.size() / 2) + "\xFF\xD9");
  expect_refused(dir.file("cut with eoi.jpg"), Status::Code::kInvalidInput, "truncated JPEG");
}

TEST(PhotoDecoderTest, AMultiPageTiffSaysOnlyItsFirstPageIsRead) {
  testing::TempDir dir;
  auto photo = load_photo(testing::demo_photo(1), DecodeOptions{});
  ASSERT_TRUE(photo);
  cv::Mat bgr;
  cv::cvtColor(photo->rgb, bgr, cv::COLOR_RGB2BGR);
  ASSERT_TRUE(cv::imwritemulti(dir.file("pages.tiff"), std::vector<cv::Mat>{bgr, bgr, bgr}));
  ASSERT_TRUE(cv::imwrite(dir.file("one.tiff"), bgr));
  auto pages = load_photo(dir.file("pages.tiff"), DecodeOptions{});
  ASSERT_TRUE(pages) << pages.status().message();
  EXPECT_NE(pages->note.find("first page of 3"), std::string::npos) << pages->note;
  auto one = load_photo(dir.file("one.tiff"), DecodeOptions{});
  ASSERT_TRUE(one) << one.status().message();
  EXPECT_EQ(one->note, "");
}

TEST(PhotoDecoderTest, CorruptJpegDataIsRefused) {
  testing::TempDir dir;
  std::string bytes = testing::read_file(testing::demo_photo(3));
  // Keep the headers, scramble the frame header's dimensions to zero.
  const size_t sof = bytes.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 5] = bytes[sof + 6] = bytes[sof + 7] = bytes[sof + 8] = 0;
  testing::write_file(dir.file("corrupt.jpg"), bytes);
  expect_refused(dir.file("corrupt.jpg"), Status::Code::kInvalidInput, "corrupt");
}

TEST(PhotoDecoderTest, TextFileNamedJpgIsRefusedAsText) {
  testing::TempDir dir;
  testing::write_file(dir.file("notes.jpg"), "shopping list: milk, eggs\n");
  expect_refused(dir.file("notes.jpg"), Status::Code::kInvalidInput, "not an image: the file holds text");
}

TEST(PhotoDecoderTest, RandomBytesAreRefusedAsUnknownFormat) {
  testing::TempDir dir;
  std::string noise(4096, '\0');
  uint32_t x = 12345;
  for (char& c : noise) c = char((x = x * 1664525u + 1013904223u) >> 24);
  noise[0] = char(0x80);
  testing::write_file(dir.file("noise.jpg"), noise);
  expect_refused(dir.file("noise.jpg"), Status::Code::kInvalidInput, "unknown format");
}

TEST(PhotoDecoderTest, HugeDeclaredPngIsRefusedFromItsHeaderBeforeDecoding) {
  testing::TempDir dir;
  // A valid 1x1 PNG whose IHDR is patched to claim 50000x50000 pixels.
  std::vector<uchar> png;
  cv::imencode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 0)), png);
  std::string bytes(png.begin(), png.end());
  const char big[4] = {0x00, 0x00, char(0xC3), 0x50};  // 50000 big-endian
  bytes.replace(16, 4, big, 4);
  bytes.replace(20, 4, big, 4);
  testing::write_file(dir.file("bomb.png"), bytes);
  expect_refused(dir.file("bomb.png"), Status::Code::kUnsupported, "50000x50000");
}

TEST(PhotoDecoderTest, MissingAndUnreadableFilesSayWhy) {
  testing::TempDir dir;
  expect_refused(dir.file("nope.jpg"), Status::Code::kNotFound, "does not exist");
  testing::write_file(dir.file("locked.jpg"), testing::read_file(testing::demo_photo(1)));
  chmod(dir.file("locked.jpg").c_str(), 0);
  if (geteuid() == 0) {
    // root reads anything: the permission case cannot be produced here.
    auto photo = load_photo(dir.file("locked.jpg"), {});
    EXPECT_TRUE(photo);
  } else {
    expect_refused(dir.file("locked.jpg"), Status::Code::kIoError, "Permission denied");
  }
}

TEST(PhotoDecoderTest, ExifOrientationIsAppliedAndRecorded) {
  auto upright = load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(upright);
  for (int degrees : {90, 180, 270}) {
    auto rotated = models::decode_photo("r.jpg", testing::rotated_jpeg_with_exif(upright->rgb, degrees), {});
    ASSERT_TRUE(rotated) << rotated.status().message();
    EXPECT_EQ(rotated->rgb.size(), upright->rgb.size()) << degrees;
    EXPECT_EQ(rotated->orientation, degrees == 90 ? 8 : degrees == 180 ? 3 : 6);
    // Same pixels up to JPEG loss.
    cv::Mat diff;
    cv::absdiff(rotated->rgb, upright->rgb, diff);
    EXPECT_LT(cv::mean(diff)[0], 6.0) << degrees;
  }
}

TEST(PhotoDecoderTest, PngPixelsAreExactlyOpenCvsAndBrokenOnesAreRefusedWithLibpngsReason) {
  // The demo folder's PNGs (one with a 256-colour palette) and the kinds a
  // camera or editor writes: 8-bit, 16-bit, grey, with alpha.
  std::vector<std::pair<std::string, std::string>> files;
  for (const char* name : {"facemesh.png", "screenshot-images.png", "screenshot-webcam.png"})
    files.emplace_back(name, testing::read_file(testing::demo_dir() + "/" + name));
  auto photo = load_photo(testing::demo_photo(2), DecodeOptions{});
  ASSERT_TRUE(photo);
  cv::Mat bgr, grey, bgra, deep;
  cv::cvtColor(photo->rgb, bgr, cv::COLOR_RGB2BGR);
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  for (int r = 0; r < bgra.rows; ++r)
    for (int c = 0; c < bgra.cols; ++c) bgra.at<cv::Vec4b>(r, c)[3] = uchar((r + c) & 0xff);
  bgr.convertTo(deep, CV_16UC3, 257.0);
  for (const auto& [name, image] : std::vector<std::pair<std::string, cv::Mat>>{
           {"8-bit", bgr}, {"grey", grey}, {"alpha", bgra}, {"16-bit", deep}}) {
    std::vector<uchar> buf;
    ASSERT_TRUE(cv::imencode(".png", image, buf)) << name;
    files.emplace_back(name, std::string(buf.begin(), buf.end()));
  }
  expect_opencvs_pixels(files);
  // Cut in its image data: refused as truncated, naming the file.
  testing::TempDir dir;
  const std::string& png = files[3].second;
  testing::write_file(dir.file("cut.png"), png.substr(0, png.size() / 2));
  expect_refused(dir.file("cut.png"), Status::Code::kInvalidInput, "truncated PNG");
  // Flipped bytes in the image data: refused with libpng's reason.
  std::string flipped = png;
  for (size_t i = png.size() / 3; i < png.size() / 3 + 64; ++i) flipped[i] = char(~flipped[i]);
  testing::write_file(dir.file("flipped.png"), flipped);
  expect_refused(dir.file("flipped.png"), Status::Code::kInvalidInput, "PNG (libpng: ");
}

TEST(PhotoDecoderTest, PngAndWebpDecode) {
  auto upright = load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(upright);
  cv::Mat bgr;
  cv::cvtColor(upright->rgb, bgr, cv::COLOR_RGB2BGR);
  for (const char* ext : {".png", ".webp", ".bmp", ".tiff"}) {
    std::vector<uchar> buf;
    ASSERT_TRUE(cv::imencode(ext, bgr, buf)) << ext;
    auto photo = models::decode_photo(std::string("x") + ext, std::string(buf.begin(), buf.end()), {});
    ASSERT_TRUE(photo) << ext << ": " << photo.status().message();
    EXPECT_EQ(photo->rgb.size(), upright->rgb.size()) << ext;
  }
}

}  // namespace
}  // namespace facedex

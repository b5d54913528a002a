#include "tests/support/test_photos.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <stdexcept>

namespace facedex::testing {

std::string demo_dir() { return FACEDEX_DEMO_DIR; }
std::string demo_photo(int n) { return demo_dir() + "/sample" + std::to_string(n) + ".jpg"; }
std::string facedex_binary() { return FACEDEX_BINARY; }

int run_facedex(const std::string& db, const std::string& args, std::string* out, std::string* err) {
  return run_command(shell_quote(facedex_binary()) + " --db " + shell_quote(db) + " " + args, out, err);
}

std::string encode_jpeg(const cv::Mat& rgb, int quality) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> out;
  cv::imencode(".jpg", bgr, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  return std::string(out.begin(), out.end());
}

std::string with_exif_orientation(const std::string& jpeg, int orientation) {
  // APP1: "Exif\0\0" + little-endian TIFF header + IFD0 with one entry.
  const unsigned char tiff[] = {
      'I',
      'I',
      0x2A,
      0x00,
      0x08,
      0x00,
      0x00,
      0x00,  // header, IFD0 at offset 8
      0x01,
      0x00,  // one entry
      0x12,
      0x01,
      0x03,
      0x00,
      0x01,
      0x00,
      0x00,
      0x00,  // tag 0x0112 Orientation, SHORT, count 1
      static_cast<unsigned char>(orientation),
      0x00,
      0x00,
      0x00,  // value
      0x00,
      0x00,
      0x00,
      0x00,  // no next IFD
  };
  std::string payload = std::string("Exif\0\0", 6) + std::string(reinterpret_cast<const char*>(tiff), sizeof(tiff));
  const size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1 += char(len >> 8);
  app1 += char(len & 0xFF);
  app1 += payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

std::string rotated_jpeg_with_exif(const cv::Mat& upright_rgb, int clockwise_degrees, int quality) {
  cv::Mat stored;
  int tag = 1;
  switch (clockwise_degrees) {
    case 90:
      cv::rotate(upright_rgb, stored, cv::ROTATE_90_CLOCKWISE);
      tag = 8;
      break;
    case 180:
      cv::rotate(upright_rgb, stored, cv::ROTATE_180);
      tag = 3;
      break;
    case 270:
      cv::rotate(upright_rgb, stored, cv::ROTATE_90_COUNTERCLOCKWISE);
      tag = 6;
      break;
    default:
      throw std::invalid_argument("rotation must be 90, 180 or 270");
  }
  return with_exif_orientation(encode_jpeg(stored, quality), tag);
}

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace facedex::testing

#include <gtest/gtest.h>

namespace facedex::testing {

std::unique_ptr<models::FacePipeline> make_pipeline(models::DetectorKind detector) {
  auto set = models::locate_models("");
  if (!set) {
    ADD_FAILURE() << set.status().message();
    return nullptr;
  }
  auto loaded = models::FaceModels::load(*set, models::EmbedderBackend::kAuto, detector);
  if (!loaded) {
    ADD_FAILURE() << loaded.status().message();
    return nullptr;
  }
  auto p = models::FacePipeline::create(*loaded);
  if (!p) {
    ADD_FAILURE() << p.status().message();
    return nullptr;
  }
  return std::move(*p);
}

std::map<std::string, std::string> exiv2_xmp_values(const std::string& file) {
  std::string out, err;
  EXPECT_EQ(run_command("exiv2 -px " + shell_quote(file), &out, &err), 0) << err;
  std::map<std::string, std::string> kv;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string key, type, value;
    size_t size;
    fields >> key >> type >> size;
    std::getline(fields, value);
    kv[key] = value.empty() ? "" : value.substr(value.find_first_not_of(' '));
  }
  return kv;
}

}  // namespace facedex::testing

// Reads photo files into upright 8-bit RGB images, refusing what is not a photo
// before any large allocation.
//
// Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "util/status.h"

namespace facedex::models {

struct DecodeOptions {
  // Photos that declare more pixels than this are refused from their header,
  // before decoding: a 50000x50000 PNG would otherwise ask for 7.5 GB. 200 MP
  // is above any camera sold today (the largest phones make 200 MP).
  int64_t max_pixels = 200'000'000;
  // Files larger than this are refused before reading them whole.
  int64_t max_file_bytes = 512LL << 20;
};

// What the first bytes of a file say it is.
struct ImageHeader {
  std::string format;  // "jpeg", "png", "webp", "bmp", "tiff", "pnm"
  int width = 0;       // as stored, before EXIF orientation
  int height = 0;
};

struct DecodedPhoto {
  cv::Mat rgb;  // upright (EXIF orientation applied), CV_8UC3 in RGB order
  // Its share of DecodeBudget::process(), given back when the photo is dropped.
  std::shared_ptr<void> budget;
  std::string format;    // from ImageHeader
  int orientation = 1;   // EXIF orientation tag found in the file (1 = already upright)
  std::string taken_at;  // EXIF DateTimeOriginal "YYYY:MM:DD HH:MM:SS", empty if none
  std::string note;      // what a user should know, the photo being usable (a multi-page TIFF's other pages)
};

// Whole file into memory. kNotFound / kIoError name the file and the OS reason;
// an empty file is kInvalidInput.
Expected<std::string> read_file_bytes(const std::string& path, int64_t max_bytes);

// Identifies the format from magic bytes and reads the declared size. Fails with
// kInvalidInput for non-images (text named .jpg, random bytes) and kUnsupported
// for images we cannot decode (HEIC, GIF).
Expected<ImageHeader> sniff_image(const std::string& bytes);

// name is used only in messages. Truncated and corrupt images fail with
// kInvalidInput, oversized ones with kUnsupported. Waits for its share of
// DecodeBudget::process() first (models/decode_budget.h).
Expected<DecodedPhoto> decode_photo(const std::string& name, const std::string& bytes, const DecodeOptions& options);

// Convenience: read_file_bytes + decode_photo.
Expected<DecodedPhoto> load_photo(const std::string& path, const DecodeOptions& options);

// Applies an EXIF orientation (1..8) to an image; exposed for tests that build
// rotated copies with the tag that undoes the rotation.
cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation);

}  // namespace facedex::models

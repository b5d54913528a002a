// HEIC (iPhone) and AVIF photos, through libheif: the primary image, turned
// the way its owner sees it, once. A file with rotation or mirroring
// properties (irot/imir, as phones write) is turned by libheif, and its EXIF
// orientation, which describes the same turn, is not applied again; a file
// without them (converted from a JPEG) is turned by its EXIF orientation.
//
// Thread-safe: no shared state.
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "util/status.h"

namespace facedex::models {

// True when the file starts with an ISO-BMFF "ftyp" box of a HEIF or AVIF brand.
bool is_heif(const std::string& bytes);

struct HeifHeader {
  std::string format;  // "heic" or "avif"
  int width = 0;       // of the primary image, as libheif reports it
  int height = 0;
};

// Parses the file's boxes (no pixel is decoded). kInvalidInput for a damaged
// or truncated file, kUnsupported for a HEIF without a decodable image.
Expected<HeifHeader> read_heif_header(const std::string& bytes);

struct HeifImage {
  cv::Mat rgb;           // upright, CV_8UC3 in RGB order
  int orientation = 1;   // the EXIF orientation applied (1 when none, or when irot/imir turned it)
  std::string taken_at;  // EXIF DateTimeOriginal, empty if none
};

Expected<HeifImage> decode_heif(const std::string& bytes);

}  // namespace facedex::models

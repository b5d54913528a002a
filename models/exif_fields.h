// The two EXIF fields facedex keeps, from a JPEG file or an EXIF block
// ("Exif\0\0" + TIFF), through libexif. Internal to models/.
#pragma once

#include <cstddef>
#include <string>

namespace facedex::models {

struct ExifFields {
  int orientation = 1;   // 1..8; 1 when absent or out of range
  std::string taken_at;  // DateTimeOriginal "YYYY:MM:DD HH:MM:SS", empty if none or blank
};

ExifFields read_exif_fields(const void* data, size_t size);

}  // namespace facedex::models

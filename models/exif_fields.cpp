#include "models/exif_fields.h"

#include <libexif/exif-data.h>

namespace facedex::models {

ExifFields read_exif_fields(const void* bytes, size_t size) {
  ExifFields out;
  ExifData* data = exif_data_new_from_data(static_cast<const unsigned char*>(bytes), static_cast<unsigned int>(size));
  if (!data) return out;
  const ExifByteOrder order = exif_data_get_byte_order(data);
  if (ExifEntry* e = exif_data_get_entry(data, EXIF_TAG_ORIENTATION); e && e->format == EXIF_FORMAT_SHORT) {
    const int value = exif_get_short(e->data, order);
    if (value >= 1 && value <= 8) out.orientation = value;
  }
  if (ExifEntry* e = exif_data_get_entry(data, EXIF_TAG_DATE_TIME_ORIGINAL); e && e->format == EXIF_FORMAT_ASCII) {
    std::string s(reinterpret_cast<const char*>(e->data), e->size);
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
    if (s.size() == 19 && s.find_first_not_of("0123456789: ") == std::string::npos && s != "0000:00:00 00:00:00")
      out.taken_at = s;
  }
  exif_data_unref(data);
  return out;
}

}  // namespace facedex::models

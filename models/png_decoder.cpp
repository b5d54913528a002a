#include "models/png_decoder.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace facedex::models {
namespace {

// What libpng's callbacks see: the bytes to read and where its error goes.
struct PngSource {
  const std::string* bytes = nullptr;
  size_t offset = 0;
  char error[256] = {};
  std::jmp_buf jump;
};

void read_bytes(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (src->offset + n > src->bytes->size()) png_error(png, "truncated: the file ends inside the image data");
  std::memcpy(out, src->bytes->data() + src->offset, n);
  src->offset += n;
}

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->error, sizeof src->error, "%s", message ? message : "unknown error");
  std::longjmp(src->jump, 1);
}

void on_warning(png_structp, png_const_charp) {}

}  // namespace

Expected<cv::Mat> decode_png_rgb(const std::string& bytes) {
  PngSource src;
  src.bytes = &bytes;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
  if (!png) return Status::invalid_input("libpng could not start");
  png_infop info = png_create_info_struct(png);
  // A longjmp leaves locals changed after setjmp indeterminate: what is
  // filled after it lives behind a pointer set before it.
  struct Pixels {
    cv::Mat rgb;
    std::vector<png_bytep> rows;
  };
  const auto pixels = std::make_unique<Pixels>();
  if (!info || setjmp(src.jump)) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    const std::string why = src.error;
    // libpng says what went wrong only in words.
    const bool truncated = why.find("truncated") != std::string::npos || why.find("Read Error") != std::string::npos ||
                           why.find("Not enough image data") != std::string::npos;
    return Status::invalid_input((truncated ? "truncated PNG (libpng: " : "corrupt PNG (libpng: ") + why + ")")
        .because(truncated ? Status::Reason::kTruncated : Status::Reason::kCorrupt);
  }
  png_set_read_fn(png, &src, read_bytes);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  const int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
  // OpenCV's transforms for IMREAD_COLOR, in RGB order instead of BGR.
  if (depth == 16) png_set_strip_16(png);
  png_set_strip_alpha(png);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((type & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != size_t(width) * 3) png_error(png, "unexpected row layout after conversion to RGB");
  pixels->rgb.create(int(height), int(width), CV_8UC3);
  pixels->rows.resize(height);
  for (png_uint_32 r = 0; r < height; ++r) pixels->rows[r] = pixels->rgb.ptr<png_byte>(int(r));
  png_read_image(png, pixels->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return std::move(pixels->rgb);
}

}  // namespace facedex::models

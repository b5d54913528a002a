// PNG through libpng directly, with the transforms OpenCV's imdecode applies
// for a colour image (16-bit to 8, alpha dropped, palette and grey expanded),
// so the same pixels: libpng's messages reach us instead of stderr, unnamed.
// Its errors refuse the photo with the reason; its warnings are about
// ancillary chunks (colour profiles, text) whose pixels are intact, and are
// dropped, as the JPEG decoder drops libjpeg's warnings of intact photos.
//
// Thread-safe: no shared state.
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "util/status.h"

namespace facedex::models {

// RGB pixels. kInvalidInput, with libpng's reason, for a truncated or corrupt file.
Expected<cv::Mat> decode_png_rgb(const std::string& bytes);

}  // namespace facedex::models
